//! `VehicleEntity`: the actor through which every change to one car goes, so that two admins
//! changing the same car are serialised, and a car's status and its listing in location
//! change in the same order.

use std::convert::Infallible;
use std::time::Duration;

use ractor::RpcReplyPort;
use storage::{StorageError, Store, Table, TxError, UniqueIndex};

use super::error::VehiclesError;
use super::events;
use super::model::{Vehicle, VehicleRecord, VehicleStatus};
use super::rules::{self, Refusal, ValidPatch, ValidVehicle};
use crate::clock::SharedClock;
use crate::entity::{Activation, ActorProcessingErr, Entity};
use crate::ids::VehicleId;
use crate::location::LocationHandle;
use crate::ports::{LateBound, ReservationLookup};

/// Key of the by-status table: (status code, car), so a prefix scan lists one status in id
/// (registration) order without reading every car.
pub(crate) type StatusKey = (u8, VehicleId);

/// What every vehicle actor (and the handle, for reads) shares.
#[derive(Clone)]
pub(crate) struct VehiclesContext {
    pub(crate) store: Store,
    pub(crate) vehicles: Table<VehicleId, VehicleRecord>,
    pub(crate) by_status: Table<StatusKey, ()>,
    /// Canonical plate → car. Retired cars keep their claim: the plate is their history.
    pub(crate) plates: UniqueIndex<String, VehicleId>,
    /// OsmAnd tracker id → car, claimed and released in the same transaction as the car's
    /// record changes; retiring a car releases its claim.
    pub(crate) trackers: UniqueIndex<String, VehicleId>,
    pub(crate) location: LocationHandle,
    pub(crate) reservations: LateBound<dyn ReservationLookup>,
    pub(crate) clock: SharedClock,
}

/// The messages of a vehicle actor.
pub(crate) enum VehicleMsg {
    /// Store a newly registered car under this (fresh) id.
    Register {
        vehicle: ValidVehicle,
        token_sha256: [u8; 32],
        reply: RpcReplyPort<Result<Vehicle, VehiclesError>>,
    },
    /// Apply a validated patch.
    Update {
        patch: ValidPatch,
        reply: RpcReplyPort<Result<Vehicle, VehiclesError>>,
    },
    /// Take the car out of the fleet.
    Retire {
        reply: RpcReplyPort<Result<Vehicle, VehiclesError>>,
    },
}

/// One car while it is being changed. `record` is `None` only for a fresh id activated to be
/// registered.
pub(crate) struct VehicleEntity {
    id: VehicleId,
    record: Option<VehicleRecord>,
}

impl Entity for VehicleEntity {
    type Id = VehicleId;
    type Msg = VehicleMsg;
    type Context = VehiclesContext;
    const KIND: &'static str = "vehicle";

    async fn activate(
        id: VehicleId,
        activation: Activation,
        context: &VehiclesContext,
    ) -> Result<Option<Self>, ActorProcessingErr> {
        let record = context.vehicles.get(&id)?;
        if record.is_none() && activation == Activation::Existing {
            return Ok(None);
        }
        Ok(Some(VehicleEntity { id, record }))
    }

    async fn handle(
        &mut self,
        message: VehicleMsg,
        context: &VehiclesContext,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            VehicleMsg::Register {
                vehicle,
                token_sha256,
                reply,
            } => {
                let result = self.register(vehicle, token_sha256, context).await;
                let _ = reply.send(result);
            }
            VehicleMsg::Update { patch, reply } => {
                let result = self.update(&patch, context).await;
                let _ = reply.send(result);
            }
            VehicleMsg::Retire { reply } => {
                let result = self.retire(context).await;
                let _ = reply.send(result);
            }
        }
        Ok(())
    }
}

impl VehicleEntity {
    async fn register(
        &mut self,
        vehicle: ValidVehicle,
        token_sha256: [u8; 32],
        context: &VehiclesContext,
    ) -> Result<Vehicle, VehiclesError> {
        if let Some(existing) = &self.record {
            // Only a re-sent ask (the first answer was lost) finds its own record here.
            return if existing.device_token_sha256 == token_sha256 {
                Ok(existing.view())
            } else {
                Err(VehiclesError::Conflict { field: "id" })
            };
        }
        let now = context.clock.now();
        let record = VehicleRecord {
            id: self.id,
            plate: vehicle.plate.to_string(),
            model: vehicle.model,
            year: vehicle.year,
            hourly_rate_cents: vehicle.hourly_rate_cents,
            battery_kwh: vehicle.battery_kwh,
            range_km: vehicle.range_km,
            color: vehicle.color,
            status: VehicleStatus::Available,
            device_token_sha256: token_sha256,
            created_at: now,
            updated_at: now,
            retired_at: None,
            tracker_id: None,
        };
        let outbox = context.store.outbox();
        let written = context.store.transaction::<(), Infallible>(
            &[
                &context.vehicles,
                &context.by_status,
                &context.plates,
                outbox.member(),
            ],
            |tx| {
                // The claim is what makes two registrations of one plate race safely: sled
                // serialises the transactions and the second finds the plate taken.
                tx.index(&context.plates)?.claim(&record.plate, &self.id)?;
                let vehicles = tx.table(&context.vehicles)?;
                let before = vehicles.get(&self.id)?;
                vehicles.insert(&self.id, &record)?;
                tx.table(&context.by_status)?
                    .insert(&(record.status.code(), self.id), &())?;
                append_caused(outbox, tx, before.as_ref(), &record, now)?;
                Ok(())
            },
        );
        match written {
            Ok(()) => {}
            Err(TxError::Storage(StorageError::Conflict { .. })) => {
                return Err(VehiclesError::Conflict { field: "plate" });
            }
            Err(TxError::Storage(error)) => return Err(error.into()),
            Err(TxError::Aborted(never)) => match never {},
        }
        self.record = Some(record.clone());
        context.store.commit().await?;
        tracing::info!(vehicle = %self.id, plate = %record.plate, "vehicle registered");
        sync_listing(context, self.id, rules::is_listed(record.status)).await;
        Ok(record.view())
    }

    async fn update(
        &mut self,
        patch: &ValidPatch,
        context: &VehiclesContext,
    ) -> Result<Vehicle, VehiclesError> {
        let current = self.record.as_ref().ok_or(VehiclesError::NotFound)?;
        let changed = rules::apply_patch(current, patch, context.clock.now()).map_err(
            |refusal| match refusal {
                Refusal::Retired => VehiclesError::Retired,
            },
        )?;
        if changed == *current {
            return Ok(changed.view());
        }
        let status_changed = changed.status != current.status;
        self.store(changed, context).await?;
        let record = self.stored()?;
        if status_changed {
            sync_listing(context, self.id, rules::is_listed(record.status)).await;
        }
        Ok(record.view())
    }

    async fn retire(&mut self, context: &VehiclesContext) -> Result<Vehicle, VehiclesError> {
        let current = self.record.as_ref().ok_or(VehiclesError::NotFound)?;
        let Some(retired) = rules::retire(current, context.clock.now()) else {
            return Ok(current.view());
        };
        // Reservations closes the car to bookings in the same step as it checks that none is
        // open; only then is the car marked retired here (a booking cannot slip in between).
        let reservations = context.reservations.get().map_err(VehiclesError::Ask)?;
        if !reservations
            .retire_vehicle(self.id)
            .await
            .map_err(VehiclesError::Ask)?
        {
            return Err(VehiclesError::OpenReservations);
        }
        self.store(retired, context).await?;
        tracing::info!(vehicle = %self.id, "vehicle retired");
        sync_listing(context, self.id, false).await;
        Ok(self.stored()?.view())
    }

    fn stored(&self) -> Result<&VehicleRecord, VehiclesError> {
        self.record.as_ref().ok_or(VehiclesError::NotFound)
    }

    /// Writes a changed record (moving it in the by-status table and its tracker id in the
    /// trackers index), adopts it, and waits until it is durable. A tracker id held by another
    /// car is a conflict and nothing is written.
    async fn store(
        &mut self,
        changed: VehicleRecord,
        context: &VehiclesContext,
    ) -> Result<(), VehiclesError> {
        let current = self.stored()?;
        let (previous, previous_tracker) = (current.status, current.tracker_id.clone());
        let outbox = context.store.outbox();
        let at = changed.updated_at;
        context
            .store
            .transaction::<(), Infallible>(
                &[
                    &context.vehicles,
                    &context.by_status,
                    &context.trackers,
                    outbox.member(),
                ],
                |tx| {
                    if previous_tracker != changed.tracker_id {
                        let trackers = tx.index(&context.trackers)?;
                        if let Some(old) = &previous_tracker {
                            trackers.release(old, &self.id)?;
                        }
                        if let Some(new) = &changed.tracker_id {
                            trackers.claim(new, &self.id)?;
                        }
                    }
                    let vehicles = tx.table(&context.vehicles)?;
                    let before = vehicles.get(&self.id)?;
                    vehicles.insert(&self.id, &changed)?;
                    append_caused(outbox, tx, before.as_ref(), &changed, at)?;
                    if previous != changed.status {
                        let by_status = tx.table(&context.by_status)?;
                        by_status.remove(&(previous.code(), self.id))?;
                        by_status.insert(&(changed.status.code(), self.id), &())?;
                    }
                    Ok(())
                },
            )
            .map_err(|error| match error {
                // The only claim made here is the tracker id's.
                TxError::Storage(StorageError::Conflict { .. }) => VehiclesError::Conflict {
                    field: "tracker_id",
                },
                TxError::Storage(error) => VehiclesError::Storage(error),
                TxError::Aborted(never) => match never {},
            })?;
        // Adopted before the commit: the write is in the tree whether or not the flush works.
        self.record = Some(changed);
        context.store.commit().await?;
        Ok(())
    }
}

/// Appends the event that writing `after` over `before` causes, if any, in the running
/// transaction.
fn append_caused(
    outbox: &storage::Outbox,
    tx: &storage::Tx<'_>,
    before: Option<&VehicleRecord>,
    after: &VehicleRecord,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), storage::TxOpError> {
    match events::caused(before, after) {
        Some(data) => crate::events::append(outbox, tx, &[events::event(after, at, data)]),
        None => Ok(()),
    }
}

/// Tells location whether the car is offered, after the durable write. If location does not
/// answer, the car's status is already changed for good, so the caller gets its answer and a
/// background task keeps trying.
async fn sync_listing(context: &VehiclesContext, id: VehicleId, listed: bool) {
    if let Err(error) = context.location.set_listed(id, listed).await {
        tracing::warn!(vehicle = %id, %error, "cannot update the car's listing; retrying");
        tokio::spawn(retry_listing(context.clone(), id));
    }
}

/// Re-sends the car's listing until location has it. Each attempt sends the status stored
/// NOW and reads it again after sending: if an update slipped in between, its value is sent
/// again, so the last word location hears always matches the store. The back-off is real
/// time on purpose: it paces retries against a failing actor, not a rule of the domain.
async fn retry_listing(context: VehiclesContext, id: VehicleId) {
    let mut delay = Duration::from_millis(200);
    for _ in 0..10 {
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
        let Ok(Some(record)) = context.vehicles.get(&id) else {
            continue;
        };
        let listed = rules::is_listed(record.status);
        if context.location.set_listed(id, listed).await.is_err() {
            continue;
        }
        if let Ok(Some(again)) = context.vehicles.get(&id)
            && rules::is_listed(again.status) == listed
        {
            tracing::info!(vehicle = %id, listed, "car listing caught up");
            return;
        }
    }
    tracing::error!(vehicle = %id, "car listing may not match its status; the next status change fixes it");
}
