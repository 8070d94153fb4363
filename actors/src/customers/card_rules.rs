//! Pure rules of the cards customers register: the details typed in a form (the sandbox
//! provider only) or the token the app got from the payment provider's SDK.

use chrono::{Datelike, NaiveDate};

use super::model::{CardInput, PaymentCard};
use super::rules::Failures;
use crate::billing::CardDetails;
use crate::domain::{CardBrand, CardExpiry, CardNumber, Cvc, InvalidField};

/// A card that passed validation: its details, or the provider's token of it.
pub(crate) enum ValidCard {
    Details(CardDetails),
    Token(String),
}

/// A card of a registration or a change, checked; failures are added to `failures`.
pub(super) fn validate_card(
    card: &PaymentCard,
    today: NaiveDate,
    failures: &mut Failures,
) -> Option<ValidCard> {
    match card {
        PaymentCard::Details(card) => {
            validate_card_details(card, today, failures).map(ValidCard::Details)
        }
        PaymentCard::Token(token) => failures
            .check("card.token", check_card_token(token))
            .map(ValidCard::Token),
    }
}

/// A provider's card token: Stripe's `pm_…` ids and Mercado Pago's hexadecimal tokens are
/// short ASCII words; anything else is refused before it reaches the provider.
pub(crate) fn check_card_token(token: &str) -> Result<String, InvalidField> {
    let token = token.trim();
    let shaped = (1..=255).contains(&token.len())
        && token
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"_-.:".contains(&byte));
    if shaped {
        Ok(token.to_owned())
    } else {
        Err(InvalidField {
            field: "card.token",
            reason: "a card token is 1 to 255 letters, digits, '_', '-', '.' or ':', as the \
                     payment provider's SDK returns it"
                .into(),
        })
    }
}

fn validate_card_details(
    card: &CardInput,
    today: NaiveDate,
    failures: &mut Failures,
) -> Option<CardDetails> {
    let number = failures.check("card.number", CardNumber::parse(&card.number));
    let expiry = validate_expiry(card.exp_month, card.exp_year, today, failures);
    // The CVC's length depends on the brand; without a valid number, 3 or 4 digits will do.
    let cvc = match &number {
        Some(number) => Cvc::parse(&card.cvc, number.brand()),
        None => Cvc::parse(&card.cvc, CardBrand::Other)
            .or_else(|three| Cvc::parse(&card.cvc, CardBrand::Amex).map_err(|_| three)),
    };
    let cvc = failures.check("card.cvc", cvc);
    let holder = failures.check("card.holder_name", check_holder_name(&card.holder_name));
    Some(CardDetails {
        number: number?,
        expiry: expiry?,
        cvc: cvc?,
        holder_name: holder?,
    })
}

/// The name printed on a card: not [`PersonName`], because the embossed name line (ISO/IEC
/// 7813 track 1) is alphanumeric, holds company names too and is abbreviated to fit. Trimmed,
/// inner spaces collapsed; 2 to 64 characters of letters, digits, spaces, `'`, `-` and `.`,
/// with at least one letter.
pub(crate) fn check_holder_name(input: &str) -> Result<String, InvalidField> {
    let invalid = |reason: &str| InvalidField {
        field: "card.holder_name",
        reason: reason.to_owned(),
    };
    let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if !name
        .chars()
        .all(|c| c.is_alphabetic() || c.is_ascii_digit() || matches!(c, ' ' | '\'' | '-' | '.'))
    {
        return Err(invalid(
            "the name on the card may only contain letters, digits, spaces, apostrophes, hyphens and dots",
        ));
    }
    if !name.chars().any(char::is_alphabetic) {
        return Err(invalid("the name on the card must contain letters"));
    }
    if !(2..=64).contains(&name.chars().count()) {
        return Err(invalid("the name on the card must have 2 to 64 characters"));
    }
    Ok(name)
}

/// Month and year are reported separately; an expired card is blamed on the year when the
/// year is past, else on the month.
fn validate_expiry(
    month: u32,
    year: i32,
    today: NaiveDate,
    failures: &mut Failures,
) -> Option<CardExpiry> {
    let field_of = |error: &InvalidField| match error.field {
        "expiry_month" => "card.exp_month",
        "expiry_year" => "card.exp_year",
        _ if year < today.year() => "card.exp_year",
        _ => "card.exp_month",
    };
    match CardExpiry::new(month, year, today) {
        Ok(expiry) => Some(expiry),
        Err(error) => {
            let field = field_of(&error);
            failures.check::<()>(field, Err(error));
            if field == "card.exp_month" {
                // The month hid any problem of the year: check the year with a valid month.
                if let Err(error) = CardExpiry::new(12, year, today)
                    && error.field == "expiry_year"
                {
                    failures.check::<()>("card.exp_year", Err(error));
                }
            }
            None
        }
    }
}
