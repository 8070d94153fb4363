//! E-mail addresses, the customer's login identifier.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::validation::InvalidField;

const FIELD: &str = "email";

/// Characters RFC 5322 allows in an unquoted local part besides letters,
/// digits and dots.
const LOCAL_SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";

/// A syntactically valid e-mail address, normalised to lower case.
///
/// The address is the login identifier and the uniqueness key for accounts,
/// so "Ana@Example.com" and "ana@example.com" must be the same account. RFC
/// 5321 lets the local part be case-sensitive, but no mainstream provider
/// treats it so, and two accounts differing only by case would be a support
/// and phishing hazard; hence the whole address is lower-cased.
///
/// The accepted syntax is a deliberate subset of RFC 5321/5322: no quoted
/// local parts, comments or IP-literal domains, and ASCII only (IDN domains
/// must be given in their "xn--" form), which is what mail providers accept
/// for sign-up anyway.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Validates and lower-cases an address; surrounding whitespace, common
    /// when pasting, is ignored.
    pub fn parse(input: &str) -> Result<Self, InvalidField> {
        let input = input.trim();
        let invalid = |reason: &str| InvalidField::new(FIELD, reason);
        if input.is_empty() {
            return Err(invalid("e-mail address is required"));
        }
        // RFC 5321 caps a forward path at 256 octets including the angle brackets.
        if input.len() > 254 {
            return Err(invalid("e-mail address must be at most 254 characters"));
        }
        let (local, domain) = match input.split_once('@') {
            Some((l, d)) if !d.contains('@') => (l, d),
            Some(_) => return Err(invalid("e-mail address must contain a single '@'")),
            None => return Err(invalid("e-mail address must contain '@'")),
        };
        check_local(local).map_err(invalid)?;
        check_domain(domain).map_err(invalid)?;
        Ok(Self(input.to_ascii_lowercase()))
    }

    /// The normalised, lower-case address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 5322 "dot-atom" local part, capped at 64 octets by RFC 5321.
fn check_local(local: &str) -> Result<(), &'static str> {
    if local.is_empty() {
        return Err("the part before '@' is empty");
    }
    if local.len() > 64 {
        return Err("the part before '@' must be at most 64 characters");
    }
    if !local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || LOCAL_SPECIALS.contains(c))
    {
        return Err("the part before '@' contains a character that is not allowed");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before '@' cannot start or end with a dot or have two dots in a row");
    }
    Ok(())
}

/// RFC 1035 host name labels, with a letters-only top-level domain as every
/// delegated TLD (in its ASCII form) is.
fn check_domain(domain: &str) -> Result<(), &'static str> {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err("the domain must contain a dot, e.g. example.com");
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return Err("each part of the domain must have 1 to 63 characters");
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err("the domain may only contain letters, digits, hyphens and dots");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("parts of the domain cannot start or end with a hyphen");
        }
    }
    let tld = labels[labels.len() - 1];
    if tld.len() < 2 || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err("the domain must end in a top-level domain of letters, e.g. .com or .br");
    }
    Ok(())
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Email").field(&self.0).finish()
    }
}

impl FromStr for Email {
    type Err = InvalidField;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidField;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_lowercases_valid_addresses() {
        let cases = [
            ("ana@example.com", "ana@example.com"),
            ("  Ana.Souza@Example.COM.br ", "ana.souza@example.com.br"),
            (
                "joao+aluguel@floripa-cars.com.br",
                "joao+aluguel@floripa-cars.com.br",
            ),
            ("o'neil@mail.co", "o'neil@mail.co"),
            ("a!#$%&'*+/=?^_`{|}~-z@x1.io", "a!#$%&'*+/=?^_`{|}~-z@x1.io"),
            ("user@xn--bcher-kva.de", "user@xn--bcher-kva.de"),
        ];
        for (input, expected) in cases {
            let email = Email::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(email.as_str(), expected);
        }
    }

    #[test]
    fn rejects_invalid_addresses() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_label = format!("a@{}.com", "b".repeat(64));
        let long_total = format!("a@{}.com", vec!["c".repeat(60); 5].join("."));
        for input in [
            "",
            "   ",
            "ana",
            "ana@",
            "@example.com",
            "ana@@example.com",
            "ana@b@example.com",
            "ana@example",
            "ana@example.c",
            "ana@example.c0m",
            "ana@example.123",
            "ana@-example.com",
            "ana@example-.com",
            "ana@exa_mple.com",
            "ana@example..com",
            "ana@.example.com",
            "ana@example.com.",
            ".ana@example.com",
            "ana.@example.com",
            "an..a@example.com",
            "an a@example.com",
            "ana(x)@example.com",
            "\"ana\"@example.com",
            "joão@example.com",
            "ana@exämple.com",
            "ana@example.com\u{0}",
            &long_local,
            &long_label,
            &long_total,
        ] {
            assert!(Email::parse(input).is_err(), "{input:?} accepted");
        }
        assert!(long_total.len() > 254);
    }

    #[test]
    fn length_limits_are_inclusive() {
        let local64 = format!("{}@example.com", "a".repeat(64));
        assert!(Email::parse(&local64).is_ok());
        let label63 = format!("a@{}.com", "b".repeat(63));
        assert!(Email::parse(&label63).is_ok());
        let domain = format!(
            "{}.{}.{}.{}",
            "c".repeat(63),
            "d".repeat(63),
            "e".repeat(63),
            "fg"
        );
        let exactly254 = format!("{}@{}", "a".repeat(254 - 1 - domain.len()), domain);
        assert_eq!(exactly254.len(), 254);
        assert!(Email::parse(&exactly254).is_ok());
    }

    #[test]
    fn string_conversions_revalidate() {
        let email = Email::try_from("Ana@Example.com".to_owned()).expect("valid");
        assert_eq!(String::from(email.clone()), "ana@example.com");
        assert_eq!(Email::try_from("ana@example.com".to_owned()), Ok(email));
        assert!(Email::try_from("not an email".to_owned()).is_err());
    }

    proptest! {
        #[test]
        fn parsing_is_idempotent(input in "[A-Za-z0-9._+-]{1,20}@[A-Za-z0-9-]{1,10}\\.[A-Za-z]{2,6}") {
            if let Ok(email) = Email::parse(&input) {
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
                prop_assert_eq!(email.as_str(), input.to_ascii_lowercase());
            }
        }
    }
}
