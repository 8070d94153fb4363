//! A second factor for administrators: time-based one-time codes (RFC 6238) and single-use
//! recovery codes.
//!
//! An administrator can read every customer and refund money, so a leaked password alone must
//! not be enough. The shared secret has to be readable to check codes, so it is kept wrapped
//! by the data key (as the customers' own keys are) under the administrator's id. A code is
//! accepted once: the record keeps the last time step used, and only a later step passes,
//! which also rules out replaying a code seen over a shoulder within its 30 seconds. Recovery
//! codes are random and long, so a SHA-256 of each is enough to keep them unreadable at rest.
//!
//! Every change (setup, confirmation, a code or recovery code used) is one sled transaction on
//! the administrator's record, so two logins racing with the same code cannot both pass.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use storage::{Table, TxAbort, TxError};
use totp_rs::{Algorithm, TOTP};
use uuid::Uuid;

use super::CustomersHandle;
use super::error::CustomersError;
use super::principal::Principal;
use super::privacy::data_keys::{KeyId, NONCE_BYTES};
use crate::domain::InvalidField;

/// Seconds per code (RFC 6238's default, what every authenticator app uses).
const STEP_S: u64 = 30;
/// Digits per code.
const DIGITS: usize = 6;
/// Steps accepted either side of the current one: clocks of phones drift.
const SKEW_STEPS: u64 = 1;
/// Recovery codes handed out at setup.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (Crockford's base 32: no I, L, O or U to misread).
const RECOVERY_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 10 characters of 32 = 50 bits: out of reach of guessing behind the login limits.
const RECOVERY_LENGTH: usize = 10;
/// The name authenticator apps show next to the code.
const ISSUER: &str = "ev-rental";

/// An administrator's second factor as stored, under the administrator's id. No `Debug`.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct TotpRecord {
    /// The data key that wrapped the secret.
    key_id: KeyId,
    nonce: [u8; NONCE_BYTES],
    wrapped: Vec<u8>,
    /// `None` while set up but not confirmed: logins do not ask for codes yet.
    enabled_at: Option<DateTime<Utc>>,
    /// The last time step whose code was accepted; only later ones pass.
    last_step: u64,
    /// SHA-256 of each recovery code not used yet.
    recovery: Vec<[u8; 32]>,
    created_at: DateTime<Utc>,
}

/// What setup hands the administrator, once.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSetup {
    /// `otpauth://totp/…` for the authenticator app (usually shown as a QR code).
    pub otpauth_uri: String,
    /// Single-use codes for when the phone is lost.
    pub recovery_codes: Vec<String>,
}

/// Hand-written: the secret and the codes never reach a log.
impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpSetup").finish_non_exhaustive()
    }
}

/// The code generator for `secret`.
fn generator(secret: &[u8], account: &str) -> TOTP {
    // `new_unchecked`: the secret is ours (32 random bytes) and the account name may hold
    // characters the checked constructor refuses in labels; the URI encodes it.
    TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP_S,
        secret.to_vec(),
        Some(ISSUER.to_owned()),
        account.to_owned(),
    )
}

/// The time step a code of `secret` matches at `now_s`, if it is within the skew and later
/// than `last_step`. Constant-time comparison: the code is a secret.
pub(crate) fn matching_step(secret: &[u8], code: &str, now_s: u64, last_step: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let totp = generator(secret, "");
    let current = now_s / STEP_S;
    (current.saturating_sub(SKEW_STEPS)..=current + SKEW_STEPS)
        .filter(|step| *step > last_step)
        .find(|step| constant_time_eq(totp.generate(step * STEP_S).as_bytes(), code.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new recovery code, `XXXXX-XXXXX`.
fn recovery_code() -> String {
    let chars: String = (0..RECOVERY_LENGTH)
        .map(|_| {
            let index = rand::random_range(0..RECOVERY_ALPHABET.len());
            char::from(RECOVERY_ALPHABET[index])
        })
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// The stored digest of a recovery code, as typed or as handed out: case and dashes ignored.
fn recovery_digest(code: &str) -> [u8; 32] {
    let normalised: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Sha256::digest(normalised.as_bytes()).into()
}

/// What a presented code did to a record: the record to write back, or a refusal.
pub(crate) fn accept(
    record: &TotpRecord,
    secret: &[u8],
    code: &str,
    now: DateTime<Utc>,
) -> Option<TotpRecord> {
    let now_s = u64::try_from(now.timestamp()).unwrap_or(0);
    if let Some(step) = matching_step(secret, code, now_s, record.last_step) {
        return Some(TotpRecord {
            last_step: step,
            ..record.clone()
        });
    }
    let digest = recovery_digest(code);
    let position = record
        .recovery
        .iter()
        .position(|stored| constant_time_eq(stored, &digest))?;
    let mut next = record.clone();
    next.recovery.remove(position);
    Some(next)
}

/// The administrators' second factors.
#[derive(Clone)]
pub(crate) struct TotpTable(pub(crate) Table<Uuid, TotpRecord>);

/// Why a code was not taken.
enum Refusal {
    NoFactor,
    WrongCode,
}

impl CustomersHandle {
    /// Starts (or restarts, while not confirmed) two-factor setup for the administrator
    /// `admin`: a new secret and new recovery codes. Refused once confirmed: turning it off or
    /// replacing it is an operator's job on the store, not something a stolen session may do.
    pub async fn totp_setup(&self, admin: Principal) -> Result<TotpSetup, CustomersError> {
        let account = self.admin_email(admin)?;
        let secret: [u8; 32] = rand::random();
        let keys = self.tables.privacy.keys();
        let (nonce, wrapped) = keys.current.wrap(&secret, admin.subject.as_bytes());
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
        let record = TotpRecord {
            key_id: keys.current.id(),
            nonce,
            wrapped: wrapped.to_vec(),
            enabled_at: None,
            last_step: 0,
            recovery: codes.iter().map(|code| recovery_digest(code)).collect(),
            created_at: self.clock.now(),
        };
        let table = &self.totp.0;
        let written = self.tables.store.transaction(&[table], |tx| {
            let records = tx.table(table)?;
            if records
                .get(&admin.subject)?
                .is_some_and(|existing| existing.enabled_at.is_some())
            {
                return Err(TxAbort::abort(CustomersError::TotpAlreadyEnabled));
            }
            records.insert(&admin.subject, &record)?;
            Ok(())
        });
        tx_result(written)?;
        self.tables.store.commit().await?;
        Ok(TotpSetup {
            otpauth_uri: generator(&secret, &account).get_url(),
            recovery_codes: codes,
        })
    }

    /// Turns two-factor authentication on, with a code from the app just set up.
    pub async fn totp_confirm(&self, admin: Principal, code: &str) -> Result<(), CustomersError> {
        let now = self.clock.now();
        let outcome = self.use_code(admin.subject, code, now, true)?;
        match outcome {
            Ok(()) => {
                self.tables.store.commit().await?;
                tracing::info!(admin = %admin.subject, "two-factor authentication turned on");
                Ok(())
            }
            Err(Refusal::NoFactor) => Err(CustomersError::InvalidState(
                "start with POST /v1/auth/totp/setup",
            )),
            Err(Refusal::WrongCode) => Err(CustomersError::Invalid(vec![InvalidField::new(
                "code",
                "the code does not match; check the phone's clock and use a fresh code",
            )])),
        }
    }

    /// Whether the administrator has two-factor authentication on.
    pub(crate) fn totp_enabled(&self, admin: Uuid) -> Result<bool, CustomersError> {
        Ok(self
            .totp
            .0
            .get(&admin)?
            .is_some_and(|record| record.enabled_at.is_some()))
    }

    /// The second step of an administrator's login, once the password matched.
    pub(crate) async fn check_second_factor(
        &self,
        admin: Principal,
        code: Option<&str>,
    ) -> Result<(), CustomersError> {
        if !self.totp_enabled(admin.subject)? {
            return if self.require_admin_totp {
                Err(CustomersError::TotpSetupRequired(admin))
            } else {
                Ok(())
            };
        }
        let Some(code) = code.filter(|code| !code.trim().is_empty()) else {
            return Err(CustomersError::TotpRequired);
        };
        match self.use_code(admin.subject, code, self.clock.now(), false)? {
            Ok(()) => {
                self.tables.store.commit().await?;
                Ok(())
            }
            Err(_) => Err(CustomersError::BadCredentials),
        }
    }

    /// Checks `code` against the record and, if it passes, writes the record back with the
    /// code used up (and enabled, when `enable`), in one transaction.
    fn use_code(
        &self,
        admin: Uuid,
        code: &str,
        now: DateTime<Utc>,
        enable: bool,
    ) -> Result<Result<(), Refusal>, CustomersError> {
        let keys = self.tables.privacy.keys();
        let table = &self.totp.0;
        let written = self.tables.store.transaction(&[table], |tx| {
            let records = tx.table(table)?;
            let Some(record) = records.get(&admin)? else {
                return Ok(Err(Refusal::NoFactor));
            };
            if enable == record.enabled_at.is_some() {
                // Confirming twice, or a login code against a factor not confirmed yet.
                return Ok(Err(Refusal::NoFactor));
            }
            let secret = keys
                .by_id(record.key_id)
                .and_then(|key| key.unwrap(&record.nonce, &record.wrapped, admin.as_bytes()))
                .ok_or_else(|| {
                    TxAbort::abort(CustomersError::InvalidState(
                        "the two-factor secret does not open with the configured data keys",
                    ))
                })?;
            let Some(mut next) = accept(&record, &secret, code, now) else {
                return Ok(Err(Refusal::WrongCode));
            };
            if enable {
                next.enabled_at = Some(now);
            }
            records.insert(&admin, &next)?;
            Ok(Ok(()))
        });
        tx_result(written)
    }

    /// The e-mail of an enabled administrator, for the authenticator app's label.
    fn admin_email(&self, admin: Principal) -> Result<String, CustomersError> {
        for entry in self.admins.admins.iter() {
            let (email, record) = entry?;
            if record.id == admin.subject && record.disabled_at.is_none() {
                return Ok(email);
            }
        }
        Err(CustomersError::NotFound)
    }
}

fn tx_result<T>(result: Result<T, TxError<CustomersError>>) -> Result<T, CustomersError> {
    match result {
        Ok(value) => Ok(value),
        Err(TxError::Aborted(error)) => Err(error),
        Err(TxError::Storage(error)) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; 20] = *b"12345678901234567890";

    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        // RFC 6238, appendix B (SHA-1, 8 digits there; the last 6 digits here).
        let totp = generator(&SECRET, "");
        assert_eq!(totp.generate(59), "287082");
        assert_eq!(totp.generate(1_111_111_109), "081804");
        assert_eq!(totp.generate(2_000_000_000), "279037");
    }

    #[test]
    fn a_code_passes_within_one_step_and_only_after_the_last_used_one() {
        let totp = generator(&SECRET, "");
        let now = 1_111_111_109;
        let step = now / STEP_S;
        let code = totp.generate(now);
        assert_eq!(matching_step(&SECRET, &code, now, 0), Some(step));
        assert_eq!(matching_step(&SECRET, &code, now + STEP_S, 0), Some(step));
        assert_eq!(matching_step(&SECRET, &code, now - STEP_S, 0), Some(step));
        assert_eq!(matching_step(&SECRET, &code, now + 2 * STEP_S, 0), None);
        assert_eq!(matching_step(&SECRET, &code, now, step), None, "replay");
        assert_eq!(matching_step(&SECRET, "12345", now, 0), None);
        assert_eq!(matching_step(&SECRET, "abcdef", now, 0), None);
    }

    fn record(codes: &[String]) -> TotpRecord {
        TotpRecord {
            key_id: [0; 8],
            nonce: [0; NONCE_BYTES],
            wrapped: Vec::new(),
            enabled_at: None,
            last_step: 0,
            recovery: codes.iter().map(|code| recovery_digest(code)).collect(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn a_recovery_code_works_once_in_any_case_and_with_or_without_its_dash() {
        let codes: Vec<String> = (0..3).map(|_| recovery_code()).collect();
        assert!(
            codes
                .iter()
                .all(|code| code.len() == 11 && &code[5..6] == "-")
        );
        let now = Utc::now();
        let typed = codes[1].to_lowercase().replace('-', "");
        let after = accept(&record(&codes), &SECRET, &typed, now).expect("accepted");
        assert_eq!(after.recovery.len(), 2);
        assert!(accept(&after, &SECRET, &codes[1], now).is_none(), "used up");
        assert!(accept(&after, &SECRET, &codes[0], now).is_some());
        assert!(accept(&after, &SECRET, "00000-00000", now).is_none());
    }
}
