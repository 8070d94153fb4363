//! The CNH, the Brazilian driving licence a customer must hold to rent a car.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::validation::{InvalidField, all_equal, ascii_digit, digits_to_string};

const FIELD: &str = "cnh";

/// A CNH registration number (número de registro) with verified check digits.
///
/// Brazilian law (CTB art. 162) forbids handing a car to an unlicensed
/// driver, so the licence number is checked before a rental is allowed; the
/// check digits catch typos before the number is sent for DETRAN lookup.
/// `Debug` shows only the masked form because the licence is personal data.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cnh(String);

impl Cnh {
    /// Validates a CNH registration number: 11 ASCII digits, surrounding
    /// whitespace ignored, the last two being the DENATRAN check digits.
    pub fn parse(input: &str) -> Result<Self, InvalidField> {
        let digits = input
            .trim()
            .chars()
            .map(ascii_digit)
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| InvalidField::new(FIELD, "CNH must contain only digits"))?;
        if digits.len() != 11 {
            return Err(InvalidField::new(FIELD, "CNH must have 11 digits"));
        }
        if all_equal(&digits) {
            return Err(InvalidField::new(FIELD, "CNH cannot be 11 equal digits"));
        }
        if check_digits(&digits[..9]) != [digits[9], digits[10]] {
            return Err(InvalidField::new(FIELD, "CNH check digits do not match"));
        }
        Ok(Self(digits_to_string(&digits)))
    }

    /// The 11 digits, the form DETRAN lookups expect.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Only the last four digits visible ("*******9831"): enough for a
    /// customer to recognise their licence on screen, useless to anyone else.
    pub fn masked(&self) -> String {
        format!("*******{}", &self.0[7..])
    }
}

/// The two check digits of a 9-digit CNH base, per DENATRAN's algorithm.
///
/// First digit: the base weighted 9..1, sum mod 11; a remainder of 10 or
/// more becomes 0 and sets a "discount" of 2. Second digit: the base weighted
/// 1..9, sum mod 11, minus the discount (wrapping modulo 11 when negative);
/// 10 or more becomes 0. Wrapping the discount keeps the function total, so
/// every base has exactly one pair of check digits.
pub(crate) fn check_digits(base: &[u8]) -> [u8; 2] {
    let (descending, ascending) = weighted_sums(base);
    let (first, discount) = match descending % 11 {
        r if r >= 10 => (0, 2),
        r => (r, 0),
    };
    let second = (ascending % 11 + 11 - discount) % 11;
    let second = if second >= 10 { 0 } else { second };
    [first as u8, second as u8]
}

/// The base weighted 9..1 and weighted 1..9, the sums both check digits start from.
fn weighted_sums(base: &[u8]) -> (u32, u32) {
    let weighted = |weights: &mut dyn Iterator<Item = u32>| -> u32 {
        base.iter()
            .zip(weights)
            .map(|(&d, w)| u32::from(d) * w)
            .sum()
    };
    (weighted(&mut (1..=9).rev()), weighted(&mut (1..=9)))
}

impl fmt::Debug for Cnh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Cnh").field(&self.masked()).finish()
    }
}

impl FromStr for Cnh {
    type Err = InvalidField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Cnh {
    type Error = InvalidField;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Cnh> for String {
    fn from(value: Cnh) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "79143829831";

    fn digits(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    /// All check-digit pairs that `parse` accepts for a base, found by trying
    /// all 100 of them, independently of `check_digits`.
    fn brute_force(base: &str) -> Vec<String> {
        (0..100)
            .map(|n| format!("{base}{n:02}"))
            .filter(|s| Cnh::parse(s).is_ok())
            .collect()
    }

    #[test]
    fn accepts_known_valid_numbers() {
        for s in [VALID, "84718735264", " 79143829831 "] {
            let cnh = Cnh::parse(s).expect("valid CNH");
            assert_eq!(cnh.as_str(), s.trim());
        }
    }

    #[test]
    fn brute_force_finds_exactly_one_pair_per_base() {
        // Includes bases hitting the discount path (first remainder 10) and
        // the wrap-around path (discount larger than the second remainder).
        let bases = [
            "791438298",
            "847187352",
            "123456789",
            "000000001",
            "100000000",
            "987654321",
            "500000000",
            "250000001",
            "314159265",
            "271828182",
            "267962176",
        ];
        let (mut discounted, mut wrapped) = (0, 0);
        for base in bases {
            let found = brute_force(base);
            assert_eq!(found.len(), 1, "{base}: {found:?}");
            let cd = check_digits(&digits(base));
            assert_eq!(found[0], format!("{base}{}{}", cd[0], cd[1]));
            let (s1, s2) = weighted_sums(&digits(base));
            if s1 % 11 == 10 {
                discounted += 1;
                if s2 % 11 < 2 {
                    wrapped += 1;
                }
            }
        }
        assert!(discounted >= 1 && wrapped >= 1, "{discounted} {wrapped}");
        assert_eq!(brute_force("791438298"), vec![VALID.to_owned()]);
    }

    #[test]
    fn every_single_digit_mutation_is_rejected() {
        for pos in 0..VALID.len() {
            for d in b'0'..=b'9' {
                let mut bytes = VALID.as_bytes().to_vec();
                if bytes[pos] == d {
                    continue;
                }
                bytes[pos] = d;
                let mutated = String::from_utf8(bytes).expect("ascii");
                assert!(Cnh::parse(&mutated).is_err(), "{mutated} accepted");
            }
        }
    }

    #[test]
    fn rejects_malformed_input() {
        for d in '0'..='9' {
            let s: String = std::iter::repeat_n(d, 11).collect();
            assert!(Cnh::parse(&s).is_err(), "{s}");
        }
        assert!(Cnh::parse("7914382983").is_err());
        assert!(Cnh::parse("791438298310").is_err());
        assert!(Cnh::parse("791.438.298-31").is_err());
        assert!(Cnh::parse("７９１４３８２９８３１").is_err());
        assert!(Cnh::parse("٧٩١٤٣٨٢٩٨٣١").is_err());
        let err = Cnh::parse("79143829832").expect_err("bad check");
        assert_eq!(err.to_string(), "cnh: CNH check digits do not match");
    }

    #[test]
    fn masked_and_debug_show_only_last_four() {
        let cnh = Cnh::parse(VALID).expect("valid");
        assert_eq!(cnh.masked(), "*******9831");
        let debug = format!("{cnh:?}");
        assert!(debug.contains("*******9831"));
        assert!(!debug.contains(VALID));
    }

    #[test]
    fn string_conversions_revalidate() {
        let cnh = Cnh::try_from(VALID.to_owned()).expect("valid");
        assert_eq!(String::from(cnh.clone()), VALID);
        assert!(Cnh::try_from("79143829830".to_owned()).is_err());
        assert_eq!(VALID.parse::<Cnh>(), Ok(cnh));
    }
}
