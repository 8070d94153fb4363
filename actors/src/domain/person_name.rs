//! People's names as customers write them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::validation::InvalidField;

const FIELD: &str = "name";

/// A person's name, tidied but otherwise kept exactly as given.
///
/// Brazilian names carry accents ("João", "Conceição"), apostrophes
/// ("D'Ávila"), hyphens and abbreviations ("Jr."), so any Unicode letter is
/// accepted; case is kept because names must appear on invoices as the
/// customer writes them. Digits, symbols and control characters are refused:
/// they never belong in a name and are how injection and spoofing attempts
/// (e.g. right-to-left overrides) reach receipts and admin screens.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    /// Validates a name: surrounding whitespace trimmed, inner runs of
    /// whitespace collapsed to one space, a typographic apostrophe (’, as
    /// phone keyboards type it) turned into a plain one, then 2 to 120
    /// characters including at least one letter.
    pub fn parse(input: &str) -> Result<Self, InvalidField> {
        let trimmed = input.trim();
        if trimmed.chars().any(|c| c.is_control() || is_format_char(c)) {
            return Err(InvalidField::new(
                FIELD,
                "name contains invisible control characters",
            ));
        }
        let mut name = String::with_capacity(trimmed.len());
        let mut prev_letter = false;
        for word in trimmed.split_whitespace() {
            if !name.is_empty() {
                name.push(' ');
            }
            for c in word.chars() {
                let c = if c == '\u{2019}' { '\'' } else { c };
                let allowed = c.is_alphabetic()
                    || matches!(c, '\'' | '-' | '.')
                    // Decomposed accents (e + U+0301) as some keyboards send them.
                    || (prev_letter && ('\u{0300}'..='\u{036F}').contains(&c));
                if !allowed {
                    return Err(InvalidField::new(
                        FIELD,
                        "name may only contain letters, spaces, apostrophes, hyphens and dots",
                    ));
                }
                prev_letter = c.is_alphabetic() || (prev_letter && !c.is_ascii());
                name.push(c);
            }
            prev_letter = false;
        }
        if !name.chars().any(char::is_alphabetic) {
            return Err(InvalidField::new(FIELD, "name must contain letters"));
        }
        let len = name.chars().count();
        if !(2..=120).contains(&len) {
            return Err(InvalidField::new(
                FIELD,
                "name must have 2 to 120 characters",
            ));
        }
        Ok(Self(name))
    }

    /// The tidied name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Unicode "format" characters that `char::is_control` misses: zero-width
/// spaces and joiners, bidirectional overrides, the BOM and soft hyphen.
fn is_format_char(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}')
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PersonName").field(&self.0).finish()
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PersonName {
    type Err = InvalidField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for PersonName {
    type Error = InvalidField;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PersonName> for String {
    fn from(value: PersonName) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_brazilian_names_and_tidies_them() {
        let cases = [
            ("João da Silva", "João da Silva"),
            (
                "  Maria   da  Conceição\u{00A0}Souza ",
                "Maria da Conceição Souza",
            ),
            ("Ana D'Ávila", "Ana D'Ávila"),
            ("Ana D\u{2019}Ávila", "Ana D'Ávila"),
            ("José Carlos Jr.", "José Carlos Jr."),
            ("Anne-Marie O'Neil", "Anne-Marie O'Neil"),
            ("Jose\u{0301}", "Jose\u{0301}"),
            ("Lê Văn Thành", "Lê Văn Thành"),
            ("李白", "李白"),
            ("Bo", "Bo"),
            ("\tJoão\n", "João"),
        ];
        for (input, expected) in cases {
            let name = PersonName::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(name.as_str(), expected);
        }
    }

    #[test]
    fn rejects_bad_names() {
        let too_long = "a".repeat(121);
        for input in [
            "",
            "   ",
            "A",
            "李",
            "--",
            "' .",
            "João2",
            "Ana <script>",
            "Ana_Souza",
            "Ana\u{0}Souza",
            "Ana\tSouza",
            "Ana\u{202E}Souza",
            "Ana\u{200B}Souza",
            "\u{0301}Ana",
            "Ana 😀",
            "Ana@Souza",
            too_long.as_str(),
        ] {
            assert!(PersonName::parse(input).is_err(), "{input:?} accepted");
        }
        assert!(PersonName::parse(&"a".repeat(120)).is_ok());
        let spaced = format!("{}  {}", "a".repeat(59), "b".repeat(60));
        assert_eq!(
            PersonName::parse(&spaced).map(|n| n.as_str().len()),
            Ok(120)
        );
    }

    #[test]
    fn string_conversions_revalidate() {
        let name = PersonName::try_from(" Ana  Souza ".to_owned()).expect("valid");
        assert_eq!(String::from(name.clone()), "Ana Souza");
        assert_eq!(name.to_string(), "Ana Souza");
        assert_eq!(PersonName::try_from("Ana Souza".to_owned()), Ok(name));
        assert!(PersonName::try_from("123".to_owned()).is_err());
    }
}
