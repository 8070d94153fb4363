//! Retention of the reservations store: idempotency keys are purged 24 hours after they were
//! created. A client retries a booking within minutes; a day is what payment processors keep
//! their keys for, and past it a key only tells who booked what.
//!
//! Keys are found by the time index `idempotency_by_time`, written with the key in the
//! booking's transaction (the record itself is unchanged, so no stored record needs a new
//! layout). Keys stored before the index existed get their entry from their reservation's
//! `created_at` when the job first runs ([`IdempotencyPurge::backfill`]), which is exactly the
//! time the index would have held.

use std::ops::Bound;

use chrono::{DateTime, TimeDelta, Utc};
use storage::{StorageError, TxAbort};
use uuid::Uuid;

use crate::ids::CustomerId;
use crate::retention::Purge;

use super::tables::{IdempotencyAge, Tables, tx_storage};

/// How long an idempotency key is kept after its booking.
pub(crate) const KEY_TTL: TimeDelta = TimeDelta::hours(24);

/// Whether a key created at `created_at` has expired at `now`: strictly more than
/// [`KEY_TTL`] ago.
pub(crate) fn is_expired(created_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    created_at < now - KEY_TTL
}

/// The purge of expired idempotency keys.
#[derive(Clone)]
pub(crate) struct IdempotencyPurge {
    pub(crate) tables: Tables,
}

impl IdempotencyPurge {
    /// Gives every key without an index entry (stored before the index existed) its entry,
    /// from its reservation's `created_at`, or from `now` if the reservation is missing.
    /// Idempotent: a key already indexed at that time is left alone.
    pub(crate) fn backfill(&self, now: DateTime<Utc>) -> Result<usize, StorageError> {
        let tables = &self.tables;
        let mut added = 0;
        for entry in tables.idempotency.iter() {
            let ((customer, key), value) = entry?;
            let created_at = tables
                .reservations
                .get(&value.reservation_id)?
                .map_or(now, |record| record.created_at);
            let age = (created_at, customer, key);
            if !tables.idempotency_by_time.contains(&age)? {
                tables.idempotency_by_time.insert(&age, &())?;
                added += 1;
            }
        }
        Ok(added)
    }

    /// The index entries of expired keys, oldest first, at most `batch`.
    fn expired(
        &self,
        now: DateTime<Utc>,
        batch: usize,
    ) -> Result<Vec<IdempotencyAge>, StorageError> {
        // The smallest key at the cutoff instant: everything before it is strictly older.
        let cutoff = (now - KEY_TTL, CustomerId(Uuid::nil()), String::new());
        self.tables
            .idempotency_by_time
            .range((Bound::Unbounded, Bound::Excluded(cutoff)))
            .take(batch)
            .map(|entry| entry.map(|(age, ())| age))
            .filter(|age| age.as_ref().map_or(true, |(at, _, _)| is_expired(*at, now)))
            .collect()
    }

    /// Forgets at most `batch` bookings an outage interrupted and nobody retried within
    /// [`KEY_TTL`], as their key would have been. Few (outages only), so they are scanned.
    fn purge_unfinished(&self, now: DateTime<Utc>, batch: usize) -> Result<usize, StorageError> {
        let unfinished = &self.tables.unfinished_bookings;
        let expired = unfinished
            .iter()
            .filter_map(|entry| match entry {
                Ok((key, attempt)) => is_expired(attempt.at, now).then_some(Ok(key)),
                Err(error) => Some(Err(error)),
            })
            .take(batch)
            .collect::<Result<Vec<_>, _>>()?;
        for key in &expired {
            unfinished.remove(key)?;
        }
        Ok(expired.len())
    }

    async fn purge(&self, now: DateTime<Utc>, batch: usize) -> Result<usize, StorageError> {
        let unfinished = self.purge_unfinished(now, batch)?;
        let expired = self.expired(now, batch.saturating_sub(unfinished))?;
        if expired.is_empty() {
            if unfinished > 0 {
                self.tables.store.commit().await?;
            }
            return Ok(unfinished);
        }
        let tables = &self.tables;
        tables
            .store
            .transaction(&[&tables.idempotency, &tables.idempotency_by_time], |tx| {
                let keys = tx.table(&tables.idempotency)?;
                let index = tx.table(&tables.idempotency_by_time)?;
                for age in &expired {
                    index.remove(age)?;
                    keys.remove(&(age.1, age.2.clone()))?;
                }
                Ok::<(), TxAbort<()>>(())
            })
            .map_err(tx_storage)?;
        tables.store.commit().await?;
        Ok(expired.len() + unfinished)
    }
}

impl Purge for IdempotencyPurge {
    fn kind(&self) -> &'static str {
        "idempotency_keys"
    }

    async fn prepare(&self, now: DateTime<Utc>) -> Result<(), String> {
        let added = self.backfill(now).map_err(|error| error.to_string())?;
        if added > 0 {
            tracing::info!(added, "idempotency keys indexed by creation time");
        }
        Ok(())
    }

    async fn purge_batch(&self, now: DateTime<Utc>, batch: usize) -> Result<usize, String> {
        self.purge(now, batch)
            .await
            .map_err(|error| error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_expires_strictly_after_24_hours() {
        let created = crate::testing::t0();
        assert!(!is_expired(created, created));
        assert!(!is_expired(created, created + KEY_TTL));
        assert!(is_expired(
            created,
            created + KEY_TTL + TimeDelta::nanoseconds(1)
        ));
    }
}
