//! The language a customer reads: Brazilian Portuguese by default (the customers are in
//! Florianópolis), English when they ask for it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::validation::InvalidField;

/// A customer's language for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Locale {
    /// `pt-BR`.
    #[default]
    PtBr,
    /// `en`.
    En,
}

impl Locale {
    /// Reads a BCP 47 tag: `pt`, `pt-BR` (any case) are Portuguese, `en` and any `en-…` English.
    /// Other languages are refused rather than silently served in Portuguese.
    pub fn parse(tag: &str) -> Result<Self, InvalidField> {
        let tag = tag.trim().to_ascii_lowercase();
        let language = tag.split(['-', '_']).next().unwrap_or("");
        match language {
            "pt" if tag == "pt" || tag == "pt-br" || tag == "pt_br" => Ok(Locale::PtBr),
            "en" => Ok(Locale::En),
            _ => Err(InvalidField::new(
                "locale",
                "must be \"pt-BR\" or \"en\" (messages are written in those two)",
            )),
        }
    }

    /// The tag as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::PtBr => "pt-BR",
            Locale::En => "en",
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portuguese_of_brazil_and_any_english_are_read_and_the_rest_refused() {
        assert_eq!(Locale::parse("pt-BR").unwrap(), Locale::PtBr);
        assert_eq!(Locale::parse(" pt ").unwrap(), Locale::PtBr);
        assert_eq!(Locale::parse("en").unwrap(), Locale::En);
        assert_eq!(Locale::parse("en-GB").unwrap(), Locale::En);
        assert!(Locale::parse("pt-PT").is_err());
        assert!(Locale::parse("es").is_err());
        assert!(Locale::parse("").is_err());
        assert_eq!(Locale::default().as_str(), "pt-BR");
    }
}
