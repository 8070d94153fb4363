//! Location: where each car is.
//!
//! Car units post a fix every 30 s while moving, in batches when they come back into
//! coverage: this is the busiest path of the system, so it is kept cheap.
//!
//! - **Owns** the `location` store: the history of every fix keyed `(car, recorded_at)`, the
//!   newest plausible fix per car (`latest`), and whether each car is listed (offered to
//!   customers, as the vehicles service says).
//! - **Durability**: positions are the LAZY class. They are written at once and never wait for
//!   a commit; the store's periodic flush makes them durable, so a crash loses at most the last
//!   `storage.flush_every_ms` of fixes (units re-send unacknowledged batches, and the next fix
//!   supersedes a lost one). Listed flags are durable: they change rarely and decide what
//!   customers are offered.
//! - **Plausibility**: a fix implying a faster move than `fleet.max_plausible_speed_kmh` from
//!   its time neighbours is stored flagged and never becomes the car's position.
//! - **Search**: "cars near me" goes through an in-memory grid of ~1 km cells (see `grid`),
//!   rebuilt from the store at start and kept current by the trackers; never a fleet scan.
//!
//! Every change to one car goes through its `VehicleTracker` actor; reads (latest, track,
//! nearby) go straight to the store and the grid.

mod area;
mod battery;
mod entity;
mod error;
mod fix;
mod grid;
mod model;
mod moved;
mod retention;
#[cfg(test)]
pub(crate) mod testing;
mod upgrade;

use chrono::{DateTime, Utc};
use storage::Store;

pub use area::ServiceArea;
pub use battery::BatteryReport;
pub use error::LocationError;
pub use model::{Fix, FixInput, IngestReport, NearbyVehicle, RejectedFix};

use crate::ask::AskError;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::domain::InvalidField;
use crate::entity::{EntityRef, EntityStats, SupervisorConfig, start_entities};
use crate::ids::VehicleId;
use entity::{LocationContext, TrackerMsg, VehicleTracker};
use grid::SharedGrid;

/// Most fixes one batch may carry: about four hours of a unit's buffer.
pub const MAX_BATCH: usize = 500;
/// Widest search radius, metres.
pub const MAX_RADIUS_M: f64 = 50_000.0;
/// Most cars one search returns.
pub const MAX_NEARBY: usize = 200;
/// Most fixes one track query returns.
pub const MAX_TRACK: usize = 10_000;

/// Table names of the current stored layout (see `upgrade` for the first one's).
const HISTORY: &str = "history_v2";
const LATEST: &str = "latest_v2";
/// Each car's newest battery report (see `battery`).
const BATTERY: &str = "battery";

/// The location service's API. Cheap to clone.
#[derive(Clone)]
pub struct LocationHandle {
    trackers: EntityRef<VehicleTracker>,
    context: LocationContext,
}

/// Starts the location service: opens its tables, rebuilds the grid from the stored latest
/// positions and listed flags, and starts the trackers' supervisor under `parent`.
pub async fn start(
    store: Store,
    clock: SharedClock,
    config: &Config,
    parent: Option<ractor::ActorCell>,
) -> Result<LocationHandle, ractor::SpawnErr> {
    let startup = |error: storage::StorageError| ractor::SpawnErr::StartupFailed(error.into());
    let context = LocationContext {
        history: store.table(HISTORY).map_err(startup)?,
        latest: store.table(LATEST).map_err(startup)?,
        listed: store.table("listed").map_err(startup)?,
        battery: store.table(BATTERY).map_err(startup)?,
        store,
        grid: SharedGrid::default(),
        area: std::sync::Arc::new(ServiceArea::from_config(config)),
        clock,
        max_speed_kmh: config.fleet.max_plausible_speed_kmh,
        battery_refresh: battery::refresh_interval(config.fleet.battery_stale_min),
        // Validated to at most an hour; the bound only keeps the conversion total.
        position_every: chrono::TimeDelta::seconds(
            config.events.position_every_s.min(86_400) as i64
        ),
    };
    upgrade::move_table(&context.store, upgrade::HISTORY_V1, &context.history).map_err(startup)?;
    upgrade::move_table(&context.store, upgrade::LATEST_V1, &context.latest).map_err(startup)?;
    rebuild_grid(&context).map_err(startup)?;
    let purge = retention::PositionPurge::new(
        context.store.clone(),
        context.history.clone(),
        config.fleet.position_retention_days,
    );
    crate::retention::start(purge, context.clock.clone(), parent.clone()).await?;
    let trackers = start_entities::<VehicleTracker>(
        context.clone(),
        SupervisorConfig::from_config(config),
        parent,
    )
    .await?;
    Ok(LocationHandle { trackers, context })
}

/// Fills the grid from the `latest` and `listed` tables (one pass over each: start-up only).
fn rebuild_grid(context: &LocationContext) -> Result<(), storage::StorageError> {
    let (mut placed, mut listed) = (0usize, 0usize);
    for entry in context.latest.iter() {
        let (id, fix) = entry?;
        // Judged by the area configured now, which may differ from when the fix arrived.
        context.place(id, &fix);
        placed += 1;
    }
    let mut grid = context.grid.write();
    for entry in context.listed.iter() {
        let (id, is_listed) = entry?;
        grid.set_listed(id, is_listed);
        listed += usize::from(is_listed);
    }
    tracing::info!(cars = placed, listed, "location grid rebuilt");
    Ok(())
}

impl LocationHandle {
    /// Ingests a batch of fixes of one car (the gateway has authenticated the car's unit, so
    /// the car exists). Invalid fixes are reported by batch index and the valid ones kept.
    pub async fn record_positions(
        &self,
        vehicle_id: VehicleId,
        fixes: Vec<FixInput>,
    ) -> Result<IngestReport, LocationError> {
        if fixes.len() > MAX_BATCH {
            return Err(LocationError::BatchTooLarge {
                size: fixes.len(),
                max: MAX_BATCH,
            });
        }
        if fixes.is_empty() {
            return Ok(IngestReport::default());
        }
        let fixes: std::sync::Arc<[FixInput]> = fixes.into();
        let report = self
            .trackers
            .call_or_create(vehicle_id, |reply| TrackerMsg::Record {
                fixes: fixes.clone(),
                reply,
            })
            .await??;
        crate::metrics::fixes(
            report.accepted,
            report.duplicates,
            report.flagged,
            report.rejected.len(),
        );
        Ok(report)
    }

    /// The car's newest plausible position, if it ever sent one.
    pub async fn latest(&self, vehicle_id: VehicleId) -> Result<Option<Fix>, LocationError> {
        Ok(self.context.latest.get(&vehicle_id)?.map(|fix| fix.view()))
    }

    /// The car's newest battery report, if it ever sent one. A read of the store, no ask: the
    /// listings and every booking call it once per car.
    pub async fn battery(
        &self,
        vehicle_id: VehicleId,
    ) -> Result<Option<BatteryReport>, LocationError> {
        Ok(self
            .context
            .battery
            .get(&vehicle_id)?
            .map(|report| report.view()))
    }

    /// The car's fixes recorded in `[from, to)`, oldest first, at most `limit`; flagged fixes
    /// are included (and marked) because a track is also how one investigates them.
    pub async fn track(
        &self,
        vehicle_id: VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Fix>, LocationError> {
        let mut errors = Vec::new();
        if from >= to {
            errors.push(InvalidField::new("to", "the end must be after the start"));
        }
        if !(1..=MAX_TRACK).contains(&limit) {
            errors.push(InvalidField::new(
                "limit",
                "limit must be between 1 and 10000",
            ));
        }
        if !errors.is_empty() {
            return Err(LocationError::Invalid(errors));
        }
        self.context
            .history
            .range((vehicle_id, from)..(vehicle_id, to))
            .take(limit)
            .map(|entry| Ok(entry?.1.view()))
            .collect()
    }

    /// Deletes the car's position history recorded in `[from, to]` (both included): an erased
    /// customer's trip, so that it can no longer be linked to them. Idempotent (a second call
    /// finds nothing and answers 0) and durable before it answers; the number of fixes
    /// deleted. The car's latest position stays: it is the car's current place, needed to
    /// offer it to the next renter, and the next fix replaces it.
    pub async fn forget_window(
        &self,
        vehicle: VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<u64, LocationError> {
        if from > to {
            return Err(LocationError::Invalid(vec![InvalidField::new(
                "to",
                "the end must not be before the start",
            )]));
        }
        let answer = self
            .trackers
            .call(vehicle, |reply| TrackerMsg::Forget { from, to, reply })
            .await;
        match answer {
            Ok(result) => result,
            // A car that never sent a fix (nor was listed) has nothing to forget.
            Err(AskError::NotFound { .. }) => Ok(0),
            Err(error) => Err(error.into()),
        }
    }

    /// Records whether the car is offered to customers (the vehicles service calls this after
    /// every status change). Durable before it returns.
    pub async fn set_listed(
        &self,
        vehicle_id: VehicleId,
        listed: bool,
    ) -> Result<(), LocationError> {
        self.trackers
            .call_or_create(vehicle_id, |reply| TrackerMsg::SetListed { listed, reply })
            .await?
    }

    /// The listed cars within `radius_m` metres of the point, nearest first, at most `limit`.
    /// Cars whose latest position is outside the service area are never offered.
    pub async fn nearby(
        &self,
        lat: f64,
        lon: f64,
        radius_m: f64,
        limit: usize,
    ) -> Result<Vec<NearbyVehicle>, LocationError> {
        validate_search(lat, lon, radius_m, limit)?;
        if !self.context.area.contains(lat, lon) {
            return Err(LocationError::OutsideServiceArea);
        }
        let candidates = self.context.grid.read().within(lat, lon, radius_m);
        let mut found = Vec::with_capacity(limit.min(candidates.len()));
        for (vehicle_id, _) in candidates {
            if found.len() == limit {
                break;
            }
            // The store, not the grid, gives the fix: the car may have moved since the grid
            // was read, so its distance is measured again from what is returned.
            let Some(stored) = self.context.latest.get(&vehicle_id)? else {
                continue;
            };
            let distance_m = fix::distance_m(lat, lon, stored.lat, stored.lon);
            if distance_m <= radius_m && self.context.area.contains(stored.lat, stored.lon) {
                found.push(NearbyVehicle {
                    vehicle_id,
                    fix: stored.view(),
                    distance_m,
                });
            }
        }
        found.sort_by(|a, b| {
            a.distance_m
                .total_cmp(&b.distance_m)
                .then(a.vehicle_id.cmp(&b.vehicle_id))
        });
        Ok(found)
    }

    /// The configured service area.
    pub fn service_area(&self) -> &ServiceArea {
        &self.context.area
    }

    /// Counters of the tracker actors (for metrics).
    pub fn stats(&self) -> EntityStats {
        self.trackers.stats()
    }

    /// Whether the service is running (readiness).
    pub fn ping(&self) -> Result<(), AskError> {
        self.trackers.ping()
    }
}

/// Checks a search's parameters, reporting every bad one.
fn validate_search(lat: f64, lon: f64, radius_m: f64, limit: usize) -> Result<(), LocationError> {
    let mut errors = Vec::new();
    if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
        errors.push(InvalidField::new(
            "lat",
            "latitude must be between -90 and 90",
        ));
    }
    if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
        errors.push(InvalidField::new(
            "lon",
            "longitude must be between -180 and 180",
        ));
    }
    if !(radius_m.is_finite() && (1.0..=MAX_RADIUS_M).contains(&radius_m)) {
        errors.push(InvalidField::new(
            "radius_m",
            "radius must be between 1 and 50000 metres",
        ));
    }
    if !(1..=MAX_NEARBY).contains(&limit) {
        errors.push(InvalidField::new(
            "limit",
            "limit must be between 1 and 200",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(LocationError::Invalid(errors))
    }
}

#[cfg(test)]
mod battery_tests;
#[cfg(test)]
mod privacy_tests;
#[cfg(test)]
mod tests;
