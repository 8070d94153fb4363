//! A car's rentals: the one actor per car that books it and decides who may open it.
//!
//! Every change to a car's reservations passes through this actor, in order: booking (with its
//! card hold), unlock and lock, cancel, release, no-show and the automatic end. Because it is
//! the single writer of those facts, a check and the write it leads to can never be separated
//! by another change: a cancel that arrives while an unlock is with the unit waits for the
//! unit's answer (and then finds the rental under way), and an unlock that arrives during a
//! release finds the car released.
//!
//! Before a command leaves, the actor raises the car's fencing number and writes the command
//! down as in flight, durably; it clears the mark with the outcome. A restart in between finds
//! the mark and asks locks what became of the command before doing anything else for the car.
//!
//! The actor keeps the car's open reservations in memory (a handful), loaded at activation;
//! it is their only writer, so the copy cannot go stale.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use ractor::RpcReplyPort;

use crate::billing::BillingHandle;
use crate::clock::SharedClock;
use crate::commands::{CommandRecord, LockAction};
use crate::customers::CustomersHandle;
use crate::entity::{Activation, ActorProcessingErr, Entity};
use crate::ids::{CustomerId, ReservationId, VehicleId};
use crate::ports::CarCommands;

use super::Requester;
use super::car_retirement::Retirement;
use super::deadlines::DeadlineSender;
use super::domain_events::BookedCar;
use super::error::ReservationsError;
use super::faults::Faults;
use super::model::{DeadlineKind, IdempotencyRecord, InFlight, ReservationRecord};
use super::rules::RentalRules;
use super::tables::{Change, Tables, tx_storage};

type Reply<T> = RpcReplyPort<Result<T, ReservationsError>>;

/// A booking ready to be written once its hold is placed: the new record, its idempotency
/// key, the card to hold on, and the car as the booking read it (for its event).
#[derive(Clone)]
pub(crate) struct Booking {
    pub(crate) record: ReservationRecord,
    pub(crate) idempotency: Option<(String, IdempotencyRecord)>,
    pub(crate) card_token: String,
    pub(crate) car: BookedCar,
}

/// Never prints the card token (it would end up in logs).
impl std::fmt::Debug for Booking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Booking")
            .field("record", &self.record)
            .field("idempotency", &self.idempotency)
            .field("card_token", &"<redacted>")
            .field("car", &self.car)
            .finish()
    }
}

/// What a deadline came to: done, or to be fired again at the given instant.
pub(crate) type DeadlineOutcome = Option<DateTime<Utc>>;

/// Messages of a car's rentals.
pub(crate) enum CarMsg {
    /// Book the car, holding the amount on the card (confirmed or rejected, written once).
    Book {
        booking: Box<Booking>,
        reply: Reply<ReservationRecord>,
    },
    /// Move the end of a reservation later, holding the added time (see `car_extension`).
    Extend {
        request: Box<super::car_extension::ExtensionRequest>,
        reply: Reply<ReservationRecord>,
    },
    /// The renter unlocks or locks the car.
    Command {
        customer: CustomerId,
        action: LockAction,
        reply: Reply<CommandRecord>,
    },
    /// Cancel before the start.
    Cancel {
        requester: Requester,
        reservation: ReservationId,
        reply: Reply<ReservationRecord>,
    },
    /// The renter releases the car, or an operator ends the rental by force: lock it,
    /// settle, complete.
    Finish {
        ending: Ending,
        reservation: ReservationId,
        reply: Reply<ReservationRecord>,
    },
    /// A persisted deadline of one of the car's reservations is due.
    Deadline {
        reservation: ReservationId,
        at: DateTime<Utc>,
        kind: DeadlineKind,
        reply: Reply<DeadlineOutcome>,
    },
    /// Resolve a command left in flight by a restart.
    Reconcile { reply: Reply<()> },
    /// Close the car to bookings for good, unless a reservation of it is open (see
    /// `car_retirement`).
    Retire { reply: Reply<Retirement> },
}

/// Who ends a rental.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The renter, where the car stands: refused outside the service area, while moving, or
    /// when the doors do not lock.
    Renter(CustomerId),
    /// An operator, by force, for the reason given: none of the renter's checks blocks it.
    Forced { reason: String },
}

/// What a car's rentals need.
#[derive(Clone)]
pub(crate) struct CarContext {
    pub(crate) tables: Tables,
    pub(crate) clock: SharedClock,
    pub(crate) rules: RentalRules,
    pub(crate) billing: BillingHandle,
    pub(crate) customers: CustomersHandle,
    /// For the car's latest position when a rental ends.
    pub(crate) location: crate::location::LocationHandle,
    pub(crate) commands: Arc<dyn CarCommands>,
    pub(crate) deadlines: DeadlineSender,
    pub(crate) faults: Faults,
    pub(crate) busy: CommandsUnderWay,
}

/// The cars whose rentals actor is waiting on a unit right now, so that another command for
/// the car can be refused at once instead of queueing behind it (memory only: after a restart
/// nothing is under way).
#[derive(Clone, Default)]
pub(crate) struct CommandsUnderWay(Arc<std::sync::Mutex<std::collections::HashSet<VehicleId>>>);

impl CommandsUnderWay {
    fn set(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<VehicleId>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a command to `vehicle` is with its unit.
    pub(crate) fn contains(&self, vehicle: VehicleId) -> bool {
        self.set().contains(&vehicle)
    }

    /// Marks `vehicle` busy until the guard is dropped.
    pub(crate) fn enter(&self, vehicle: VehicleId) -> UnderWay {
        self.set().insert(vehicle);
        UnderWay {
            set: self.clone(),
            vehicle,
        }
    }
}

/// A command under way; dropping it (whatever the outcome, even a panic) clears the mark.
pub(crate) struct UnderWay {
    set: CommandsUnderWay,
    vehicle: VehicleId,
}

impl Drop for UnderWay {
    fn drop(&mut self) {
        self.set.set().remove(&self.vehicle);
    }
}

/// A car's rentals while active.
pub(crate) struct CarRentals {
    pub(super) vehicle: VehicleId,
    /// The car's open reservations (pending payment, confirmed, active), by start.
    pub(super) open: Vec<ReservationRecord>,
    /// The fencing number of the car's latest command.
    pub(super) fence: u64,
    /// The command ordered and not reported back yet.
    pub(super) in_flight: Option<InFlight>,
    /// Whether the car is retired: it takes no booking any more.
    pub(super) retired: bool,
    /// The unlock in flight already reported as `unlock.failed` (`unavailable`), so that its
    /// reconciliation does not report it again (memory only, see `car_commands`).
    pub(super) unlock_reported: Option<crate::ids::CommandId>,
}

impl Entity for CarRentals {
    type Id = VehicleId;
    type Msg = CarMsg;
    type Context = CarContext;
    const KIND: &'static str = "car rentals";

    async fn activate(
        id: VehicleId,
        activation: Activation,
        context: &CarContext,
    ) -> Result<Option<Self>, ActorProcessingErr> {
        let tables = &context.tables;
        let mut open = Vec::new();
        for entry in tables.car_entries(id)? {
            if let Some(record) = tables.reservations.get(&entry.reservation_id)? {
                open.push(record);
            }
        }
        let fence = tables.car_fences.get(&id)?;
        let in_flight = tables.in_flight.get(&id)?;
        let retired = tables.retired_cars.contains(&id)?;
        if activation == Activation::Existing && open.is_empty() && fence.is_none() && !retired {
            // Nothing was ever booked or commanded on this car: no actor for a random id.
            return Ok(None);
        }
        Ok(Some(CarRentals {
            vehicle: id,
            open,
            fence: fence.unwrap_or(0),
            in_flight,
            retired,
            unlock_reported: None,
        }))
    }

    async fn handle(
        &mut self,
        message: CarMsg,
        context: &CarContext,
    ) -> Result<(), ActorProcessingErr> {
        macro_rules! answer {
            ($reply:expr, $result:expr) => {{
                let result = $result;
                let failed = matches!(result, Err(ReservationsError::Storage(_)));
                let _ = $reply.send(result);
                failed
            }};
        }
        context.faults.stop_if_dead();
        let store_failed = match message {
            CarMsg::Book { booking, reply } => answer!(reply, self.book(*booking, context).await),
            CarMsg::Extend { request, reply } => {
                answer!(reply, self.extend(*request, context).await)
            }
            CarMsg::Command {
                customer,
                action,
                reply,
            } => answer!(reply, self.command(customer, action, context).await),
            CarMsg::Cancel {
                requester,
                reservation,
                reply,
            } => answer!(reply, self.cancel(requester, reservation, context).await),
            CarMsg::Finish {
                ending,
                reservation,
                reply,
            } => answer!(reply, self.finish(ending, reservation, context).await),
            CarMsg::Deadline {
                reservation,
                at,
                kind,
                reply,
            } => answer!(reply, self.deadline(reservation, at, kind, context).await),
            CarMsg::Reconcile { reply } => answer!(reply, self.reconcile(context).await),
            CarMsg::Retire { reply } => answer!(reply, self.retire(context).await),
        };
        if store_failed {
            // The memory may be ahead of the disk: restart from the store.
            return Err(format!("reservations store failed for car {}", self.vehicle).into());
        }
        Ok(())
    }
}

impl CarRentals {
    /// Writes `change` and waits until it is durable.
    pub(super) async fn save(
        &self,
        change: &Change<'_>,
        context: &CarContext,
    ) -> Result<(), ReservationsError> {
        context.tables.write(change).map_err(tx_storage)?;
        context.tables.store.commit().await?;
        Ok(())
    }

    /// Arms the deadlines a saved change added.
    pub(super) fn arm(
        &self,
        reservation: ReservationId,
        added: &[(DateTime<Utc>, DeadlineKind)],
        context: &CarContext,
    ) {
        for (at, kind) in added {
            context.deadlines.arm(*at, reservation, *kind);
        }
    }

    /// The open reservation `id`, if it is this car's.
    pub(super) fn open_record(&self, id: ReservationId) -> Option<&ReservationRecord> {
        self.open.iter().find(|record| record.id == id)
    }

    /// Adopts a saved record: kept while open, dropped once closed.
    pub(super) fn adopt(&mut self, record: ReservationRecord) {
        self.open.retain(|open| open.id != record.id);
        if record.status.is_open() {
            self.open.push(record);
            self.open.sort_by_key(|open| open.start_at);
        }
    }

    /// The record `id` from memory if open, else from the store.
    pub(super) fn any_record(
        &self,
        id: ReservationId,
        context: &CarContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        match self.open_record(id) {
            Some(record) => Ok(record.clone()),
            None => context
                .tables
                .reservations
                .get(&id)?
                .filter(|record| record.vehicle_id == self.vehicle)
                .ok_or(ReservationsError::NotFound),
        }
    }
}

/// The no-show deadline of a confirmed reservation: its end.
pub(crate) fn no_show_deadline(record: &ReservationRecord) -> (DateTime<Utc>, DeadlineKind) {
    (record.end_at, DeadlineKind::NoShow)
}

/// The automatic end of an active rental.
pub(crate) fn auto_end_deadline(
    record: &ReservationRecord,
    rules: &RentalRules,
) -> (DateTime<Utc>, DeadlineKind) {
    (record.end_at + rules.auto_end_after, DeadlineKind::AutoEnd)
}

/// How soon an unfinished settlement is tried again.
pub(crate) const SETTLE_RETRY: TimeDelta = TimeDelta::minutes(1);
/// The longest pause between two tries of a settlement (see [`settle_retry_at`]).
pub(crate) const SETTLE_RETRY_CAP: TimeDelta = TimeDelta::hours(1);

/// When to try a pending settlement again, its last try made at `record.updated_at`:
/// exponential backoff without a stored counter, each pause as long as the time since the
/// reservation ended (so 1, 1, 2, 4, 8… minutes), at least [`SETTLE_RETRY`] and at most
/// [`SETTLE_RETRY_CAP`], all on the service clock.
pub(crate) fn settle_retry_at(record: &ReservationRecord) -> DateTime<Utc> {
    let ended = record.released_at.unwrap_or(record.start_at);
    let pause = (record.updated_at - ended).clamp(SETTLE_RETRY, SETTLE_RETRY_CAP);
    record.updated_at + pause
}
