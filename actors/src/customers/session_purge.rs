//! Retention of login sessions: records of refresh tokens are deleted once they expired, and a
//! session (family) with them once its last live token did.
//!
//! Only the unspent token of a family can keep it alive (a spent one was replaced by its
//! successor), so when that token expires the family is over whatever else it holds. Expired
//! records answer exactly like missing ones (`InvalidRefreshToken`), so deleting them changes
//! no answer; it keeps the store from growing with every login forever and removes the trail of
//! who logged in when.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::CustomersHandle;
use super::error::CustomersError;
use super::session_records::RefreshRecord;

/// How often the purge runs.
pub(crate) const EVERY: Duration = Duration::from_secs(3600);

/// Records deleted per transaction, so a purge never holds the store for long.
const BATCH: usize = 512;

/// What to delete for one token record.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Purge {
    Keep,
    /// The token only (it was spent; its family lives on through a successor).
    Token,
    /// The token and its family (it was the family's live token).
    TokenAndFamily {
        subject: Uuid,
        family: Uuid,
    },
}

/// The rule, without a store.
pub(crate) fn judge(record: &RefreshRecord, now: DateTime<Utc>) -> Purge {
    if record.expires_at > now {
        Purge::Keep
    } else if record.used_at.is_some() {
        Purge::Token
    } else {
        Purge::TokenAndFamily {
            subject: record.principal.subject,
            family: record.family,
        }
    }
}

impl CustomersHandle {
    /// Deletes what [`judge`] says is over at `now`; returns how many token records went.
    pub async fn purge_sessions(&self, now: DateTime<Utc>) -> Result<usize, CustomersError> {
        let mut purged = 0;
        loop {
            let mut batch = Vec::with_capacity(BATCH);
            for entry in self.sessions.tokens.iter() {
                let (key, record) = entry?;
                let verdict = judge(&record, now);
                if verdict != Purge::Keep {
                    batch.push((key, verdict));
                    if batch.len() == BATCH {
                        break;
                    }
                }
            }
            if batch.is_empty() {
                return Ok(purged);
            }
            let (tokens, families, by_subject) = (
                &self.sessions.tokens,
                &self.sessions.families,
                &self.sessions.by_subject,
            );
            let deleted = self.tables.store.transaction::<(), CustomersError>(
                &[tokens, families, by_subject],
                |tx| {
                    let (tokens, families, by_subject) = (
                        tx.table(tokens)?,
                        tx.table(families)?,
                        tx.table(by_subject)?,
                    );
                    for (key, verdict) in &batch {
                        tokens.remove(key)?;
                        if let Purge::TokenAndFamily { subject, family } = verdict {
                            families.remove(family)?;
                            by_subject.remove(&(*subject, *family))?;
                        }
                    }
                    Ok(())
                },
            );
            if let Err(error) = deleted {
                return Err(match error {
                    storage::TxError::Aborted(error) => error,
                    storage::TxError::Storage(error) => error.into(),
                });
            }
            self.tables.store.commit().await?;
            purged += batch.len();
            if batch.len() < BATCH {
                return Ok(purged);
            }
        }
    }

    /// Runs [`CustomersHandle::purge_sessions`] every [`EVERY`] until the returned task is
    /// aborted (the system does at shutdown) or the service stops.
    pub fn purge_sessions_periodically(&self) -> tokio::task::AbortHandle {
        let handle = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(EVERY);
            loop {
                every.tick().await;
                if handle.ping().is_err() {
                    return;
                }
                match handle.purge_sessions(handle.clock.now()).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, "expired sessions purged"),
                    Err(error) => tracing::warn!(
                        error = %crate::error_kind::with_causes(&error),
                        "session purge failed"
                    ),
                }
            }
        })
        .abort_handle()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::customers::principal::{StoredPrincipal, StoredRole};

    fn record(expires_in: i64, used: bool) -> RefreshRecord {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        RefreshRecord {
            family: Uuid::from_u128(7),
            principal: StoredPrincipal {
                subject: Uuid::from_u128(1),
                role: StoredRole::Customer,
            },
            issued_at: now,
            expires_at: now + TimeDelta::seconds(expires_in),
            used_at: used.then_some(now),
        }
    }

    #[test]
    fn live_tokens_stay_and_an_expired_live_token_takes_its_family() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(judge(&record(1, false), now), Purge::Keep);
        assert_eq!(judge(&record(1, true), now), Purge::Keep);
        assert_eq!(judge(&record(0, true), now), Purge::Token);
        assert_eq!(
            judge(&record(-5, false), now),
            Purge::TokenAndFamily {
                subject: Uuid::from_u128(1),
                family: Uuid::from_u128(7)
            }
        );
    }
}
