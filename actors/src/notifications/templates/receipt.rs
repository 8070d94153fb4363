//! The receipt after a rental ended: what it cost, what was released, what is still owed; its
//! subject says whether the customer, the system or an operator ended it.

use chrono::{DateTime, Utc};

use super::format::{local_time, money, zone_note};
use super::{Body, Rendered, pick};
use crate::domain::{Cents, Locale};

/// A rental's end as its event carries it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ending<'a> {
    /// `customer`, `system` or `admin`.
    pub(crate) ended_by: &'a str,
    pub(crate) released_at: DateTime<Utc>,
    pub(crate) end_at: DateTime<Utc>,
    pub(crate) hold: Cents,
    pub(crate) total: Cents,
    pub(crate) overtime: Cents,
    pub(crate) outstanding: Cents,
    pub(crate) settlement_pending: bool,
}

/// The hold not spent: what goes back to the card.
fn released(ending: &Ending<'_>) -> Cents {
    Cents::new((ending.hold.get() - ending.total.get()).max(0))
}

/// The receipt.
pub(crate) fn receipt(locale: Locale, name: &str, ending: &Ending<'_>) -> Rendered {
    let ended = local_time(ending.released_at, locale);
    let mut body = Body::greeting(locale, name);
    body.paragraph(&match (locale, ending.ended_by) {
        (Locale::PtBr, "system") => format!(
            "O carro não foi devolvido até bem depois do fim da reserva, então encerramos a locação automaticamente em {ended}, cobrando o tempo extra e a taxa de atraso."
        ),
        (Locale::En, "system") => format!(
            "The car was not returned until well after the booking's end, so we ended the rental automatically at {ended}, charging the extra time and the late fee."
        ),
        (Locale::PtBr, "admin") => format!(
            "Nossa equipe encerrou sua locação em {ended}. Se tiver dúvidas, responda a este e-mail."
        ),
        (Locale::En, "admin") => format!(
            "Our team ended your rental at {ended}. If you have questions, reply to this e-mail."
        ),
        (Locale::PtBr, _) => format!("Obrigado por devolver o carro. Sua locação terminou em {ended}."),
        (Locale::En, _) => format!("Thank you for returning the car. Your rental ended at {ended}."),
    });
    let mut rows = vec![
        (
            pick(locale, "Fim reservado", "Booked end"),
            local_time(ending.end_at, locale),
        ),
        (
            pick(locale, "Pré-autorizado", "Held"),
            money(ending.hold, locale),
        ),
        (pick(locale, "Total", "Total"), money(ending.total, locale)),
        (
            pick(
                locale,
                "Dos quais tempo extra e taxa de atraso",
                "Of which extra time and late fee",
            ),
            money(ending.overtime, locale),
        ),
        (
            pick(locale, "Liberado no cartão", "Released to your card"),
            money(released(ending), locale),
        ),
    ];
    if ending.outstanding.is_positive() {
        rows.push((
            pick(locale, "Em aberto", "Outstanding"),
            money(ending.outstanding, locale),
        ));
    }
    body.facts(&rows);
    if ending.outstanding.is_positive() {
        body.paragraph(&match locale {
            Locale::PtBr => format!(
                "Seu cartão recusou {}. Pague pelo app em Perfil › Pagar saldo; até lá, novas reservas ficam bloqueadas.",
                money(ending.outstanding, locale)
            ),
            Locale::En => format!(
                "Your card declined {}. Pay it in the app under Profile › Pay balance; new bookings wait until then.",
                money(ending.outstanding, locale)
            ),
        });
    }
    if ending.settlement_pending {
        body.paragraph(pick(
            locale,
            "A cobrança ainda está sendo processada pela operadora do cartão; os valores acima são os que serão cobrados.",
            "The card processor is still settling the payment; the figures above are what will be charged.",
        ));
    }
    body.paragraph(zone_note(locale));
    let subject = match (locale, ending.ended_by) {
        (Locale::PtBr, "system") => "Sua locação foi encerrada automaticamente".to_owned(),
        (Locale::En, "system") => "Your rental was ended automatically".to_owned(),
        (Locale::PtBr, "admin") => "Sua locação foi encerrada pela nossa equipe".to_owned(),
        (Locale::En, "admin") => "Your rental was ended by our team".to_owned(),
        (Locale::PtBr, _) => format!("Recibo da sua locação: {}", money(ending.total, locale)),
        (Locale::En, _) => format!("Your rental receipt: {}", money(ending.total, locale)),
    };
    body.finish(subject)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn ending(ended_by: &'static str, total: i64, outstanding: i64) -> Ending<'static> {
        let end_at = crate::testing::t0() + TimeDelta::hours(3);
        Ending {
            ended_by,
            released_at: end_at + TimeDelta::minutes(20),
            end_at,
            hold: Cents::new(13_500),
            total: Cents::new(total),
            overtime: Cents::new((total - 13_500).max(0)),
            outstanding: Cents::new(outstanding),
            settlement_pending: false,
        }
    }

    #[test]
    fn a_receipt_lists_hold_total_overtime_and_what_was_released() {
        let pt = receipt(Locale::PtBr, "Ana", &ending("customer", 9_000, 0));
        assert_eq!(pt.subject, "Recibo da sua locação: R$ 90,00");
        assert!(
            pt.text.contains("terminou em 23/11/2026 10:20"),
            "{}",
            pt.text
        );
        assert!(pt.text.contains("Pré-autorizado: R$ 135,00"));
        assert!(pt.text.contains("Total: R$ 90,00"));
        assert!(pt.text.contains("Liberado no cartão: R$ 45,00"));
        assert!(!pt.text.contains("Em aberto"));

        let en = receipt(Locale::En, "Ana", &ending("customer", 9_000, 0));
        assert_eq!(en.subject, "Your rental receipt: R$90.00");
        assert!(en.text.contains("Released to your card: R$45.00"));
    }

    #[test]
    fn an_automatic_or_forced_end_has_its_own_subject_and_an_unpaid_part_says_how_to_pay() {
        let auto = receipt(Locale::En, "Ana", &ending("system", 160_050, 146_550));
        assert_eq!(auto.subject, "Your rental was ended automatically");
        assert!(
            auto.text
                .contains("Of which extra time and late fee: R$1,465.50"),
            "{}",
            auto.text
        );
        assert!(auto.text.contains("Outstanding: R$1,465.50"));
        assert!(auto.text.contains("Pay balance"));
        assert!(auto.text.contains("Released to your card: R$0.00"));

        let forced = receipt(Locale::PtBr, "Ana", &ending("admin", 13_500, 0));
        assert_eq!(
            forced.subject,
            "Sua locação foi encerrada pela nossa equipe"
        );
        let pending = Ending {
            settlement_pending: true,
            ..ending("customer", 9_000, 0)
        };
        assert!(
            receipt(Locale::PtBr, "Ana", &pending)
                .text
                .contains("ainda está sendo processada")
        );
    }
}
