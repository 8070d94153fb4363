//! The single error type shared by every input parser in the domain.

/// Why a piece of customer or admin input was refused.
///
/// Every parser returns this one type so the gateway can map any validation
/// failure to the same response shape: the field that was wrong and a short
/// reason a customer can act on. Reasons never echo the rejected input, so
/// that secrets (card numbers, CVCs, CPFs) cannot leak into logs through them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidField {
    /// The name of the input field, as the API exposes it.
    pub field: &'static str,
    /// Short English explanation of what to fix.
    pub reason: String,
}

impl InvalidField {
    /// Builds the error; crate-private so only the parsers produce it.
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// The value of an ASCII decimal digit, and `None` for anything else.
///
/// `char::is_numeric` and `char::to_digit` are avoided on purpose in callers:
/// the former accepts full-width and Arabic-Indic digits, which no Brazilian
/// registry issues and which would let look-alike strings through.
pub(crate) fn ascii_digit(c: char) -> Option<u8> {
    if c.is_ascii_digit() {
        Some(c as u8 - b'0')
    } else {
        None
    }
}

/// Whether every digit equals the first.
///
/// Numbers such as 111.111.111-11 satisfy the mod-11 checks but are never
/// issued, and are the first thing people type to get past a form.
pub(crate) fn all_equal(digits: &[u8]) -> bool {
    digits.windows(2).all(|w| w[0] == w[1])
}

/// Renders digit values back into an ASCII string.
pub(crate) fn digits_to_string(digits: &[u8]) -> String {
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_field_and_reason() {
        let e = InvalidField::new("cpf", "CPF check digits do not match");
        assert_eq!(e.to_string(), "cpf: CPF check digits do not match");
    }

    #[test]
    fn ascii_digit_rejects_other_scripts() {
        assert_eq!(ascii_digit('7'), Some(7));
        assert_eq!(ascii_digit('５'), None);
        assert_eq!(ascii_digit('٥'), None);
        assert_eq!(ascii_digit('a'), None);
    }

    #[test]
    fn all_equal_detects_repeats() {
        assert!(all_equal(&[3; 11]));
        assert!(!all_equal(&[3, 3, 4]));
    }
}
