//! Reservations: who has which car when, who may open it, and the rental workflow that ties
//! the booking to billing and the car's commands.
//!
//! This service is the home of the rental workflow: it depends on customers, vehicles and
//! billing through their handles and on locks through the [`CarCommands`] port, and none of
//! them depends on it (customers and vehicles ask it questions through a late-bound port).
//! Booking is serialised per customer and then per car (see `calendar` and `car`), so no car and
//! no customer is ever booked twice for the same instant. Every later change to a car's
//! reservations (unlock, lock, cancel, release, no-show, automatic end) goes through the car's
//! one rentals actor, which is therefore the single writer of who may open the car. Every state
//! and every deadline is durable, so a restart resumes exactly where the workflow stood.

mod access;
mod battery;
mod calendar;
mod car;
mod car_booking;
mod car_commands;
mod car_endings;
mod car_extension;
mod car_release;
mod car_retirement;
mod deadline_scheduler;
mod deadlines;
mod domain_events;
mod erasure;
mod error;
mod extension;
mod faults;
mod lookup;
mod model;
mod pricing;
mod queries;
mod recovery;
mod retention;
mod return_rules;
mod rules;
mod tables;
#[cfg(test)]
mod tests;
mod trips;

use std::sync::Arc;
use std::time::Duration;

use ractor::ActorCell;
use storage::Store;

use crate::ask::ASK_TIMEOUT;
use crate::billing::{BillingHandle, ChargeSummary};
use crate::clock::SharedClock;
use crate::commands::{CommandRecord, LockAction};
use crate::config::Config;
use crate::customers::CustomersHandle;
use crate::domain::Cents;
use crate::entity::{EntityRef, EntityStats, SupervisorConfig, start_entities};
use crate::error_kind::Kinded;
use crate::ids::{CustomerId, ReservationId, VehicleId};
use crate::ports::CarCommands;
use crate::vehicles::{VehicleStatus, VehiclesHandle};

use calendar::{Booked, CustomerSchedule, ScheduleContext, ScheduleMsg};
use car::{CarContext, CarMsg, CarRentals, Ending};
pub use erasure::ErasureError;
pub use error::{AccessDenied, ReservationsError};
pub use lookup::{AccessWindow, Occupancy, RentalWindow, ReservationsAudit};
pub use model::{EndedBy, Money, NewReservation, Page, Requester, Reservation, ReservationStatus};
use model::{IdempotencyRecord, ReservationRecord};
pub use rules::RentalRules;
use tables::Tables;
pub use trips::Trip;

/// Filters of the admin list.
#[derive(Debug, Clone, Default)]
pub struct ReservationFilter {
    /// Only this status.
    pub status: Option<ReservationStatus>,
    /// Only this car.
    pub vehicle_id: Option<VehicleId>,
    /// Only this customer.
    pub customer_id: Option<CustomerId>,
}

/// The reservations service's API.
#[derive(Clone)]
pub struct ReservationsHandle {
    inner: Arc<Inner>,
}

struct Inner {
    tables: Tables,
    clock: SharedClock,
    rules: RentalRules,
    vehicles: VehiclesHandle,
    billing: BillingHandle,
    schedules: EntityRef<CustomerSchedule>,
    cars: EntityRef<CarRentals>,
    #[cfg_attr(not(test), allow(dead_code))]
    faults: faults::Faults,
    busy: car::CommandsUnderWay,
}

/// The services reservations asks.
pub struct ReservationsDeps {
    /// To check cars and read their rates.
    pub vehicles: VehiclesHandle,
    /// To check customers, fetch their card token and record what they owe.
    pub customers: CustomersHandle,
    /// To hold, settle and void.
    pub billing: BillingHandle,
    /// To forget an erased customer's trips.
    pub location: crate::location::LocationHandle,
    /// To send commands to the car units (the locks service).
    pub commands: Arc<dyn CarCommands>,
}

/// How long one car's turn may take: a card hold (billing's own bound), a command to the unit
/// until it expires (real seconds never exceed the configured ones, the clock being at least
/// real time), and a settlement.
fn car_turn_bound(config: &Config) -> Duration {
    let billing = ASK_TIMEOUT
        + Duration::from_secs(config.billing.provider_timeout_s.max(1))
            * crate::billing::PROVIDER_CALLS_PER_ASK;
    let command = Duration::from_secs(config.fleet.command_timeout_s) + ASK_TIMEOUT;
    billing * 2 + command
}

/// Starts the service on its store. Before it answers anything it voids holds left by a
/// booking a crash interrupted, and resolves commands left in flight.
pub async fn start(
    store: Store,
    deps: ReservationsDeps,
    clock: SharedClock,
    config: &Config,
    parent: Option<ActorCell>,
) -> Result<ReservationsHandle, ractor::SpawnErr> {
    let startup = |error: storage::StorageError| ractor::SpawnErr::StartupFailed(Box::new(error));
    let tables = Tables::open(store).map_err(startup)?;
    let supervision = SupervisorConfig::from_config(config);
    let rules = RentalRules::from_config(&config.rental);
    recovery::void_orphan_holds(&tables, &deps.billing)
        .await
        .map_err(|error| ractor::SpawnErr::StartupFailed(error.into()))?;
    let (deadline_sender, deadline_receiver) = deadlines::channel();
    let car_context = CarContext {
        tables: tables.clone(),
        clock: clock.clone(),
        rules: rules.clone(),
        billing: deps.billing.clone(),
        customers: deps.customers.clone(),
        location: deps.location.clone(),
        commands: deps.commands,
        deadlines: deadline_sender.clone(),
        faults: faults::Faults::new(),
        busy: car::CommandsUnderWay::default(),
    };
    let (faults, busy) = (car_context.faults.clone(), car_context.busy.clone());
    let turn = car_turn_bound(config);
    let cars = start_entities::<CarRentals>(car_context, supervision, parent.clone())
        .await?
        .with_timeout(turn);
    let schedule_context = ScheduleContext {
        tables: tables.clone(),
        cars: cars.clone(),
        customers: deps.customers.clone(),
        billing: deps.billing.clone(),
        location: deps.location.clone(),
        clock: clock.clone(),
    };
    let purge = retention::IdempotencyPurge {
        tables: tables.clone(),
    };
    crate::retention::start(purge, clock.clone(), parent.clone()).await?;
    let schedules = start_entities::<CustomerSchedule>(schedule_context, supervision, parent)
        .await?
        .with_timeout(turn + ASK_TIMEOUT);
    deadline_scheduler::start(
        &deadline_sender,
        deadline_receiver,
        &tables,
        clock.clone(),
        cars.clone(),
    );
    recovery::reconcile_in_flight(&tables, &cars);
    Ok(ReservationsHandle {
        inner: Arc::new(Inner {
            tables,
            clock,
            rules,
            vehicles: deps.vehicles,
            billing: deps.billing,
            schedules,
            cars,
            faults,
            busy,
        }),
    })
}

impl ReservationsHandle {
    /// Books a car for a customer and holds the amount on their card.
    ///
    /// With an idempotency key, the same key and request return the reservation the first
    /// call made (or its payment refusal again); the same key with another request is refused.
    pub async fn create(
        &self,
        customer_id: CustomerId,
        request: NewReservation,
        idempotency_key: Option<String>,
    ) -> Result<Reservation, ReservationsError> {
        let booked = self.book(customer_id, request, idempotency_key).await;
        crate::metrics::booking(booked.as_ref().map(|_| ()).map_err(Kinded::kind));
        booked
    }

    async fn book(
        &self,
        customer_id: CustomerId,
        request: NewReservation,
        idempotency_key: Option<String>,
    ) -> Result<Reservation, ReservationsError> {
        let inner = &self.inner;
        let digest = rules::request_digest(&request);
        if let Some(key) = &idempotency_key
            && let Some(existing) = inner.tables.idempotency.get(&(customer_id, key.clone()))?
        {
            if existing.request_digest != digest {
                return Err(ReservationsError::IdempotencyMismatch);
            }
            return self.replay(existing.reservation_id).await;
        }
        let now = inner.clock.now();
        inner.rules.check_window(&request, now)?;
        let vehicle = match inner.vehicles.get(request.vehicle_id).await {
            Ok(vehicle) => vehicle,
            Err(crate::vehicles::VehiclesError::NotFound) => {
                return Err(ReservationsError::Invalid(vec![
                    crate::domain::InvalidField {
                        field: "vehicle_id",
                        reason: "there is no such car".into(),
                    },
                ]));
            }
            Err(error) => return Err(ReservationsError::upstream("vehicles", error)),
        };
        if vehicle.status != VehicleStatus::Available {
            return Err(ReservationsError::VehicleUnavailable);
        }
        battery::check(&inner.vehicles, &vehicle, &request).await?;
        let record = ReservationRecord {
            id: ReservationId::new(),
            vehicle_id: request.vehicle_id,
            customer_id,
            start_at: request.start_at,
            end_at: request.end_at,
            status: ReservationStatus::PendingPayment,
            hourly_rate_cents: Cents::new(vehicle.hourly_rate_cents),
            hold_cents: pricing::hold_cents(
                Cents::new(vehicle.hourly_rate_cents),
                request.start_at,
                request.end_at,
            ),
            total_cents: None,
            unlocked_at: None,
            released_at: None,
            rejection: None,
            ended_by: None,
            overtime_cents: Cents::ZERO,
            outstanding_cents: Cents::ZERO,
            settlement_pending: false,
            delayed_until: None,
            created_at: now,
            updated_at: now,
        };
        let car = domain_events::BookedCar {
            plate: vehicle.plate,
            model: vehicle.model,
        };
        let idempotency = idempotency_key.map(|key| {
            let value = IdempotencyRecord {
                request_digest: digest,
                reservation_id: record.id,
            };
            (key, value)
        });
        let booked = inner
            .schedules
            .call_or_create(customer_id, |reply| ScheduleMsg::Book {
                record: Box::new(record.clone()),
                idempotency: idempotency.clone(),
                car: car.clone(),
                reply,
            })
            .await??;
        match booked {
            Booked::New(record) => outcome(record),
            Booked::Replay(id) => self.replay(id).await,
        }
    }

    /// The answer an earlier request with the same idempotency key got, from its current state.
    async fn replay(&self, id: ReservationId) -> Result<Reservation, ReservationsError> {
        outcome(self.record(id)?)
    }

    /// Cancels before the start and voids the hold.
    pub async fn cancel(
        &self,
        requester: Requester,
        id: ReservationId,
    ) -> Result<Reservation, ReservationsError> {
        let record = self.visible_record(requester, id)?;
        let record = self
            .inner
            .cars
            .call_or_create(record.vehicle_id, |reply| CarMsg::Cancel {
                requester,
                reservation: id,
                reply,
            })
            .await??;
        Ok(Reservation::from(&record))
    }

    /// Moves the end of the customer's confirmed or active reservation later, holding the
    /// price of the added time on their card; nothing changes if the car or the customer is
    /// taken then, the new end breaks the rules or the card refuses. Asking for the end the
    /// reservation already has answers it unchanged, so a retried extension is harmless.
    pub async fn extend(
        &self,
        customer_id: CustomerId,
        id: ReservationId,
        end_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Reservation, ReservationsError> {
        let current = self.visible_record(Requester::Customer(customer_id), id)?;
        if end_at > current.end_at {
            let from = current.start_at.max(self.inner.clock.now());
            battery::check_extension(&self.inner.vehicles, current.vehicle_id, from, end_at)
                .await?;
        }
        let record = self
            .inner
            .schedules
            .call_or_create(customer_id, |reply| ScheduleMsg::Extend {
                reservation: id,
                end_at,
                reply,
            })
            .await??;
        Ok(Reservation::from(&record))
    }

    /// The renter releases the car: it is locked (the unit must acknowledge), then the rental
    /// is settled. If the car does not lock, the reservation stays active for a retry.
    pub async fn finish(
        &self,
        customer_id: CustomerId,
        id: ReservationId,
    ) -> Result<(Reservation, ChargeSummary), ReservationsError> {
        let record = self.visible_record(Requester::Customer(customer_id), id)?;
        self.end_rental(record.vehicle_id, id, Ending::Renter(customer_id))
            .await
    }

    /// An operator ends a rental by force, for `reason` (required, kept in the audit): the
    /// car's position and movement are not checked and a lock that fails does not stop it;
    /// the rental is settled like any other and marked `ended_by: admin`.
    pub async fn force_finish(
        &self,
        id: ReservationId,
        reason: &str,
    ) -> Result<(Reservation, ChargeSummary), ReservationsError> {
        let reason = return_rules::force_reason(reason)?;
        let record = self.visible_record(Requester::Admin, id)?;
        self.end_rental(record.vehicle_id, id, Ending::Forced { reason })
            .await
    }

    async fn end_rental(
        &self,
        vehicle: VehicleId,
        id: ReservationId,
        ending: Ending,
    ) -> Result<(Reservation, ChargeSummary), ReservationsError> {
        let record = self
            .inner
            .cars
            .call_or_create(vehicle, |reply| CarMsg::Finish {
                ending: ending.clone(),
                reservation: id,
                reply,
            })
            .await??;
        let charge = self
            .inner
            .billing
            .summary(id)
            .await
            .map_err(|error| ReservationsError::upstream("billing", error))?
            .ok_or_else(|| {
                ReservationsError::upstream("billing", "no charge for a completed reservation")
            })?;
        Ok((Reservation::from(&record), charge))
    }

    /// Unlocks `vehicle` for `customer`, who must be the one entitled to it now; resolves once
    /// the unit has done it. The first unlock makes the reservation active.
    pub async fn unlock(
        &self,
        vehicle: VehicleId,
        customer: CustomerId,
    ) -> Result<CommandRecord, ReservationsError> {
        self.command(vehicle, customer, LockAction::Unlock).await
    }

    /// Locks `vehicle` for the customer entitled to it now; refused while it moves.
    pub async fn lock(
        &self,
        vehicle: VehicleId,
        customer: CustomerId,
    ) -> Result<CommandRecord, ReservationsError> {
        self.command(vehicle, customer, LockAction::Lock).await
    }

    async fn command(
        &self,
        vehicle: VehicleId,
        customer: CustomerId,
        action: LockAction,
    ) -> Result<CommandRecord, ReservationsError> {
        // A command already with the unit: answer at once rather than queue behind it (the
        // car's actor would refuse nothing meanwhile, only wait). A cancel or a release is
        // not refused this way: it waits for the answer, which decides what it finds.
        if self.inner.busy.contains(vehicle) {
            return Err(crate::commands::CommandError::CommandInProgress.into());
        }
        let answer = self
            .inner
            .cars
            .call(vehicle, |reply| CarMsg::Command {
                customer,
                action,
                reply,
            })
            .await;
        match answer {
            // A car nobody ever booked.
            Err(crate::ask::AskError::NotFound { .. }) => {
                Err(ReservationsError::Access(AccessDenied::NoReservation))
            }
            other => other?,
        }
    }

    /// Counters of the service's entity kinds, for metrics.
    pub fn stats(&self) -> [(&'static str, EntityStats); 2] {
        [
            ("car_rentals", self.inner.cars.stats()),
            ("customer_schedule", self.inner.schedules.stats()),
        ]
    }

    /// Whether the service's supervisors run.
    pub fn ping(&self) -> Result<(), crate::ask::AskError> {
        self.inner.cars.ping()?;
        self.inner.schedules.ping()
    }
}

/// What a create (or its replay) answers for the reservation's state after the saga.
fn outcome(record: ReservationRecord) -> Result<Reservation, ReservationsError> {
    match record.status {
        ReservationStatus::Rejected => Err(ReservationsError::PaymentDeclined {
            reservation_id: record.id,
            reason: record.rejection.unwrap_or_else(|| "declined".into()),
        }),
        _ => Ok(Reservation::from(&record)),
    }
}
