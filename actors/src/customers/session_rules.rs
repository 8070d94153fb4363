//! Pure rules of the sessions: the token's text form and what a presented token is worth.

use chrono::{DateTime, Utc};

use super::session_records::{FamilyRecord, RefreshRecord};

/// 256 bits: guessing a live token is out of reach (RFC 9700 asks for tokens that cannot be
/// guessed; 128 bits would do, 256 costs nothing more).
pub(crate) const TOKEN_BYTES: usize = 32;

/// Lowercase hex digits.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Whether `token` has the form of an issued token (64 lowercase hex digits). Anything else
/// is refused before any look-up, and arbitrary long input is never hashed.
pub(crate) fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_BYTES * 2
        && token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What a presented, known token is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Exchange it for its successor.
    Rotate,
    /// Spent already: a replay. Revoke the family.
    Reused,
    /// Refuse it, change nothing.
    Invalid,
}

/// Judges `token` of `family` at `now`; `account_active` says whether the principal's account
/// may still hold sessions (a customer erased since the login may not).
///
/// The order matters. A revoked family answers `Invalid` to every token, a spent one
/// included: it is already as revoked as reuse would make it. An expired token is `Invalid`
/// even when spent: it could not open the session anyway, and the family's live token stays
/// its holder's. An erased account's tokens are `Invalid` before any reuse verdict: there is
/// nothing left to protect.
pub(crate) fn judge(
    token: &RefreshRecord,
    family: Option<&FamilyRecord>,
    account_active: bool,
    now: DateTime<Utc>,
) -> Verdict {
    let Some(family) = family else {
        return Verdict::Invalid;
    };
    if family.revoked_at.is_some() || now >= token.expires_at || !account_active {
        Verdict::Invalid
    } else if token.used_at.is_some() {
        Verdict::Reused
    } else {
        Verdict::Rotate
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use uuid::Uuid;

    use super::*;
    use crate::customers::principal::{StoredPrincipal, StoredRole};

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    fn records() -> (RefreshRecord, FamilyRecord) {
        let principal = StoredPrincipal {
            subject: Uuid::now_v7(),
            role: StoredRole::Customer,
        };
        let token = RefreshRecord {
            family: Uuid::now_v7(),
            principal,
            issued_at: at(0),
            expires_at: at(0) + Duration::minutes(10),
            used_at: None,
        };
        let family = FamilyRecord {
            principal,
            revoked_at: None,
            created_at: at(0),
        };
        (token, family)
    }

    #[test]
    fn hex_and_the_token_form() {
        assert_eq!(hex(&[0x00, 0x9f, 0xa0, 0xff]), "009fa0ff");
        let token = hex(&[0xab; TOKEN_BYTES]);
        assert!(well_formed(&token));
        assert!(!well_formed(&token.to_uppercase()));
        assert!(!well_formed(&token[1..]));
        assert!(!well_formed(&format!("{token}0")));
        assert!(!well_formed(&format!("{}g", &token[1..])));
        assert!(!well_formed(""));
    }

    #[test]
    fn verdicts() {
        let (token, family) = records();
        assert_eq!(judge(&token, Some(&family), true, at(1)), Verdict::Rotate);
        assert_eq!(judge(&token, None, true, at(1)), Verdict::Invalid);
        assert_eq!(judge(&token, Some(&family), false, at(1)), Verdict::Invalid);
        assert_eq!(
            judge(&token, Some(&family), true, at(600)),
            Verdict::Invalid,
            "expired at its instant"
        );
        assert_eq!(judge(&token, Some(&family), true, at(599)), Verdict::Rotate);

        let spent = RefreshRecord {
            used_at: Some(at(2)),
            ..token.clone()
        };
        assert_eq!(judge(&spent, Some(&family), true, at(3)), Verdict::Reused);
        assert_eq!(
            judge(&spent, Some(&family), true, at(700)),
            Verdict::Invalid
        );

        let revoked = FamilyRecord {
            revoked_at: Some(at(2)),
            ..family
        };
        assert_eq!(judge(&token, Some(&revoked), true, at(3)), Verdict::Invalid);
        assert_eq!(judge(&spent, Some(&revoked), true, at(3)), Verdict::Invalid);
    }
}
