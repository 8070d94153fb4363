//! Messages about the account: the e-mail confirmation code, money the card refused, a refund.

use chrono::{DateTime, Utc};

use super::format::{local_time, money, zone_note};
use super::{Body, Rendered, pick};
use crate::domain::{Cents, Locale};

/// The six digits that confirm an address, and the link that confirms it in one tap.
pub(crate) fn confirmation(
    locale: Locale,
    name: &str,
    code: &str,
    link: &str,
    expires_at: DateTime<Utc>,
    address_change: bool,
) -> Rendered {
    let expiry = local_time(expires_at, locale);
    let mut body = Body::greeting(locale, name);
    body.paragraph(match (locale, address_change) {
        (Locale::PtBr, false) => {
            "Falta pouco para você alugar: confirme seu e-mail com o código abaixo."
        }
        (Locale::PtBr, true) => {
            "Para usar este novo endereço na sua conta, confirme-o com o código abaixo."
        }
        (Locale::En, false) => {
            "One step before your first rental: confirm your e-mail address with the code below."
        }
        (Locale::En, true) => {
            "To use this new address on your account, confirm it with the code below."
        }
    })
    .facts(&[(pick(locale, "Código", "Code"), code.to_owned())])
    .link(pick(locale, "Confirmar agora", "Confirm now"), link)
    .paragraph(&match locale {
        Locale::PtBr => format!("O código vale até {expiry}. {}", zone_note(locale)),
        Locale::En => format!("The code works until {expiry}. {}", zone_note(locale)),
    })
    .paragraph(pick(
        locale,
        "Se não foi você, ignore este e-mail: nada muda sem o código.",
        "If this was not you, ignore this e-mail: nothing changes without the code.",
    ));
    let subject = match (locale, address_change) {
        (Locale::PtBr, false) => format!("Seu código de confirmação: {code}"),
        (Locale::PtBr, true) => format!("Confirme seu novo e-mail: {code}"),
        (Locale::En, false) => format!("Your confirmation code: {code}"),
        (Locale::En, true) => format!("Confirm your new e-mail address: {code}"),
    };
    body.finish(subject)
}

/// The card refused money the customer owes: how much, and how to pay it.
pub(crate) fn balance_outstanding(
    locale: Locale,
    name: &str,
    amount: Cents,
    owed: Cents,
) -> Rendered {
    let mut body = Body::greeting(locale, name);
    body.paragraph(&match locale {
        Locale::PtBr => format!(
            "Seu cartão recusou uma cobrança de {}. Seu saldo devedor agora é de {}.",
            money(amount, locale),
            money(owed, locale)
        ),
        Locale::En => format!(
            "Your card declined a charge of {}. You now owe {}.",
            money(amount, locale),
            money(owed, locale)
        ),
    })
    .facts(&[
        (pick(locale, "Recusado", "Declined"), money(amount, locale)),
        (pick(locale, "Saldo devedor", "Outstanding"), money(owed, locale)),
    ])
    .paragraph(pick(
        locale,
        "Para pagar, abra o app e toque em Perfil › Pagar saldo: cobramos o cartão cadastrado, que você pode trocar antes. Enquanto houver saldo, novas reservas ficam bloqueadas.",
        "To pay, open the app and tap Profile › Pay balance: we charge the card on file, which you may replace first. New bookings wait until the balance is paid.",
    ));
    let subject = match locale {
        Locale::PtBr => format!("Pagamento pendente: {}", money(owed, locale)),
        Locale::En => format!("Payment outstanding: {}", money(owed, locale)),
    };
    body.finish(subject)
}

/// Money given back to the card.
pub(crate) fn refund(locale: Locale, name: &str, amount: Cents) -> Rendered {
    let mut body = Body::greeting(locale, name);
    body.paragraph(&match locale {
        Locale::PtBr => format!(
            "Estornamos {} no seu cartão. O valor aparece na fatura em até duas faturas, conforme o emissor.",
            money(amount, locale)
        ),
        Locale::En => format!(
            "We refunded {} to your card. Depending on your bank it shows on one of your next two statements.",
            money(amount, locale)
        ),
    });
    let subject = match locale {
        Locale::PtBr => format!("Reembolso de {}", money(amount, locale)),
        Locale::En => format!("Refund of {}", money(amount, locale)),
    };
    body.finish(subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        crate::testing::t0()
    }

    #[test]
    fn the_confirmation_carries_the_code_the_link_and_the_expiry_in_both_languages() {
        let link = "https://app.test/confirm-email?code=042917";
        let pt = confirmation(Locale::PtBr, "Ana", "042917", link, at(), false);
        assert_eq!(pt.subject, "Seu código de confirmação: 042917");
        assert!(pt.text.contains("Código: 042917"), "{}", pt.text);
        assert!(pt.text.contains(link));
        assert!(
            pt.text.contains("O código vale até 23/11/2026 07:00"),
            "{}",
            pt.text
        );
        assert!(
            pt.html
                .contains("href=\"https://app.test/confirm-email?code=042917\"")
        );

        let en = confirmation(Locale::En, "Ana", "042917", link, at(), true);
        assert_eq!(en.subject, "Confirm your new e-mail address: 042917");
        assert!(en.text.contains("To use this new address"));
        assert!(en.text.contains("until 23 Nov 2026, 07:00"), "{}", en.text);
    }

    #[test]
    fn the_balance_says_what_was_refused_what_is_owed_and_how_to_pay() {
        let pt = balance_outstanding(Locale::PtBr, "Ana", Cents::new(4_550), Cents::new(123_456));
        assert_eq!(pt.subject, "Pagamento pendente: R$ 1.234,56");
        assert!(pt.text.contains("recusou uma cobrança de R$ 45,50"));
        assert!(pt.text.contains("Pagar saldo"));
        let en = balance_outstanding(Locale::En, "Ana", Cents::new(4_550), Cents::new(123_456));
        assert_eq!(en.subject, "Payment outstanding: R$1,234.56");
        assert!(en.text.contains("declined a charge of R$45.50"));
        assert!(en.html.contains("Pay balance"));
    }

    #[test]
    fn a_refund_names_its_amount() {
        let pt = refund(Locale::PtBr, "Ana", Cents::new(2_000));
        assert_eq!(pt.subject, "Reembolso de R$ 20,00");
        let en = refund(Locale::En, "O'Brien", Cents::new(2_000));
        assert!(en.text.contains("We refunded R$20.00"));
        assert!(en.html.contains("Hello,") && !en.html.contains("Brien"));
    }
}
