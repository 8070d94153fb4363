//! The rules of e-mail confirmation codes, pure so they are tested without a runtime.
//!
//! A code is six random digits. Only a keyed hash of it rests in the store (HMAC under the
//! blind-index key, over the customer's id and the code), so a copy of the store does not give
//! away codes that still work, and a code of one customer does not work for another. A code
//! expires after `notify.confirmation_ttl_min`; five wrong tries spend it (guessing one of a
//! million in five tries is hopeless). Sending is limited per customer: one per minute and five
//! per hour, since each one is an e-mail to an address that may not be the customer's.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::privacy::{DataKey, Sealed};
use crate::domain::InvalidField;
use crate::ids::CustomerId;

/// Wrong tries a code takes before it stops working.
pub(crate) const MAX_TRIES: u32 = 5;
/// The shortest time between two codes sent to one customer.
pub(crate) const RESEND_GAP: TimeDelta = TimeDelta::seconds(60);
/// The most codes sent to one customer in [`SEND_WINDOW`].
pub(crate) const SENDS_PER_WINDOW: usize = 5;
/// The window of [`SENDS_PER_WINDOW`].
pub(crate) const SEND_WINDOW: TimeDelta = TimeDelta::hours(1);

/// What a pending confirmation keeps, in the `confirmations` table under the customer's id.
/// No `Debug`: the new address is sealed, but the hash is still a secret's.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ConfirmationRecord {
    /// HMAC of the id and the code (hex).
    pub(crate) code_hash: String,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) failed_tries: u32,
    /// When codes were sent within the last [`SEND_WINDOW`], oldest first.
    pub(crate) sent_at: Vec<DateTime<Utc>>,
    /// The changed address being confirmed, sealed under the customer's key; `None` when the
    /// account's own address is being confirmed.
    pub(crate) new_address: Option<Sealed>,
}

/// What a presented code is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It is the code, in time.
    Confirmed,
    /// Not the code; `left` tries remain.
    Wrong { left: u32 },
    /// Past its expiry.
    Expired,
    /// Too many wrong tries: only a new code works.
    Spent,
}

/// Six random digits.
pub(crate) fn new_code() -> String {
    format!("{:06}", rand::random_range(0..1_000_000u32))
}

/// The keyed hash kept instead of the code.
pub(crate) fn code_hash(key: &DataKey, customer: CustomerId, code: &str) -> String {
    key.blind("confirmation", &format!("{customer}:{code}"))
}

/// Checks that a presented code has the form of one (six digits, white space around ignored).
pub(crate) fn parse_code(code: &str) -> Result<String, InvalidField> {
    let code = code.trim();
    if code.len() == 6 && code.bytes().all(|byte| byte.is_ascii_digit()) {
        Ok(code.to_owned())
    } else {
        Err(InvalidField::new(
            "code",
            "must be the six digits sent by e-mail",
        ))
    }
}

/// Judges a presented code (already hashed) against the pending confirmation. The hashes are
/// compared in constant time.
pub(crate) fn judge(
    record: &ConfirmationRecord,
    presented_hash: &str,
    now: DateTime<Utc>,
) -> Verdict {
    if record.failed_tries >= MAX_TRIES {
        return Verdict::Spent;
    }
    if now >= record.expires_at {
        return Verdict::Expired;
    }
    let matches: bool = record
        .code_hash
        .as_bytes()
        .ct_eq(presented_hash.as_bytes())
        .into();
    if matches {
        Verdict::Confirmed
    } else {
        Verdict::Wrong {
            left: MAX_TRIES - record.failed_tries - 1,
        }
    }
}

/// The record after a wrong try.
pub(crate) fn after_wrong_try(record: &ConfirmationRecord) -> ConfirmationRecord {
    ConfirmationRecord {
        failed_tries: record.failed_tries.saturating_add(1),
        ..record.clone()
    }
}

/// Seconds to wait before another code may be sent, `None` when one may be sent now.
pub(crate) fn resend_wait(sent_at: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<u64> {
    let recent: Vec<_> = sent_at
        .iter()
        .filter(|sent| now - **sent < SEND_WINDOW)
        .collect();
    let gap = recent
        .last()
        .map(|last| RESEND_GAP - (now - **last))
        .filter(|wait| *wait > TimeDelta::zero());
    let window = (recent.len() >= SENDS_PER_WINDOW)
        .then(|| recent.first().map(|oldest| SEND_WINDOW - (now - **oldest)))
        .flatten();
    let wait = match (gap, window) {
        (Some(gap), Some(window)) => gap.max(window),
        (gap, window) => gap.or(window)?,
    };
    // Rounded up: waiting the seconds said must be enough.
    let millis = u64::try_from(wait.num_milliseconds()).unwrap_or(0);
    Some(millis.div_ceil(1_000).max(1))
}

/// A new pending confirmation for `code_hash`: the tries start again, the send is counted.
pub(crate) fn issue(
    previous: Option<&ConfirmationRecord>,
    code_hash: String,
    now: DateTime<Utc>,
    ttl: TimeDelta,
    new_address: Option<Sealed>,
) -> ConfirmationRecord {
    let mut sent_at: Vec<_> = previous
        .map(|previous| previous.sent_at.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|sent| now - *sent < SEND_WINDOW)
        .collect();
    sent_at.push(now);
    ConfirmationRecord {
        code_hash,
        expires_at: now + ttl,
        failed_tries: 0,
        sent_at,
        new_address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn key() -> DataKey {
        DataKey::from_bytes(&[7; 32])
    }

    fn pending(code: &str, customer: CustomerId) -> ConfirmationRecord {
        issue(
            None,
            code_hash(&key(), customer, code),
            t0(),
            TimeDelta::minutes(30),
            None,
        )
    }

    #[test]
    fn codes_are_six_digits_and_their_hash_depends_on_key_customer_and_code() {
        for _ in 0..100 {
            let code = new_code();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        }
        let (ana, bia) = (CustomerId::new(), CustomerId::new());
        let hash = code_hash(&key(), ana, "123456");
        assert_eq!(hash, code_hash(&key(), ana, "123456"));
        assert!(!hash.contains("123456"));
        assert_ne!(hash, code_hash(&key(), bia, "123456"));
        assert_ne!(hash, code_hash(&key(), ana, "123457"));
        assert_ne!(
            hash,
            code_hash(&DataKey::from_bytes(&[8; 32]), ana, "123456")
        );
    }

    #[test]
    fn only_six_digits_are_taken_as_a_code() {
        assert_eq!(parse_code(" 012345 ").unwrap(), "012345");
        for bad in ["12345", "1234567", "12a456", "", "１２３４５６"] {
            assert_eq!(parse_code(bad).unwrap_err().field, "code", "{bad}");
        }
    }

    #[test]
    fn the_right_code_confirms_until_it_expires() {
        let ana = CustomerId::new();
        let record = pending("123456", ana);
        let right = code_hash(&key(), ana, "123456");
        assert_eq!(judge(&record, &right, t0()), Verdict::Confirmed);
        let almost = t0() + TimeDelta::minutes(30) - TimeDelta::seconds(1);
        assert_eq!(judge(&record, &right, almost), Verdict::Confirmed);
        assert_eq!(
            judge(&record, &right, t0() + TimeDelta::minutes(30)),
            Verdict::Expired
        );
    }

    #[test]
    fn five_wrong_tries_spend_the_code_even_for_the_right_one() {
        let ana = CustomerId::new();
        let mut record = pending("123456", ana);
        let wrong = code_hash(&key(), ana, "654321");
        for left in (0..MAX_TRIES).rev() {
            assert_eq!(judge(&record, &wrong, t0()), Verdict::Wrong { left });
            record = after_wrong_try(&record);
        }
        let right = code_hash(&key(), ana, "123456");
        assert_eq!(judge(&record, &right, t0()), Verdict::Spent);
        let fresh = issue(
            Some(&record),
            right.clone(),
            t0(),
            TimeDelta::minutes(30),
            None,
        );
        assert_eq!(judge(&fresh, &right, t0()), Verdict::Confirmed);
    }

    #[test]
    fn resends_wait_a_minute_and_at_most_five_go_in_an_hour() {
        let at = |s: i64| t0() + TimeDelta::seconds(s);
        assert_eq!(resend_wait(&[], t0()), None);
        assert_eq!(resend_wait(&[at(0)], at(1)), Some(59));
        assert_eq!(resend_wait(&[at(0)], at(59)), Some(1));
        assert_eq!(resend_wait(&[at(0)], at(60)), None);
        let five = [at(0), at(60), at(120), at(180), at(240)];
        assert_eq!(resend_wait(&five, at(300)), Some(3_300));
        assert_eq!(resend_wait(&five, at(3_599)), Some(1));
        assert_eq!(resend_wait(&five, at(3_600)), None);
        // Issuing forgets sends older than the window and counts the new one.
        let mut record: Option<ConfirmationRecord> = None;
        for s in [0, 60, 120, 180, 240, 3_600] {
            record = Some(issue(
                record.as_ref(),
                String::new(),
                at(s),
                TimeDelta::minutes(30),
                None,
            ));
        }
        let record = record.unwrap();
        assert_eq!(record.sent_at.len(), 5);
        assert_eq!(record.sent_at.last(), Some(&at(3_600)));
    }
}
