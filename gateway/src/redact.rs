//! `Debug` output that names a secret field without showing it.
//!
//! Request and answer types holding passwords, card data, tokens or documents implement
//! `Debug` by hand with these, so that a `{:?}` in a log line, a panic message or an error
//! chain cannot carry the value. (A derive would print it, and a newtype around each secret
//! would change the types every handler and service passes around.)

use std::fmt;

/// Shown in place of a secret.
pub struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `Some(<redacted>)` or `None`: whether an optional secret was given, not what it is.
pub fn optional<T>(value: &Option<T>) -> Option<Redacted> {
    value.as_ref().map(|_| Redacted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_show_as_redacted_and_absence_as_none() {
        assert_eq!(format!("{Redacted:?}"), "<redacted>");
        assert_eq!(
            format!("{:?}", optional(&Some("hunter22"))),
            "Some(<redacted>)"
        );
        assert_eq!(format!("{:?}", optional::<String>(&None)), "None");
    }
}
