//! The CPF, the Brazilian individual taxpayer number every customer gives.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::validation::{InvalidField, all_equal, ascii_digit, digits_to_string};

const FIELD: &str = "cpf";

/// A CPF whose check digits have been verified, stored as its 11 digits.
///
/// Rentals are tied to a CPF because Brazilian invoices (NFS-e) and traffic
/// fines are issued against it; a typo would bill or fine the wrong person,
/// so the Receita Federal check digits are verified on entry. `Debug` shows
/// only the masked form because the CPF is personal data under the LGPD.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cpf(String);

impl Cpf {
    /// Validates and normalises a CPF typed by a person.
    ///
    /// Both the printed form "529.982.247-25" and bare digits are accepted,
    /// since customers copy it from documents or type it plainly; separators
    /// are only allowed where the Receita Federal prints them.
    pub fn parse(input: &str) -> Result<Self, InvalidField> {
        let mut digits = Vec::with_capacity(11);
        let mut after_digit = false;
        for c in input.trim().chars() {
            let was_after_digit = std::mem::replace(&mut after_digit, false);
            match (c, ascii_digit(c)) {
                (_, Some(d)) => {
                    digits.push(d);
                    after_digit = true;
                }
                ('.', None) if was_after_digit && matches!(digits.len(), 3 | 6) => {}
                ('-', None) if was_after_digit && digits.len() == 9 => {}
                _ => {
                    return Err(InvalidField::new(
                        FIELD,
                        "CPF must contain only digits, with '.' and '-' in the usual places",
                    ));
                }
            }
        }
        if digits.len() != 11 {
            return Err(InvalidField::new(FIELD, "CPF must have 11 digits"));
        }
        if all_equal(&digits) {
            return Err(InvalidField::new(FIELD, "CPF cannot be 11 equal digits"));
        }
        if check_digits(&digits[..9]) != [digits[9], digits[10]] {
            return Err(InvalidField::new(FIELD, "CPF check digits do not match"));
        }
        Ok(Self(digits_to_string(&digits)))
    }

    /// The 11 digits without punctuation, the form government APIs expect.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The CPF with only its middle six digits visible, e.g. "***.982.247-**".
    ///
    /// This is the masking the Brazilian government itself uses on public
    /// documents (Portal da Transparência), so customers recognise it.
    pub fn masked(&self) -> String {
        format!("***.{}.{}-**", &self.0[3..6], &self.0[6..9])
    }
}

/// The two check digits of a 9-digit CPF base, as defined by the Receita
/// Federal: each is a mod-11 weighted sum (weights 10..2, then 11..2 over the
/// base plus the first check digit), with a remainder of 10 becoming 0.
pub(crate) fn check_digits(base: &[u8]) -> [u8; 2] {
    let digit = |slice: &[u8]| -> u8 {
        let top = slice.len() as u32 + 1;
        let sum: u32 = slice
            .iter()
            .zip((2..=top).rev())
            .map(|(&d, w)| u32::from(d) * w)
            .sum();
        let r = (sum * 10 % 11) as u8;
        if r == 10 { 0 } else { r }
    };
    let first = digit(base);
    let mut extended = base.to_vec();
    extended.push(first);
    [first, digit(&extended)]
}

impl fmt::Debug for Cpf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Cpf").field(&self.masked()).finish()
    }
}

impl FromStr for Cpf {
    type Err = InvalidField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Cpf {
    type Error = InvalidField;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Cpf> for String {
    fn from(value: Cpf) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALID: &str = "52998224725";

    #[test]
    fn accepts_formatted_and_bare() {
        let formatted = Cpf::parse("529.982.247-25").expect("formatted");
        let bare = Cpf::parse(VALID).expect("bare");
        assert_eq!(formatted, bare);
        assert_eq!(bare.as_str(), VALID);
        assert_eq!(Cpf::parse("  529.982.247-25\n").expect("trimmed"), bare);
    }

    #[test]
    fn masks_and_debug_hide_the_ends() {
        let cpf = Cpf::parse(VALID).expect("valid");
        assert_eq!(cpf.masked(), "***.982.247-**");
        let debug = format!("{cpf:?}");
        assert!(debug.contains("***.982.247-**"));
        assert!(!debug.contains(VALID));
    }

    #[test]
    fn every_single_digit_mutation_is_rejected() {
        for pos in 0..VALID.len() {
            for d in '0'..='9' {
                let mut chars: Vec<char> = VALID.chars().collect();
                if chars[pos] == d {
                    continue;
                }
                chars[pos] = d;
                let mutated: String = chars.into_iter().collect();
                assert!(Cpf::parse(&mutated).is_err(), "{mutated} accepted");
            }
        }
    }

    #[test]
    fn rejects_equal_digits_wrong_length_and_bad_separators() {
        for d in '0'..='9' {
            let s: String = std::iter::repeat_n(d, 11).collect();
            let err = Cpf::parse(&s).expect_err("equal digits");
            assert_eq!(err.reason, "CPF cannot be 11 equal digits");
        }
        assert!(Cpf::parse("5299822472").is_err());
        assert!(Cpf::parse("529982247250").is_err());
        assert!(Cpf::parse("").is_err());
        assert!(Cpf::parse("5299.82.247-25").is_err());
        assert!(Cpf::parse("529 982 247 25").is_err());
        assert!(Cpf::parse("529..982.247-25").is_err());
        assert!(Cpf::parse("529.982.247--25").is_err());
        assert!(Cpf::parse("529.982.247/25").is_err());
        let err = Cpf::parse("52998224726").expect_err("bad check");
        assert_eq!(err.to_string(), "cpf: CPF check digits do not match");
    }

    #[test]
    fn rejects_unicode_digits() {
        assert!(Cpf::parse("５２９９８２２４７２５").is_err());
        assert!(Cpf::parse("٥٢٩٩٨٢٢٤٧٢٥").is_err());
        assert!(Cpf::parse("۵۲۹۹۸۲۲۴۷۲۵").is_err());
        assert!(Cpf::parse("5299822472５").is_err());
    }

    #[test]
    fn string_conversions_revalidate() {
        let cpf = Cpf::try_from("529.982.247-25".to_owned()).expect("valid");
        assert_eq!(String::from(cpf.clone()), VALID);
        assert_eq!(Cpf::try_from(String::from(cpf.clone())), Ok(cpf));
        assert!(Cpf::try_from("11111111111".to_owned()).is_err());
        assert!("52998224725".parse::<Cpf>().is_ok());
    }

    proptest! {
        #[test]
        fn any_base_with_computed_check_digits_is_valid(
            base in proptest::collection::vec(0u8..10, 9)
        ) {
            prop_assume!(!all_equal(&base));
            let mut digits = base.clone();
            digits.extend(check_digits(&base));
            let s = digits_to_string(&digits);
            let cpf = Cpf::parse(&s);
            prop_assert!(cpf.is_ok(), "{} rejected", s);
            let formatted = format!("{}.{}.{}-{}", &s[..3], &s[3..6], &s[6..9], &s[9..]);
            prop_assert_eq!(Cpf::parse(&formatted).ok(), cpf.ok());
        }
    }
}
