//! Payment card numbers (PAN).

use std::fmt;

use super::card_brand::CardBrand;
use super::validation::{InvalidField, all_equal, ascii_digit, digits_to_string};

const FIELD: &str = "card_number";

/// A card number that passed the Luhn check, held as digits only.
///
/// PCI DSS forbids storing or logging full card numbers, so this type has no
/// `Serialize`, and its `Debug` prints only the brand and last four digits.
/// It exists only long enough to be handed to the payment processor.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl CardNumber {
    /// Validates a number as typed from a card: 12 to 19 ASCII digits
    /// (ISO/IEC 7812), optionally grouped by single spaces or hyphens, with
    /// the Luhn (mod 10) check digit that every scheme uses, and not all one
    /// repeated digit.
    pub fn parse(input: &str) -> Result<Self, InvalidField> {
        let mut digits = Vec::with_capacity(19);
        let mut after_digit = false;
        for c in input.trim().chars() {
            let was_after_digit = std::mem::replace(&mut after_digit, false);
            match ascii_digit(c) {
                Some(d) => {
                    digits.push(d);
                    after_digit = true;
                }
                None if was_after_digit && (c == ' ' || c == '-') => {}
                None => {
                    return Err(InvalidField::new(
                        FIELD,
                        "card number must contain only digits, grouped by spaces or hyphens",
                    ));
                }
            }
        }
        if !after_digit && !digits.is_empty() {
            return Err(InvalidField::new(
                FIELD,
                "card number must contain only digits, grouped by spaces or hyphens",
            ));
        }
        if !(12..=19).contains(&digits.len()) {
            return Err(InvalidField::new(
                FIELD,
                "card number must have 12 to 19 digits",
            ));
        }
        // Repeated digits (e.g. 8888 8888 8888 8888) can pass Luhn but are
        // never issued; they are test input or someone probing the form.
        if all_equal(&digits) || !luhn_valid(&digits) {
            return Err(InvalidField::new(
                FIELD,
                "card number is not valid; please check the digits",
            ));
        }
        Ok(Self(digits_to_string(&digits)))
    }

    /// The scheme that issued the card.
    pub fn brand(&self) -> CardBrand {
        CardBrand::from_digits(&self.0)
    }

    /// The last four digits, the only part PCI DSS allows to be shown.
    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    /// The full digits, for the single call that hands them to the payment
    /// processor; the name is deliberately loud so any other use stands out
    /// in review.
    pub fn expose_digits(&self) -> &str {
        &self.0
    }
}

/// Luhn (ISO/IEC 7812-1 annex B): doubling every second digit from the
/// right catches every single-digit error and most adjacent swaps.
fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardNumber")
            .field("brand", &self.brand())
            .field("last4", &self.last4())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TEST_CARDS: [(&str, CardBrand); 4] = [
        ("4111111111111111", CardBrand::Visa),
        ("5555555555554444", CardBrand::Mastercard),
        ("4000000000000002", CardBrand::Visa),
        ("4000000000009995", CardBrand::Visa),
    ];

    /// Appends the digit that makes `base` pass Luhn.
    fn with_luhn(base: &str) -> String {
        (0..10)
            .map(|d| format!("{base}{d}"))
            .find(|s| luhn_valid(&s.bytes().map(|b| b - b'0').collect::<Vec<_>>()))
            .expect("one digit always completes Luhn")
    }

    #[test]
    fn accepts_test_cards_with_brands() {
        for (number, brand) in TEST_CARDS {
            let card = CardNumber::parse(number).expect(number);
            assert_eq!(card.brand(), brand, "{number}");
            assert_eq!(card.last4(), &number[12..]);
            assert_eq!(card.expose_digits(), number);
        }
    }

    #[test]
    fn accepts_grouping_and_strips_it() {
        for s in [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            " 4111111111111111 ",
        ] {
            let card = CardNumber::parse(s).expect(s);
            assert_eq!(card.expose_digits(), "4111111111111111");
        }
        for s in [
            "4111  1111 1111 1111",
            "-4111111111111111",
            "4111111111111111-",
            "4111_1111",
        ] {
            assert!(CardNumber::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn every_single_digit_mutation_is_rejected() {
        for (number, _) in TEST_CARDS {
            for pos in 0..number.len() {
                for d in b'0'..=b'9' {
                    let mut bytes = number.as_bytes().to_vec();
                    if bytes[pos] == d {
                        continue;
                    }
                    bytes[pos] = d;
                    let mutated = String::from_utf8(bytes).expect("ascii");
                    assert!(CardNumber::parse(&mutated).is_err(), "{mutated} accepted");
                }
            }
        }
    }

    #[test]
    fn rejects_lengths_equal_digits_and_unicode() {
        assert!(CardNumber::parse(&with_luhn("41111111111")).is_ok());
        assert!(CardNumber::parse(&with_luhn("4111111111")).is_err());
        assert!(CardNumber::parse(&with_luhn("411111111111111111111")).is_err());
        assert!(CardNumber::parse("").is_err());
        assert!(luhn_valid(&[8; 16]) && luhn_valid(&[0; 16]));
        for d in '0'..='9' {
            let s: String = std::iter::repeat_n(d, 16).collect();
            assert!(CardNumber::parse(&s).is_err(), "{s}");
        }
        assert!(CardNumber::parse("４１１１１１１１１１１１１１１１").is_err());
        assert!(CardNumber::parse("٤١١١١١١١١١١١١١١١").is_err());
    }

    #[test]
    fn brazilian_brands_survive_parsing() {
        for (base, brand) in [
            ("636368000000000", CardBrand::Elo),
            ("606282000000000", CardBrand::Hipercard),
            ("37828224631000", CardBrand::Amex),
        ] {
            let number = with_luhn(base);
            let card = CardNumber::parse(&number).expect(base);
            assert_eq!(card.brand(), brand, "{number}");
            assert!(format!("{card:?}").contains(&format!("{brand:?}")));
        }
    }

    #[test]
    fn debug_never_contains_the_number() {
        for (number, _) in TEST_CARDS {
            let card = CardNumber::parse(number).expect(number);
            let debug = format!("{card:?}");
            assert!(!debug.contains(number), "{debug}");
            assert!(!debug.contains(&number[..6]), "{debug}");
            assert!(debug.contains(card.last4()));
        }
    }

    proptest! {
        #[test]
        fn luhn_completed_numbers_are_accepted(base in "[0-9]{11,18}") {
            let number = with_luhn(&base);
            prop_assume!(!all_equal(number.as_bytes()));
            let card = CardNumber::parse(&number);
            prop_assert!(card.is_ok(), "{} rejected", number);
        }
    }
}
