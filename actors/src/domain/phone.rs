//! Brazilian mobile phone numbers, used to reach a customer during a rental.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::validation::{InvalidField, ascii_digit, digits_to_string};

const FIELD: &str = "phone";

/// Brazil's area codes (DDD) in use, from Anatel's numbering plan; codes such
/// as 20, 23, 25, 26, 29, 30, 36, 39, 40, 50, 52 or 56–60 are not assigned.
const DDDS: [u8; 67] = [
    11, 12, 13, 14, 15, 16, 17, 18, 19, // SP
    21, 22, 24, // RJ
    27, 28, // ES
    31, 32, 33, 34, 35, 37, 38, // MG
    41, 42, 43, 44, 45, 46, // PR
    47, 48, 49, // SC
    51, 53, 54, 55, // RS
    61, // DF
    62, 64, // GO
    63, // TO
    65, 66, // MT
    67, // MS
    68, // AC
    69, // RO
    71, 73, 74, 75, 77, // BA
    79, // SE
    81, 87, // PE
    82, // AL
    83, // PB
    84, // RN
    85, 88, // CE
    86, 89, // PI
    91, 93, 94, // PA
    92, 97, // AM
    95, // RR
    96, // AP
    98, 99, // MA
];

/// A Brazilian mobile number in E.164 form, "+55DD9XXXXXXXX".
///
/// Only mobiles are accepted because the service texts customers (unlock
/// codes, incident alerts) during a rental, and landlines cannot receive
/// SMS. E.164 is the form SMS and WhatsApp gateways require, and one stored
/// form lets the number be compared and deduplicated.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MobilePhone(String);

impl MobilePhone {
    /// Validates and normalises a number in any of the ways Brazilians write
    /// one: "+55 48 99999-1234", "(48) 99999-1234", "48999991234", or with the
    /// national trunk prefix "048999991234".
    pub fn parse(input: &str) -> Result<Self, InvalidField> {
        let input = input.trim();
        let (international, rest) = match input.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, input),
        };
        let mut digits = Vec::with_capacity(13);
        for c in rest.chars() {
            match ascii_digit(c) {
                Some(d) => digits.push(d),
                None if matches!(c, ' ' | '-' | '(' | ')' | '.') => {}
                None => {
                    return Err(InvalidField::new(
                        FIELD,
                        "phone number must contain only digits, spaces, '-', '(' and ')'",
                    ));
                }
            }
        }
        let national: &[u8] = match (international, digits.as_slice()) {
            (true, [5, 5, national @ ..]) => national,
            (true, _) => {
                return Err(InvalidField::new(
                    FIELD,
                    "only Brazilian numbers (+55) are accepted",
                ));
            }
            (false, [5, 5, national @ ..]) if digits.len() == 13 => national,
            (false, [0, national @ ..]) => national,
            (false, national) => national,
        };
        match national.len() {
            11 => {}
            10 => {
                return Err(InvalidField::new(
                    FIELD,
                    "this looks like a landline; please give a mobile number (9 digits starting with 9)",
                ));
            }
            _ => {
                return Err(InvalidField::new(
                    FIELD,
                    "phone number must have the area code (DDD) and 9 digits",
                ));
            }
        }
        let ddd = national[0] * 10 + national[1];
        if !DDDS.contains(&ddd) {
            return Err(InvalidField::new(
                FIELD,
                "area code (DDD) does not exist in Brazil",
            ));
        }
        if national[2] != 9 {
            return Err(InvalidField::new(
                FIELD,
                "mobile numbers have 9 digits starting with 9",
            ));
        }
        Ok(Self(format!("+55{}", digits_to_string(national))))
    }

    /// The E.164 form, "+55" followed by DDD and the 9-digit number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MobilePhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MobilePhone").field(&self.0).finish()
    }
}

impl FromStr for MobilePhone {
    type Err = InvalidField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for MobilePhone {
    type Error = InvalidField;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MobilePhone> for String {
    fn from(value: MobilePhone) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const E164: &str = "+5548999991234";

    #[test]
    fn accepts_common_forms() {
        for s in [
            "+55 48 99999-1234",
            "+5548999991234",
            "(48) 99999-1234",
            "48999991234",
            "048999991234",
            "5548999991234",
            "+55 (48) 99999-1234",
            " 48 9 9999 1234 ",
        ] {
            let phone = MobilePhone::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(phone.as_str(), E164, "{s}");
        }
    }

    #[test]
    fn ddd_list_is_the_real_one() {
        assert_eq!(DDDS.len(), 67);
        let mut sorted = DDDS;
        sorted.sort_unstable();
        assert!(sorted.windows(2).all(|w| w[0] < w[1]), "duplicate DDD");
        for ddd in [
            20, 23, 25, 26, 29, 30, 36, 39, 40, 50, 52, 56, 60, 70, 72, 76, 78, 80, 90,
        ] {
            assert!(!DDDS.contains(&ddd), "{ddd}");
            assert!(
                MobilePhone::parse(&format!("{ddd}999991234")).is_err(),
                "{ddd}"
            );
        }
        for ddd in DDDS {
            assert!(
                MobilePhone::parse(&format!("{ddd}999991234")).is_ok(),
                "{ddd}"
            );
        }
    }

    #[test]
    fn rejects_bad_numbers() {
        let err = MobilePhone::parse("(20) 99999-1234").expect_err("bad DDD");
        assert_eq!(err.reason, "area code (DDD) does not exist in Brazil");
        let err = MobilePhone::parse("(48) 3222-1234").expect_err("landline");
        assert!(err.reason.contains("landline"));
        assert!(MobilePhone::parse("+55 48 3222-1234").is_err());
        assert!(MobilePhone::parse("(48) 89999-1234").is_err());
        assert!(MobilePhone::parse("99999-1234").is_err());
        assert!(MobilePhone::parse("4899999123").is_err());
        assert!(MobilePhone::parse("489999912345").is_err());
        assert!(MobilePhone::parse("+1 415 555 2671").is_err());
        assert!(MobilePhone::parse("+54 48 99999-1234").is_err());
        assert!(MobilePhone::parse("48 99999+1234").is_err());
        assert!(MobilePhone::parse("").is_err());
    }

    #[test]
    fn rejects_non_ascii_digits() {
        assert!(MobilePhone::parse("４８９９９９９１２３４").is_err());
        assert!(MobilePhone::parse("٤٨٩٩٩٩٩١٢٣٤").is_err());
        assert!(MobilePhone::parse("4899999123４").is_err());
    }

    #[test]
    fn string_conversions_revalidate() {
        let phone = MobilePhone::try_from("(48) 99999-1234".to_owned()).expect("valid");
        assert_eq!(String::from(phone.clone()), E164);
        assert_eq!(MobilePhone::try_from(E164.to_owned()), Ok(phone));
        assert!(MobilePhone::try_from("+5520999991234".to_owned()).is_err());
    }
}
