//! Login sessions: rotating refresh tokens with reuse detection (OAuth 2.0 Security Best
//! Current Practice, RFC 9700 §4.14.2, "refresh token rotation").
//!
//! A session is a *family* of refresh tokens. The login starts it with one token; every
//! refresh spends the presented token and issues its successor. A spent token presented again
//! means two parties hold the family's tokens, one of whom stole them: the whole family is
//! revoked, so the thief's session ends with the victim's and the victim logs in again.
//!
//! Tokens are 256 random bits, given to the client once as 64 hex digits; the store keeps only
//! their SHA-256, so a copy of the store opens no session. A fast, unsalted hash is enough
//! here, unlike for passwords: the input has full entropy, there is nothing to guess.
//!
//! Every change is durable before it is answered (`Store::commit`): a successor lost in a
//! crash after it was handed out would end the session at its next refresh, and a revocation
//! (logout, theft) must not come undone.
//!
//! Concurrency: a rotation is ONE sled transaction over the tokens, the families and the
//! customers. Inside it, the presented token's `used_at` and its family are re-read, and the
//! token is marked used together with the insertion of its successor (or, on reuse, the
//! family is revoked). sled runs transactions serially (0.34 holds a process-wide lock while
//! the closure runs, and would re-run the closure on a conflict), so of concurrent rotations
//! of one token exactly one reads `used_at` empty; the next one reads the winner's mark and
//! revokes the family; later ones find the family revoked. No entity actor: a family has no
//! state besides these records, and the transaction already serialises what must be.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use storage::{StorageError, Store, Table, TxAbort, TxError};
use uuid::Uuid;

use super::CustomersHandle;
use super::error::CustomersError;
use super::model::StoredStatus;
use super::principal::{Principal, Role, StoredPrincipal, StoredRole};
use super::session_records::{FamilyRecord, RefreshRecord};
use super::session_rules::{self, TOKEN_BYTES, Verdict};
use crate::ids::CustomerId;

/// The sessions' tables.
#[derive(Clone)]
pub(crate) struct SessionTables {
    pub(crate) tokens: Table<String, RefreshRecord>,
    pub(crate) families: Table<Uuid, FamilyRecord>,
    /// (subject, family): the sessions of one account, to end them all at once.
    pub(crate) by_subject: Table<(Uuid, Uuid), ()>,
}

impl SessionTables {
    pub(crate) fn open(store: &Store) -> Result<SessionTables, StorageError> {
        Ok(SessionTables {
            tokens: store.table("refresh_tokens")?,
            families: store.table("families")?,
            by_subject: store.table("families_by_subject")?,
        })
    }
}

/// A refresh token just issued: the only time its text exists outside the client.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedRefresh {
    /// The token (64 lowercase hex digits), for the client to present at its next refresh.
    pub token: String,
    /// The session it belongs to (for logs and audit; not a secret).
    pub family: Uuid,
    /// After this instant the token is refused.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for IssuedRefresh {
    /// The token never reaches a log, even from a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedRefresh")
            .field("token", &"<redacted>")
            .field("family", &self.family)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What a rotation's transaction decided.
enum Rotation {
    Rotated(StoredPrincipal, Uuid),
    Reused(Uuid),
}

/// A fresh token and the key it is stored under.
fn new_token() -> (String, String) {
    let bytes: [u8; TOKEN_BYTES] = rand::random();
    let token = session_rules::hex(&bytes);
    let key = token_key(&token);
    (token, key)
}

fn token_key(token: &str) -> String {
    session_rules::hex(&Sha256::digest(token.as_bytes()))
}

/// `now + ttl`, saturating instead of overflowing on an absurd ttl.
fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    now.checked_add_signed(ttl)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn settle<R>(result: Result<R, TxError<CustomersError>>) -> Result<R, CustomersError> {
    result.map_err(|error| match error {
        TxError::Aborted(error) => error,
        TxError::Storage(error) => error.into(),
    })
}

impl CustomersHandle {
    /// Starts a session for `principal` (just logged in): a new family and its first token,
    /// valid for `ttl`. Durable before it answers. An erased customer or an unknown subject
    /// gets no session (`Erased`, `NotFound`).
    pub async fn start_session(
        &self,
        principal: Principal,
        ttl: Duration,
    ) -> Result<IssuedRefresh, CustomersError> {
        match principal.role {
            Role::Customer => {
                let record = self.record(CustomerId(principal.subject))?;
                if record.status == StoredStatus::Erased {
                    return Err(CustomersError::Erased);
                }
            }
            Role::Admin => {
                if !self.admins.has_id(principal.subject)? {
                    return Err(CustomersError::NotFound);
                }
            }
        }
        let (token, key) = new_token();
        let family = Uuid::now_v7();
        let now = self.clock.now();
        let expires_at = expiry(now, ttl);
        let stored = StoredPrincipal::from(principal);
        let (tokens, families) = (&self.sessions.tokens, &self.sessions.families);
        let by_subject = &self.sessions.by_subject;
        settle(self.tables.store.transaction::<(), CustomersError>(
            &[tokens, families, by_subject],
            |tx| {
                tx.table(by_subject)?
                    .insert(&(principal.subject, family), &())?;
                tx.table(families)?.insert(
                    &family,
                    &FamilyRecord {
                        principal: stored,
                        revoked_at: None,
                        created_at: now,
                    },
                )?;
                tx.table(tokens)?.insert(
                    &key,
                    &RefreshRecord {
                        family,
                        principal: stored,
                        issued_at: now,
                        expires_at,
                        used_at: None,
                    },
                )?;
                Ok(())
            },
        ))?;
        self.tables.store.commit().await?;
        tracing::debug!(%family, subject = %principal.subject, "session started");
        Ok(IssuedRefresh {
            token,
            family,
            expires_at,
        })
    }

    /// Exchanges a refresh token for its successor (valid for `ttl`) and the principal it
    /// speaks for. Unknown, malformed, expired and revoked tokens, and tokens of an erased
    /// customer, are `InvalidRefreshToken`; a token already exchanged is `RefreshTokenReused`,
    /// and its whole family is revoked first. See the module doc for why concurrent rotations
    /// of one token yield exactly one success.
    pub async fn rotate_session(
        &self,
        token: &str,
        ttl: Duration,
    ) -> Result<(Principal, IssuedRefresh), CustomersError> {
        if !session_rules::well_formed(token) {
            return Err(CustomersError::InvalidRefreshToken);
        }
        let presented = token_key(token);
        // Drawn before the transaction: its closure may run again and must stay pure.
        let (next_token, next_key) = new_token();
        let now = self.clock.now();
        let expires_at = expiry(now, ttl);
        let (tokens, families) = (&self.sessions.tokens, &self.sessions.families);
        let customers = &self.tables.customers;
        let outcome = settle(self.tables.store.transaction::<Rotation, CustomersError>(
            &[tokens, families, customers],
            |tx| {
                // Read only through `tx` in here: a plain table read would wait for the very
                // lock this transaction holds.
                let invalid = || TxAbort::abort(CustomersError::InvalidRefreshToken);
                let tokens = tx.table(tokens)?;
                let families = tx.table(families)?;
                let Some(record) = tokens.get(&presented)? else {
                    return Err(invalid());
                };
                let family = families.get(&record.family)?;
                let active = match record.principal.role {
                    StoredRole::Customer => tx
                        .table(customers)?
                        .get(&CustomerId(record.principal.subject))?
                        .is_some_and(|customer| customer.status != StoredStatus::Erased),
                    // Administrators are never removed; their ids are kept across restarts.
                    StoredRole::Admin => true,
                };
                match session_rules::judge(&record, family.as_ref(), active, now) {
                    Verdict::Invalid => Err(invalid()),
                    Verdict::Reused => {
                        if let Some(family_record) = family {
                            families.insert(
                                &record.family,
                                &FamilyRecord {
                                    revoked_at: Some(now),
                                    ..family_record
                                },
                            )?;
                        }
                        Ok(Rotation::Reused(record.family))
                    }
                    Verdict::Rotate => {
                        let successor = RefreshRecord {
                            family: record.family,
                            principal: record.principal,
                            issued_at: now,
                            expires_at,
                            used_at: None,
                        };
                        tokens.insert(
                            &presented,
                            &RefreshRecord {
                                used_at: Some(now),
                                ..record.clone()
                            },
                        )?;
                        tokens.insert(&next_key, &successor)?;
                        Ok(Rotation::Rotated(record.principal, record.family))
                    }
                }
            },
        ))?;
        self.tables.store.commit().await?;
        match outcome {
            Rotation::Rotated(principal, family) => Ok((
                principal.into(),
                IssuedRefresh {
                    token: next_token,
                    family,
                    expires_at,
                },
            )),
            Rotation::Reused(family) => {
                tracing::warn!(%family, "refresh token reused: session revoked");
                Err(CustomersError::RefreshTokenReused)
            }
        }
    }

    /// Ends every session of `subject` except `keep` (the one asking, when it is a session):
    /// a password change, or an administrator removed from the configuration. Durable before
    /// it answers; returns how many sessions it ended. Access tokens already issued are not
    /// recalled: they expire within `auth.access_token_ttl_s`.
    pub async fn end_other_sessions(
        &self,
        subject: Uuid,
        keep: Option<Uuid>,
    ) -> Result<usize, CustomersError> {
        let mut families = Vec::new();
        for entry in self.sessions.by_subject.scan_prefix(&subject) {
            let ((_, family), ()) = entry?;
            if Some(family) != keep {
                families.push(family);
            }
        }
        let now = self.clock.now();
        let table = &self.sessions.families;
        let ended = settle(self.tables.store.transaction::<usize, CustomersError>(
            &[table],
            |tx| {
                let table = tx.table(table)?;
                let mut ended = 0;
                for family in &families {
                    if let Some(record) = table.get(family)?
                        && record.revoked_at.is_none()
                    {
                        let revoked = FamilyRecord {
                            revoked_at: Some(now),
                            ..record
                        };
                        table.insert(family, &revoked)?;
                        ended += 1;
                    }
                }
                Ok(ended)
            },
        ))?;
        self.tables.store.commit().await?;
        if ended > 0 {
            tracing::info!(%subject, ended, "other sessions ended");
        }
        Ok(ended)
    }

    /// Ends the session `token` belongs to (logout): every token of its family stops working.
    /// Idempotent: an unknown, malformed or already revoked token is fine.
    pub async fn end_session(&self, token: &str) -> Result<(), CustomersError> {
        if !session_rules::well_formed(token) {
            return Ok(());
        }
        let Some(record) = self.sessions.tokens.get(&token_key(token))? else {
            return Ok(());
        };
        let now = self.clock.now();
        let families = &self.sessions.families;
        settle(
            self.tables
                .store
                .transaction::<(), CustomersError>(&[families], |tx| {
                    let families = tx.table(families)?;
                    if let Some(family) = families.get(&record.family)?
                        && family.revoked_at.is_none()
                    {
                        let revoked = FamilyRecord {
                            revoked_at: Some(now),
                            ..family
                        };
                        families.insert(&record.family, &revoked)?;
                    }
                    Ok(())
                }),
        )?;
        // Also when it was revoked already: that revocation may not be on disk yet.
        self.tables.store.commit().await?;
        tracing::debug!(family = %record.family, "session ended");
        Ok(())
    }
}
