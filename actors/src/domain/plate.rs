//! Brazilian vehicle licence plates, how admins identify fleet cars.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::validation::InvalidField;

const FIELD: &str = "plate";

/// A Brazilian plate, upper case with no separator: "ABC1D23" or "ABC1234".
///
/// Both layouts are on the road: the Mercosul layout (CONTRAN Resolution
/// 729/2018) for cars registered since 2018, and the older grey plate for the
/// rest. Admins type plates in many ways, so one canonical form keeps each
/// car unique in the fleet and matches what DETRAN and toll systems report.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Plate(String);

impl Plate {
    /// Validates a plate, accepting lower case and the hyphen or space that
    /// the old plates print after the letters ("abc-1234").
    pub fn parse(input: &str) -> Result<Self, InvalidField> {
        let input = input.trim();
        if !input.is_ascii() {
            return Err(InvalidField::new(
                FIELD,
                "plate may only contain letters A-Z and digits",
            ));
        }
        let upper = input.to_ascii_uppercase();
        let bytes = upper.as_bytes();
        let compact: Vec<u8> = match bytes {
            [a, b, c, b'-' | b' ', rest @ ..] => [*a, *b, *c].iter().chain(rest).copied().collect(),
            _ => bytes.to_vec(),
        };
        let shape_ok = match compact.as_slice() {
            [l1, l2, l3, d1, x, d2, d3] => {
                [l1, l2, l3].iter().all(|b| b.is_ascii_uppercase())
                    && [d1, d2, d3].iter().all(|b| b.is_ascii_digit())
                    && (x.is_ascii_digit() || x.is_ascii_uppercase())
            }
            _ => false,
        };
        if !shape_ok {
            return Err(InvalidField::new(
                FIELD,
                "plate must look like ABC1D23 (Mercosul) or ABC-1234",
            ));
        }
        Ok(Self(compact.iter().map(|&b| char::from(b)).collect()))
    }

    /// The canonical form, seven upper-case characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a Mercosul-layout plate (a letter in fifth place).
    pub fn is_mercosul(&self) -> bool {
        self.0.as_bytes().get(4).is_some_and(u8::is_ascii_uppercase)
    }
}

impl fmt::Debug for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Plate").field(&self.0).finish()
    }
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Plate {
    type Err = InvalidField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Plate {
    type Error = InvalidField;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Plate> for String {
    fn from(value: Plate) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_both_layouts_and_normalises() {
        let cases = [
            ("ABC1D23", "ABC1D23", true),
            ("abc1d23", "ABC1D23", true),
            ("abc-1234", "ABC1234", false),
            ("ABC 1234", "ABC1234", false),
            ("ABC1234", "ABC1234", false),
            (" xyz-9a87 ", "XYZ9A87", true),
        ];
        for (input, expected, mercosul) in cases {
            let plate = Plate::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(plate.as_str(), expected);
            assert_eq!(plate.is_mercosul(), mercosul, "{input}");
        }
    }

    #[test]
    fn rejects_other_shapes() {
        for input in [
            "ABCD123",
            "AB1C234",
            "ÃBC1234",
            "ABC12345",
            "ABC123",
            "ABC1DD3",
            "ABC12D3",
            "1BC1234",
            "ABC--1234",
            "ABC_1234",
            "AB-C1234",
            "ABC1-234",
            "ABC1234-",
            "",
            "ＡBC1234",
            "ABC１234",
        ] {
            assert!(Plate::parse(input).is_err(), "{input:?} accepted");
        }
    }

    #[test]
    fn string_conversions_revalidate() {
        let plate = Plate::try_from("abc-1d23".to_owned()).expect("valid");
        assert_eq!(String::from(plate.clone()), "ABC1D23");
        assert_eq!(plate.to_string(), "ABC1D23");
        assert_eq!(Plate::try_from("ABC1D23".to_owned()), Ok(plate));
        assert!(Plate::try_from("ABCD123".to_owned()).is_err());
    }

    proptest! {
        #[test]
        fn any_non_ascii_char_is_rejected(
            prefix in "[A-Za-z0-9 -]{0,4}",
            odd in any::<char>().prop_filter("non-ASCII", |c| !c.is_ascii()),
            suffix in "[A-Za-z0-9 -]{0,4}",
        ) {
            let input = format!("{prefix}{odd}{suffix}");
            prop_assert!(Plate::parse(&input).is_err());
        }

        #[test]
        fn valid_plates_round_trip(plate in "[A-Z]{3}[0-9][A-Z0-9][0-9]{2}") {
            let parsed = Plate::parse(&plate.to_lowercase());
            prop_assert_eq!(parsed.map(String::from), Ok(plate));
        }
    }
}
