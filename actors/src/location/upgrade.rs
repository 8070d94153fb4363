//! Moves fixes written in the first stored layout into the current tables.
//!
//! bincode fields are positional, so a record written before altitude, accuracy and the
//! charging flag were kept cannot be read as the current [`StoredFix`]. Rather than guess a
//! record's layout on every read of the busiest tables, the current layout lives under new
//! table names and this pass, run at start-up before any tracker, copies each old record over
//! and then removes it. Both steps are idempotent: a crash part-way leaves some records in both
//! tables with the same value, and the next start copies them again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use storage::{Key, StorageError, Store, Table};

use super::model::StoredFix;

/// Table names of the first layout.
pub(crate) const HISTORY_V1: &str = "history";
pub(crate) const LATEST_V1: &str = "latest";

/// A fix as the first layout stored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredFixV1 {
    pub(crate) lat: f64,
    pub(crate) lon: f64,
    pub(crate) recorded_at: DateTime<Utc>,
    pub(crate) speed_kmh: Option<f64>,
    pub(crate) heading_deg: Option<f64>,
    pub(crate) battery_pct: Option<f64>,
    pub(crate) flagged: bool,
    pub(crate) outside_service_area: bool,
    pub(crate) received_at: DateTime<Utc>,
}

impl From<StoredFixV1> for StoredFix {
    fn from(old: StoredFixV1) -> Self {
        StoredFix {
            lat: old.lat,
            lon: old.lon,
            recorded_at: old.recorded_at,
            speed_kmh: old.speed_kmh,
            heading_deg: old.heading_deg,
            battery_pct: old.battery_pct,
            flagged: old.flagged,
            outside_service_area: old.outside_service_area,
            received_at: old.received_at,
            altitude_m: None,
            accuracy_m: None,
            charging: None,
        }
    }
}

/// Copies every record of the old table `from` into `into` and removes it; returns how many
/// moved. A record already present in `into` is left as it is: it was written by this version.
pub(crate) fn move_table<K: Key>(
    store: &Store,
    from: &str,
    into: &Table<K, StoredFix>,
) -> Result<u64, StorageError> {
    let old: Table<K, StoredFixV1> = store.table(from)?;
    let mut moved = 0u64;
    for entry in old.iter() {
        let (key, fix) = entry?;
        if !into.contains(&key)? {
            into.insert(&key, &StoredFix::from(fix))?;
        }
        old.remove(&key)?;
        moved += 1;
    }
    if moved > 0 {
        store.commit_blocking()?;
        tracing::info!(table = from, moved, "fixes moved to the current layout");
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::VehicleId;
    use crate::location::entity::HistoryKey;

    fn old_fix(seconds: i64) -> StoredFixV1 {
        let at = DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap();
        StoredFixV1 {
            lat: -27.59,
            lon: -48.55,
            recorded_at: at,
            speed_kmh: Some(30.0),
            heading_deg: None,
            battery_pct: Some(64.0),
            flagged: false,
            outside_service_area: false,
            received_at: at,
        }
    }

    #[test]
    fn old_records_move_once_and_keep_their_values() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::open(&crate::location::testing::storage(dir.path()), "location").unwrap();
        let car = VehicleId::new();
        let old: Table<HistoryKey, StoredFixV1> = store.table(HISTORY_V1).unwrap();
        for seconds in [0, 30, 60] {
            let fix = old_fix(seconds);
            old.insert(&(car, fix.recorded_at), &fix).unwrap();
        }
        let current: Table<HistoryKey, StoredFix> = store.table("history_v2").unwrap();
        // A record the new version already wrote wins over the old copy.
        let newer = StoredFix {
            charging: Some(true),
            ..StoredFix::from(old_fix(60))
        };
        current.insert(&(car, newer.recorded_at), &newer).unwrap();

        assert_eq!(move_table(&store, HISTORY_V1, &current).unwrap(), 3);
        assert!(old.is_empty());
        let fixes: Vec<StoredFix> = current.iter().map(|e| e.unwrap().1).collect();
        assert_eq!(fixes.len(), 3);
        assert_eq!(fixes[0], StoredFix::from(old_fix(0)));
        assert_eq!(fixes[2].charging, Some(true));
        // Nothing left to move: a second start does nothing.
        assert_eq!(move_table(&store, HISTORY_V1, &current).unwrap(), 0);
    }
}
