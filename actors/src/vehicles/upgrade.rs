//! Moves cars written in the first stored layout (before tracker ids) into the current table.
//!
//! bincode fields are positional, so a record without `tracker_id` cannot be read as the
//! current [`VehicleRecord`]. As in location, the current layout lives under a new table name
//! and this pass, run at start-up before any vehicle actor, copies each old record over and
//! then removes it. Both steps are idempotent: a crash part-way leaves some cars in both tables
//! with the same value, and the next start copies them again (a car already in the new table
//! was written by this version and wins).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use storage::{StorageError, Store, Table};

use super::model::{VehicleRecord, VehicleStatus};
use crate::ids::VehicleId;

/// Table name of the first layout.
pub(crate) const VEHICLES_V1: &str = "vehicles";

/// A car as the first layout stored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct VehicleRecordV1 {
    pub(crate) id: VehicleId,
    pub(crate) plate: String,
    pub(crate) model: String,
    pub(crate) year: i32,
    pub(crate) hourly_rate_cents: i64,
    pub(crate) battery_kwh: Option<f64>,
    pub(crate) range_km: Option<f64>,
    pub(crate) color: Option<String>,
    pub(crate) status: VehicleStatus,
    pub(crate) device_token_sha256: [u8; 32],
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) retired_at: Option<DateTime<Utc>>,
}

impl From<VehicleRecordV1> for VehicleRecord {
    fn from(old: VehicleRecordV1) -> Self {
        VehicleRecord {
            id: old.id,
            plate: old.plate,
            model: old.model,
            year: old.year,
            hourly_rate_cents: old.hourly_rate_cents,
            battery_kwh: old.battery_kwh,
            range_km: old.range_km,
            color: old.color,
            status: old.status,
            device_token_sha256: old.device_token_sha256,
            created_at: old.created_at,
            updated_at: old.updated_at,
            retired_at: old.retired_at,
            tracker_id: None,
        }
    }
}

/// Copies every car of the old table into `into` and removes it; returns how many moved.
pub(crate) fn move_vehicles(
    store: &Store,
    into: &Table<VehicleId, VehicleRecord>,
) -> Result<u64, StorageError> {
    let old: Table<VehicleId, VehicleRecordV1> = store.table(VEHICLES_V1)?;
    let mut moved = 0u64;
    for entry in old.iter() {
        let (id, record) = entry?;
        if !into.contains(&id)? {
            into.insert(&id, &VehicleRecord::from(record))?;
        }
        old.remove(&id)?;
        moved += 1;
    }
    if moved > 0 {
        // Vehicles are the durable class: the moved records are flushed before any actor runs.
        store.commit_blocking()?;
        tracing::info!(moved, "vehicles moved to the current layout");
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old_car(plate: &str) -> VehicleRecordV1 {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        VehicleRecordV1 {
            id: VehicleId::new(),
            plate: plate.into(),
            model: "BYD Dolphin".into(),
            year: 2025,
            hourly_rate_cents: 4_500,
            battery_kwh: Some(44.9),
            range_km: None,
            color: None,
            status: VehicleStatus::Available,
            device_token_sha256: [7; 32],
            created_at: at,
            updated_at: at,
            retired_at: None,
        }
    }

    #[test]
    fn first_layout_cars_move_once_and_keep_their_values() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::open(&crate::location::testing::storage(dir.path()), "vehicles").unwrap();
        let old: Table<VehicleId, VehicleRecordV1> = store.table(VEHICLES_V1).unwrap();
        let (first, second) = (old_car("ABC1D23"), old_car("XYZ1234"));
        for car in [&first, &second] {
            old.insert(&car.id, car).unwrap();
        }
        let current: Table<VehicleId, VehicleRecord> = store.table("vehicles_v2").unwrap();
        let newer = VehicleRecord {
            tracker_id: Some("a-tracker-written-by-this-version".into()),
            ..VehicleRecord::from(second.clone())
        };
        current.insert(&second.id, &newer).unwrap();

        assert_eq!(move_vehicles(&store, &current).unwrap(), 2);
        assert!(old.is_empty());
        assert_eq!(
            current.get(&first.id).unwrap(),
            Some(VehicleRecord::from(first))
        );
        assert_eq!(current.get(&second.id).unwrap(), Some(newer));
        assert_eq!(move_vehicles(&store, &current).unwrap(), 0);
    }
}
