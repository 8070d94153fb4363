//! Vehicles: the fleet.
//!
//! - **Owns** the `vehicles` store: one record per car, a by-status table (listings without a
//!   fleet scan), and the unique index of plates. Retired cars stay, plates included: a
//!   reservation or an invoice may point at them years later.
//! - **Durability**: every change is durable (`commit().await`) before it is answered.
//! - **Events**: a registration and a retirement write `vehicle.registered` and
//!   `vehicle.retired` to the store's outbox in the car's own transaction (`events.rs`).
//! - **Listing**: a car is offered to customers while `available`. After every durable status
//!   change this service tells location (`set_listed`), which persists the flag itself, so
//!   nothing needs replaying at start.
//! - **Tracker ids**: a car may also carry the id its OsmAnd tracker (Traccar Client and the
//!   like) reports; a unique index maps it back to the car, and the OsmAnd listener resolves
//!   every request through it. The id is the tracker's only credential (the protocol has no
//!   other), hence the length rule, and only admins see it. Retiring a car frees its id.
//! - **Device credential**: each car's unit gets a random 256-bit token at registration,
//!   returned once; only its SHA-256 is stored, and it is checked in constant time on every
//!   position request (a fast hash suffices for a full-entropy secret).
//! - **Depends on** location (positions, nearby search) and, bound late, reservations (which
//!   cars are booked; and a retirement, which reservations checks and records in the car's
//!   own turn before the car is marked retired here).
//!
//! Changes go through one `VehicleEntity` actor per car; reads go straight to the store.

mod battery;
mod charge;
mod entity;
mod error;
mod events;
mod model;
mod rules;
mod token;
mod upgrade;

use std::collections::HashSet;
use std::ops::Bound;

use chrono::{DateTime, TimeDelta, Utc};
use storage::{StorageError, Store};
use uuid::Uuid;

pub use battery::{BatteryAssessment, BatteryPolicy, BatteryRefusal, BatteryState};
pub use error::VehiclesError;
pub use model::{
    NearbyVehicle, NewVehicle, Page, Registered, Vehicle, VehicleFilter, VehiclePatch,
    VehicleStatus,
};

use crate::ask::AskError;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::domain::{InvalidField, Plate};
use crate::entity::{EntityRef, EntityStats, SupervisorConfig, start_entities};
use crate::ids::VehicleId;
use crate::location::{self, LocationHandle};
use crate::ports::{LateBound, ReservationLookup};
use entity::{VehicleEntity, VehicleMsg, VehiclesContext};
use model::VehicleRecord;

/// Most cars one page or one search returns.
pub const MAX_PAGE: usize = 200;

/// Table name of the current stored layout of cars (see `upgrade` for the first one's).
const VEHICLES: &str = "vehicles_v2";

/// Cars asked of location per car wanted by a nearby search: room for the ones reservations
/// then reports as booked.
const NEARBY_OVERFETCH: usize = 3;

/// The vehicles service's API. Cheap to clone.
#[derive(Clone)]
pub struct VehiclesHandle {
    entities: EntityRef<VehicleEntity>,
    context: VehiclesContext,
    min_rental: TimeDelta,
    battery: BatteryPolicy,
}

/// Starts the vehicles service under `parent`. `reservations` is bound once the reservations
/// service runs; until then, the operations that need it answer `Ask(Unavailable)`.
pub async fn start(
    store: Store,
    location: LocationHandle,
    reservations: LateBound<dyn ReservationLookup>,
    clock: SharedClock,
    config: &Config,
    parent: Option<ractor::ActorCell>,
) -> Result<VehiclesHandle, ractor::SpawnErr> {
    let startup = |error: StorageError| ractor::SpawnErr::StartupFailed(error.into());
    let context = VehiclesContext {
        vehicles: store.table(VEHICLES).map_err(startup)?,
        by_status: store.table("vehicles_by_status").map_err(startup)?,
        plates: store.unique_index("plates").map_err(startup)?,
        trackers: store.unique_index("trackers").map_err(startup)?,
        store,
        location,
        reservations,
        clock,
    };
    upgrade::move_vehicles(&context.store, &context.vehicles).map_err(startup)?;
    let entities = start_entities::<VehicleEntity>(
        context.clone(),
        SupervisorConfig::from_config(config),
        parent,
    )
    .await?;
    Ok(VehiclesHandle {
        entities,
        context,
        min_rental: TimeDelta::hours(i64::from(config.rental.min_hours)),
        battery: BatteryPolicy::from_config(&config.fleet),
    })
}

impl VehiclesHandle {
    /// Adds a car to the fleet, available at once. Every invalid field is reported together;
    /// a plate already in the fleet (retired cars included) is a conflict.
    pub async fn register(&self, new: NewVehicle) -> Result<Registered, VehiclesError> {
        let valid =
            rules::validate_new(&new, self.context.clock.now()).map_err(VehiclesError::Invalid)?;
        // A cheap early answer for the common conflict; the transaction is the real guard.
        if self.context.plates.get(&valid.plate.to_string())?.is_some() {
            return Err(VehiclesError::Conflict { field: "plate" });
        }
        let (device_token, token_sha256) = token::new_device_token();
        let vehicle = self
            .entities
            .call_or_create(VehicleId::new(), |reply| VehicleMsg::Register {
                vehicle: valid.clone(),
                token_sha256,
                reply,
            })
            .await??;
        Ok(Registered {
            vehicle,
            device_token,
        })
    }

    /// One car.
    pub async fn get(&self, id: VehicleId) -> Result<Vehicle, VehiclesError> {
        self.context
            .vehicles
            .get(&id)?
            .map(|record| record.view())
            .ok_or(VehiclesError::NotFound)
    }

    /// The car with this plate (any layout or case), if it is in the fleet.
    pub async fn find_by_plate(&self, plate: &str) -> Result<Option<Vehicle>, VehiclesError> {
        let plate = Plate::parse(plate).map_err(|error| VehiclesError::Invalid(vec![error]))?;
        match self.context.plates.get(&plate.to_string())? {
            Some(id) => Ok(self.context.vehicles.get(&id)?.map(|record| record.view())),
            None => Ok(None),
        }
    }

    /// Cars in registration order, `limit` (1..=200) at a time, after the cursor `after`.
    pub async fn list(
        &self,
        filter: VehicleFilter,
        limit: usize,
        after: Option<VehicleId>,
    ) -> Result<Page<Vehicle>, VehiclesError> {
        check_limit(limit)?;
        type Records<'a> =
            Box<dyn Iterator<Item = Result<Option<VehicleRecord>, StorageError>> + 'a>;
        let records: Records<'_> = match filter.status {
            Some(status) => {
                let vehicles = &self.context.vehicles;
                Box::new(
                    self.ids_with_status(status, after)
                        .map(move |id| vehicles.get(&id?)),
                )
            }
            None => {
                let start = after.map_or(Bound::Unbounded, Bound::Excluded);
                Box::new(
                    self.context
                        .vehicles
                        .range((start, Bound::Unbounded))
                        .map(|entry| entry.map(|(_, record)| Some(record))),
                )
            }
        };
        let mut items = Vec::with_capacity(limit);
        let mut more = false;
        for record in records {
            let Some(record) = record? else {
                continue;
            };
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(record.view());
        }
        Ok(page(items, more))
    }

    /// Changes a car (rate, model, colour, tracker id, or status between available and
    /// maintenance). A tracker id another car holds is a conflict on `tracker_id`.
    pub async fn update(
        &self,
        id: VehicleId,
        patch: VehiclePatch,
    ) -> Result<Vehicle, VehiclesError> {
        let patch = rules::validate_patch(&patch).map_err(VehiclesError::Invalid)?;
        self.entities
            .call(id, |reply| VehicleMsg::Update {
                patch: patch.clone(),
                reply,
            })
            .await?
    }

    /// Takes a car out of the fleet for good; refused while it has unfinished reservations.
    /// Retiring a retired car answers it as it is. Reservations first closes the car to
    /// bookings in the same step as it checks it has none open (so no booking can be confirmed
    /// on a retiring car); only then is the car marked retired here.
    pub async fn retire(&self, id: VehicleId) -> Result<Vehicle, VehiclesError> {
        self.entities
            .call(id, |reply| VehicleMsg::Retire { reply })
            .await?
    }

    /// Whether `token` is the credential of the car's unit. An unknown or retired car has no
    /// valid credential. Reads the store directly: this runs on every position request.
    pub async fn verify_device(
        &self,
        vehicle_id: VehicleId,
        token: &str,
    ) -> Result<bool, VehiclesError> {
        Ok(match self.context.vehicles.get(&vehicle_id)? {
            Some(record) => {
                let matches = token::matches(token, &record.device_token_sha256);
                matches && record.status != VehicleStatus::Retired
            }
            None => false,
        })
    }

    /// The car whose OsmAnd tracker reports as `tracker_id`, if one in the fleet has it. Reads
    /// the index and the record directly (every OsmAnd request lands here) and answers a car
    /// only if its record still names this id and it is not retired: an id moved to another
    /// car between the two reads resolves to nothing (the tracker's retry finds the new car),
    /// never to the wrong car.
    pub async fn resolve_tracker(
        &self,
        tracker_id: &str,
    ) -> Result<Option<VehicleId>, VehiclesError> {
        if !rules::is_tracker_id(tracker_id) {
            return Ok(None);
        }
        let Some(id) = self.context.trackers.get(&tracker_id.to_owned())? else {
            return Ok(None);
        };
        Ok(self
            .context
            .vehicles
            .get(&id)?
            .filter(|record| {
                record.status != VehicleStatus::Retired
                    && record.tracker_id.as_deref() == Some(tracker_id)
            })
            .map(|_| id))
    }

    /// Available cars near the point that are not booked for the next shortest rental and
    /// whose battery is not low, nearest first, at most `limit` (1..=200).
    pub async fn nearby_available(
        &self,
        lat: f64,
        lon: f64,
        radius_m: f64,
        limit: usize,
    ) -> Result<Vec<NearbyVehicle>, VehiclesError> {
        check_limit(limit)?;
        let wanted = (limit * NEARBY_OVERFETCH).min(location::MAX_NEARBY);
        let candidates = self
            .context
            .location
            .nearby(lat, lon, radius_m, wanted)
            .await?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.context.clock.now();
        let ids = candidates.iter().map(|car| car.vehicle_id).collect();
        let busy = self.busy(ids, now, now + self.min_rental).await?;
        let mut found = Vec::with_capacity(limit);
        for candidate in candidates {
            if found.len() == limit {
                break;
            }
            if busy.contains(&candidate.vehicle_id) {
                continue;
            }
            // The store has the last word on the status (the listing may lag a moment).
            match self.context.vehicles.get(&candidate.vehicle_id)? {
                Some(record) if record.status == VehicleStatus::Available => {
                    let vehicle = record.view();
                    let battery = self.battery_of(&vehicle).await?;
                    if battery.is_offered() {
                        found.push(NearbyVehicle {
                            vehicle,
                            position: candidate.fix,
                            distance_m: candidate.distance_m,
                            battery,
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(found)
    }

    /// Available cars with no reservation overlapping `[from, to)` and whose battery is not
    /// low, in registration order,
    /// `limit` (1..=200) at a time after the cursor `after`.
    pub async fn list_available(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
        after: Option<VehicleId>,
    ) -> Result<Page<Vehicle>, VehiclesError> {
        let mut errors = Vec::new();
        if from >= to {
            errors.push(InvalidField::new(
                "available_to",
                "the end must be after the start",
            ));
        }
        if !(1..=MAX_PAGE).contains(&limit) {
            errors.push(limit_error());
        }
        if !errors.is_empty() {
            return Err(VehiclesError::Invalid(errors));
        }
        // Reservations is asked a chunk at a time: one ask per chunk, not per car.
        let chunk_size = (limit * 2).max(50);
        let mut cursor = after;
        let mut items = Vec::with_capacity(limit);
        loop {
            let chunk = self
                .ids_with_status(VehicleStatus::Available, cursor)
                .take(chunk_size)
                .collect::<Result<Vec<_>, _>>()?;
            let Some(&last) = chunk.last() else {
                return Ok(page(items, false));
            };
            let busy = self.busy(chunk.clone(), from, to).await?;
            for (position, id) in chunk.iter().enumerate() {
                if busy.contains(id) {
                    continue;
                }
                if let Some(record) = self.context.vehicles.get(id)? {
                    let vehicle = record.view();
                    if self.battery_of(&vehicle).await?.is_offered() {
                        items.push(vehicle);
                    }
                }
                if items.len() == limit {
                    let more = position + 1 < chunk.len()
                        || self
                            .ids_with_status(VehicleStatus::Available, Some(*id))
                            .next()
                            .is_some();
                    return Ok(page(items, more));
                }
            }
            if chunk.len() < chunk_size {
                return Ok(page(items, false));
            }
            cursor = Some(last);
        }
    }

    /// Counters of the vehicle actors (for metrics).
    pub fn stats(&self) -> EntityStats {
        self.entities.stats()
    }

    /// Whether the service is running (readiness).
    pub fn ping(&self) -> Result<(), AskError> {
        self.entities.ping()
    }

    /// Ids of the cars in `status`, in id order, after `after`.
    fn ids_with_status(
        &self,
        status: VehicleStatus,
        after: Option<VehicleId>,
    ) -> impl Iterator<Item = Result<VehicleId, StorageError>> + use<> {
        let code = status.code();
        let start = after.map_or(Bound::Included((code, VehicleId(Uuid::nil()))), |id| {
            Bound::Excluded((code, id))
        });
        self.context
            .by_status
            .range((start, Bound::Included((code, VehicleId(Uuid::max())))))
            .map(|entry| entry.map(|((_, id), ())| id))
    }

    async fn busy(
        &self,
        ids: Vec<VehicleId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<HashSet<VehicleId>, VehiclesError> {
        let reservations = self
            .context
            .reservations
            .get()
            .map_err(VehiclesError::Ask)?;
        reservations
            .busy(ids, from, to)
            .await
            .map_err(VehiclesError::Ask)
    }
}

fn page(items: Vec<Vehicle>, more: bool) -> Page<Vehicle> {
    let next_cursor = if more {
        items.last().map(|vehicle| vehicle.id)
    } else {
        None
    };
    Page { items, next_cursor }
}

fn limit_error() -> InvalidField {
    InvalidField::new("limit", "limit must be between 1 and 200")
}

fn check_limit(limit: usize) -> Result<(), VehiclesError> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(())
    } else {
        Err(VehiclesError::Invalid(vec![limit_error()]))
    }
}

#[cfg(test)]
mod tests;
