//! Reservations: who has which car when, and the rental saga that ties the booking to billing
//! and the car's locks.
//!
//! Booking is serialised per customer and then per car (see `calendar`), so no car and no
//! customer is ever booked twice for the same instant, across any number of concurrent
//! requests. The saga then runs in the reservation's own actor: hold the rental amount on the
//! card (`confirmed`) or give the interval back (`rejected`). Unlocking makes it `active`;
//! releasing locks the car, settles the charge and makes it `completed`; a reservation never
//! unlocked by its end becomes a `no_show`. Every state and every deadline is durable, so a
//! restart resumes exactly where the saga stood.

mod calendar;
mod deadlines;
mod entity;
mod error;
mod lookup;
mod model;
mod pricing;
mod rules;
mod tables;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use ractor::ActorCell;
use storage::Store;

use crate::billing::{BillingHandle, ChargeSummary, LedgerEntry};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::customers::CustomersHandle;
use crate::entity::{EntityRef, EntityStats, SupervisorConfig, start_entities};
use crate::ids::{CustomerId, ReservationId, VehicleId};
use crate::locks::LocksHandle;
use crate::ports::LateBound;
use crate::vehicles::{VehicleStatus, VehiclesHandle};

use calendar::{Booked, Booking, CarCalendar, CustomerSchedule, ScheduleContext, ScheduleMsg};
use entity::{ReservationContext, ReservationEntity, ReservationMsg};
pub use error::{AccessDenied, ReservationsError};
pub use lookup::{AccessWindow, RentalWindow, ReservationsAudit};
use model::{IdempotencyRecord, ReservationRecord};
pub use model::{Money, NewReservation, Page, Requester, Reservation, ReservationStatus};
pub use rules::RentalRules;
use tables::Tables;

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
    customers: CustomersHandle,
    billing: BillingHandle,
    locks: LateBound<LocksHandle>,
    schedules: EntityRef<CustomerSchedule>,
    cars: EntityRef<CarCalendar>,
    reservations: EntityRef<ReservationEntity>,
    deadlines: deadlines::DeadlineSender,
}

/// The services reservations asks.
pub struct ReservationsDeps {
    /// To check cars and read their rates.
    pub vehicles: VehiclesHandle,
    /// To check customers and fetch their card token.
    pub customers: CustomersHandle,
    /// To hold, settle and void.
    pub billing: BillingHandle,
    /// To lock the car at release (bound once locks runs, as locks asks reservations).
    pub locks: LateBound<LocksHandle>,
}

/// Starts the service on its store.
pub async fn start(
    store: Store,
    deps: ReservationsDeps,
    clock: SharedClock,
    config: &Config,
    parent: Option<ActorCell>,
) -> Result<ReservationsHandle, ractor::SpawnErr> {
    let tables =
        Tables::open(store).map_err(|error| ractor::SpawnErr::StartupFailed(Box::new(error)))?;
    let supervision = SupervisorConfig::from_config(config);
    let rules = RentalRules::from_config(&config.rental);
    let cars = start_entities::<CarCalendar>(tables.clone(), supervision, parent.clone()).await?;
    let schedule_context = ScheduleContext {
        tables: tables.clone(),
        cars: cars.clone(),
    };
    let schedules =
        start_entities::<CustomerSchedule>(schedule_context, supervision, parent.clone()).await?;
    let (deadline_sender, deadline_receiver) = deadlines::channel();
    let reservation_context = ReservationContext {
        tables: tables.clone(),
        clock: clock.clone(),
        rules: rules.clone(),
        billing: deps.billing.clone(),
        customers: deps.customers.clone(),
        deadlines: deadline_sender.clone(),
    };
    // Asks to a reservation may wait on billing, which has its own timeout inside.
    let reservations =
        start_entities::<ReservationEntity>(reservation_context, supervision, parent)
            .await?
            .with_timeout(crate::ask::ASK_TIMEOUT * 3);
    deadlines::start(
        &deadline_sender,
        deadline_receiver,
        &tables,
        clock.clone(),
        reservations.clone(),
    );
    Ok(ReservationsHandle {
        inner: Arc::new(Inner {
            tables,
            clock,
            rules,
            vehicles: deps.vehicles,
            customers: deps.customers,
            billing: deps.billing,
            locks: deps.locks,
            schedules,
            cars,
            reservations,
            deadlines: deadline_sender,
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
        // Fails early for an erased customer or one without a card, before anything is booked.
        if let Err(error) = inner.customers.payment_token(customer_id).await {
            return Err(if error.is_transient() {
                ReservationsError::upstream("customers", error)
            } else {
                ReservationsError::CustomerCannotBook(error.to_string())
            });
        }
        let record = ReservationRecord {
            id: ReservationId::new(),
            vehicle_id: request.vehicle_id,
            customer_id,
            start_at: request.start_at,
            end_at: request.end_at,
            status: ReservationStatus::PendingPayment,
            hourly_rate_cents: vehicle.hourly_rate_cents,
            hold_cents: pricing::hold_cents(
                vehicle.hourly_rate_cents,
                request.start_at,
                request.end_at,
            ),
            total_cents: None,
            unlocked_at: None,
            released_at: None,
            rejection: None,
            created_at: now,
            updated_at: now,
        };
        let payment_deadline = entity::payment_deadline(&record);
        let booking = Booking {
            idempotency: idempotency_key.map(|key| {
                let value = IdempotencyRecord {
                    request_digest: digest,
                    reservation_id: record.id,
                };
                (key, value)
            }),
            deadlines: vec![payment_deadline],
            record,
        };
        let booked = inner
            .schedules
            .call_or_create(customer_id, |reply| ScheduleMsg::Book {
                booking: booking.clone(),
                reply,
            })
            .await??;
        let record = match booked {
            Booked::New(record) => record,
            Booked::Replay(id) => return self.replay(id).await,
        };
        inner
            .deadlines
            .arm(payment_deadline.0, record.id, payment_deadline.1);
        let record = inner
            .reservations
            .call(record.id, |reply| ReservationMsg::ConfirmPayment { reply })
            .await??;
        outcome(record)
    }

    /// The answer an earlier request with the same idempotency key got, from its current state.
    async fn replay(&self, id: ReservationId) -> Result<Reservation, ReservationsError> {
        let mut record = self.record(id)?;
        if record.status == ReservationStatus::PendingPayment {
            // The first request may still be in the saga; finish it rather than report a
            // half-done booking.
            record = self
                .inner
                .reservations
                .call(id, |reply| ReservationMsg::ConfirmPayment { reply })
                .await??;
        }
        outcome(record)
    }

    fn record(&self, id: ReservationId) -> Result<ReservationRecord, ReservationsError> {
        self.inner
            .tables
            .reservations
            .get(&id)?
            .ok_or(ReservationsError::NotFound)
    }

    fn visible_record(
        &self,
        requester: Requester,
        id: ReservationId,
    ) -> Result<ReservationRecord, ReservationsError> {
        let record = self.record(id)?;
        if requester.may_access(&record) {
            Ok(record)
        } else {
            Err(ReservationsError::NotFound)
        }
    }

    /// One reservation; another customer's is `NotFound`.
    pub fn get(
        &self,
        requester: Requester,
        id: ReservationId,
    ) -> Result<Reservation, ReservationsError> {
        self.visible_record(requester, id)
            .map(|record| Reservation::from(&record))
    }

    /// A customer's own reservations, or (admin) all of them filtered, newest last.
    pub fn list(
        &self,
        requester: Requester,
        filter: &ReservationFilter,
        limit: usize,
        after: Option<ReservationId>,
    ) -> Result<Page<Reservation>, ReservationsError> {
        let tables = &self.inner.tables;
        let limit = limit.clamp(1, 200);
        let keep = |record: &ReservationRecord| {
            filter.status.is_none_or(|status| record.status == status)
                && filter
                    .vehicle_id
                    .is_none_or(|vehicle| record.vehicle_id == vehicle)
                && filter
                    .customer_id
                    .is_none_or(|customer| record.customer_id == customer)
        };
        let mut items = Vec::with_capacity(limit + 1);
        match requester {
            Requester::Customer(customer) => {
                // The scan starts at this customer's first entry, never before it.
                let first = (customer, ReservationId(uuid::Uuid::nil()));
                let start = after.map_or(std::ops::Bound::Included(first), |after| {
                    std::ops::Bound::Excluded((customer, after))
                });
                let end = std::ops::Bound::Included((customer, ReservationId(uuid::Uuid::max())));
                for entry in tables.by_customer.range((start, end)) {
                    let ((_, id), ()) = entry?;
                    if let Some(record) = tables.reservations.get(&id)?
                        && keep(&record)
                    {
                        items.push(record);
                        if items.len() > limit {
                            break;
                        }
                    }
                }
            }
            Requester::Admin => {
                let start = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
                for entry in tables
                    .reservations
                    .range((start, std::ops::Bound::Unbounded))
                {
                    let (_, record) = entry?;
                    if keep(&record) {
                        items.push(record);
                        if items.len() > limit {
                            break;
                        }
                    }
                }
            }
        }
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|record| record.id)
        } else {
            None
        };
        Ok(Page {
            items: items.iter().map(Reservation::from).collect(),
            next_cursor,
        })
    }

    /// Cancels before the start and voids the hold.
    pub async fn cancel(
        &self,
        requester: Requester,
        id: ReservationId,
    ) -> Result<Reservation, ReservationsError> {
        self.visible_record(requester, id)?;
        let record = self
            .inner
            .reservations
            .call(id, |reply| ReservationMsg::Cancel { requester, reply })
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
        if record.status != ReservationStatus::Completed {
            rules::check_finish(&record)?;
            let locks = self.inner.locks.get()?;
            locks
                .lock(record.vehicle_id, customer_id)
                .await
                .map_err(|error| ReservationsError::Lock(Box::new(error)))?;
        }
        let released_at = self.inner.clock.now();
        let record = self
            .inner
            .reservations
            .call(id, |reply| ReservationMsg::Complete { released_at, reply })
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

    /// The hold, capture, void and refund records of a reservation the requester may see.
    pub async fn charges(
        &self,
        requester: Requester,
        id: ReservationId,
    ) -> Result<Vec<LedgerEntry>, ReservationsError> {
        self.visible_record(requester, id)?;
        self.inner
            .billing
            .ledger(id)
            .await
            .map_err(|error| ReservationsError::upstream("billing", error))
    }

    /// The reservation through which `customer` may unlock or lock `vehicle` now.
    pub fn authorize_access(
        &self,
        vehicle: VehicleId,
        customer: CustomerId,
    ) -> Result<ReservationId, ReservationsError> {
        let now = self.inner.clock.now();
        let mut denied = AccessDenied::NoReservation;
        for entry in self.inner.tables.car_entries(vehicle)? {
            if entry.counterpart != customer.as_uuid() {
                continue;
            }
            let record = self.record(entry.reservation_id)?;
            match self.inner.rules.check_access(&record, now) {
                Ok(()) => return Ok(record.id),
                Err(reason) => denied = reason,
            }
        }
        Err(denied.into())
    }

    /// The renter unlocked the car: a confirmed reservation becomes active.
    pub async fn record_unlock(
        &self,
        id: ReservationId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Reservation, ReservationsError> {
        let record = self
            .inner
            .reservations
            .call(id, |reply| ReservationMsg::RecordUnlock { at, reply })
            .await??;
        Ok(Reservation::from(&record))
    }

    /// Counters of the service's entity kinds, for metrics.
    pub fn stats(&self) -> [(&'static str, EntityStats); 3] {
        [
            ("reservation", self.inner.reservations.stats()),
            ("car_calendar", self.inner.cars.stats()),
            ("customer_schedule", self.inner.schedules.stats()),
        ]
    }

    /// Whether the service's supervisors run.
    pub fn ping(&self) -> Result<(), crate::ask::AskError> {
        self.inner.reservations.ping()?;
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
