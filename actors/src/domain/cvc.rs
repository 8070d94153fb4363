//! The card security code (CVC/CVV).

use std::fmt;

use super::card_brand::CardBrand;
use super::validation::{InvalidField, ascii_digit};

const FIELD: &str = "cvc";

/// A card security code of the length its brand prints.
///
/// PCI DSS forbids storing the CVC after authorisation, even encrypted, so
/// this type has no `Serialize` and its `Debug` prints "***".
#[derive(Clone, PartialEq, Eq)]
pub struct Cvc(String);

impl Cvc {
    /// Validates a CVC for `brand`: American Express prints four digits on
    /// the front (CID), every other scheme three on the back.
    pub fn parse(input: &str, brand: CardBrand) -> Result<Self, InvalidField> {
        let input = input.trim();
        if input.chars().any(|c| ascii_digit(c).is_none()) {
            return Err(InvalidField::new(
                FIELD,
                "security code must contain only digits",
            ));
        }
        let (expected, reason) = match brand {
            CardBrand::Amex => (4, "security code must have 4 digits for American Express"),
            _ => (3, "security code must have 3 digits"),
        };
        if input.len() != expected {
            return Err(InvalidField::new(FIELD, reason));
        }
        Ok(Self(input.to_owned()))
    }

    /// The digits, for the single call that hands them to the payment
    /// processor; the name is deliberately loud so other uses stand out.
    pub fn expose_digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cvc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_digits_except_amex_four() {
        for brand in [
            CardBrand::Visa,
            CardBrand::Mastercard,
            CardBrand::Elo,
            CardBrand::Hipercard,
            CardBrand::Diners,
            CardBrand::Other,
        ] {
            assert!(Cvc::parse("123", brand).is_ok(), "{brand:?}");
            assert!(Cvc::parse("1234", brand).is_err(), "{brand:?}");
            assert!(Cvc::parse("12", brand).is_err(), "{brand:?}");
        }
        assert_eq!(
            Cvc::parse(" 1234 ", CardBrand::Amex)
                .expect("amex")
                .expose_digits(),
            "1234"
        );
        assert!(Cvc::parse("123", CardBrand::Amex).is_err());
        assert!(Cvc::parse("12345", CardBrand::Amex).is_err());
    }

    #[test]
    fn rejects_non_ascii_digits_and_letters() {
        assert!(Cvc::parse("１２３", CardBrand::Visa).is_err());
        assert!(Cvc::parse("١٢٣", CardBrand::Visa).is_err());
        assert!(Cvc::parse("12a", CardBrand::Visa).is_err());
        assert!(Cvc::parse("", CardBrand::Visa).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let cvc = Cvc::parse("987", CardBrand::Visa).expect("valid");
        assert_eq!(format!("{cvc:?}"), "***");
    }
}
