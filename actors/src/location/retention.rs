//! What location forgets: fixes older than `fleet.position_retention_days` (the retention
//! job), and a window of one car's history on request (a customer's erasure: their trips).
//!
//! The history is keyed `(car, recorded_at)`, so the purge walks car by car: one seek finds a
//! car's oldest fix, and its expired fixes are the start of its range. A cursor carries the
//! walk across batches, so a pass reads each car once. Each car's latest position (`latest`)
//! is never purged: it is the car's current place, needed to offer it, and the next fix
//! overwrites it.
//!
//! The purge removes rows straight from the store rather than through the trackers: it touches
//! only fixes older than the retention, which a tracker never writes in the normal run (units
//! send fixes as they go; a unit flushing a buffer that old would have its fixes purged at the
//! next pass). A tracker's in-memory window may still hold a purged fix, which only makes a
//! re-sent copy of it count as a duplicate instead of being stored again.

use std::ops::Bound;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use storage::{StorageError, Store, Table};

use super::entity::HistoryKey;
use super::model::StoredFix;
use crate::ids::VehicleId;
use crate::retention::Purge;

/// Whether a fix recorded at `recorded_at` is past its retention at `now`: strictly older than
/// `retention`.
pub(crate) fn is_expired(
    recorded_at: DateTime<Utc>,
    now: DateTime<Utc>,
    retention: TimeDelta,
) -> bool {
    recorded_at < now - retention
}

/// The purge of fixes past their retention.
pub(crate) struct PositionPurge {
    pub(crate) store: Store,
    pub(crate) history: Table<HistoryKey, StoredFix>,
    pub(crate) retention: TimeDelta,
    /// The car the walk stopped at when the last batch filled up; `None` starts a pass.
    pub(crate) cursor: Mutex<Option<VehicleId>>,
}

impl PositionPurge {
    /// The purge for `fleet.position_retention_days`.
    pub(crate) fn new(store: Store, history: Table<HistoryKey, StoredFix>, days: u32) -> Self {
        PositionPurge {
            store,
            history,
            retention: TimeDelta::days(i64::from(days)),
            cursor: Mutex::new(None),
        }
    }

    /// Up to `batch` expired keys, from the cursor on; the car to continue from when the
    /// batch filled up.
    fn expired(
        &self,
        now: DateTime<Utc>,
        batch: usize,
        from: Option<VehicleId>,
    ) -> Result<(Vec<HistoryKey>, Option<VehicleId>), StorageError> {
        let cutoff = now - self.retention;
        let mut keys = Vec::new();
        let mut next: Bound<HistoryKey> = match from {
            Some(car) => Bound::Included((car, DateTime::<Utc>::MIN_UTC)),
            None => Bound::Unbounded,
        };
        loop {
            let Some(first) = self.history.range((next, Bound::Unbounded)).next() else {
                return Ok((keys, None));
            };
            let ((car, oldest), _) = first?;
            if is_expired(oldest, now, self.retention) {
                for entry in self
                    .history
                    .range((car, oldest)..(car, cutoff))
                    .take(batch - keys.len())
                {
                    keys.push(entry?.0);
                }
                if keys.len() == batch {
                    return Ok((keys, Some(car)));
                }
            }
            next = Bound::Excluded((car, DateTime::<Utc>::MAX_UTC));
        }
    }

    fn purge(&self, now: DateTime<Utc>, batch: usize) -> Result<usize, StorageError> {
        let mut cursor = self
            .cursor
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (keys, stopped_at) = self.expired(now, batch, *cursor)?;
        for key in &keys {
            self.history.remove(key)?;
        }
        *cursor = stopped_at;
        Ok(keys.len())
    }
}

impl Purge for PositionPurge {
    fn kind(&self) -> &'static str {
        "positions"
    }

    async fn purge_batch(&self, now: DateTime<Utc>, batch: usize) -> Result<usize, String> {
        let removed = self.purge(now, batch).map_err(|error| error.to_string())?;
        // Positions are the lazy class, but a purge is a promise to forget: made durable.
        if removed > 0 {
            self.store
                .commit()
                .await
                .map_err(|error| error.to_string())?;
        }
        Ok(removed)
    }
}

/// The keys of `car`'s fixes recorded in `[from, to]` (both ends included).
pub(crate) fn window_keys(
    history: &Table<HistoryKey, StoredFix>,
    car: VehicleId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<HistoryKey>, StorageError> {
    history
        .range((car, from)..=(car, to))
        .map(|entry| entry.map(|(key, _)| key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fix_expires_strictly_after_its_retention() {
        let recorded = super::super::testing::noon();
        let days = TimeDelta::days(90);
        assert!(!is_expired(recorded, recorded + days, days));
        assert!(is_expired(
            recorded,
            recorded + days + TimeDelta::seconds(1),
            days
        ));
        assert!(!is_expired(recorded, recorded, TimeDelta::days(1)));
    }
}
