//! The first serialisation point of booking: a customer's schedule (the second is the car's
//! rentals actor, `car.rs`).
//!
//! Overlap checks read the calendars and then write, so two bookings checked at the same time
//! could both pass. Each check therefore runs inside an entity actor: `CustomerSchedule` (one
//! per customer) serialises a customer's bookings and, while it holds its turn, asks the car's
//! `CarRentals` (one per car), which serialises that car's bookings, places the hold and writes
//! the reservation, both calendar entries and the idempotency key in one transaction. Asks only
//! go from customer to car, never back, so the two can never wait on each other.

use ractor::RpcReplyPort;

use crate::entity::{Activation, ActorProcessingErr, Entity, EntityRef};
use crate::ids::{CustomerId, ReservationId};

use super::car::{Booking, CarMsg, CarRentals};
use super::domain_events::BookedCar;
use super::error::ReservationsError;
use super::model::ReservationRecord;
use super::model::{IdempotencyRecord, UnfinishedBooking};
use super::rules::first_overlap;
use super::tables::Tables;
use crate::customers::{CustomersError, CustomersHandle};

/// What a booking attempt came to.
#[derive(Debug)]
pub(crate) enum Booked {
    /// Written.
    New(ReservationRecord),
    /// The idempotency key already names a reservation made with the same request.
    Replay(ReservationId),
}

/// Messages of a customer's schedule.
pub(crate) enum ScheduleMsg {
    /// Book a car; the schedule fetches the card to hold on in its turn.
    Book {
        record: Box<ReservationRecord>,
        idempotency: Option<(String, IdempotencyRecord)>,
        /// The car as the booking read it, for the confirmation's event.
        car: BookedCar,
        reply: RpcReplyPort<Result<Booked, ReservationsError>>,
    },
    /// Extend one of the customer's reservations to `end_at` (see `car_extension`).
    Extend {
        reservation: ReservationId,
        end_at: chrono::DateTime<chrono::Utc>,
        reply: RpcReplyPort<Result<ReservationRecord, ReservationsError>>,
    },
    /// Erase the customer everywhere (`erasure.rs`).
    Erase {
        reply: RpcReplyPort<Result<crate::customers::Customer, super::erasure::ErasureError>>,
    },
}

/// What a customer's schedule needs: the store, and the cars' calendars to book on.
#[derive(Clone)]
pub(crate) struct ScheduleContext {
    pub(crate) tables: Tables,
    pub(crate) cars: EntityRef<CarRentals>,
    pub(crate) customers: CustomersHandle,
    /// For an erasure: the ledger and the cards.
    pub(crate) billing: crate::billing::BillingHandle,
    /// For an erasure: the cars' position history.
    pub(crate) location: crate::location::LocationHandle,
    pub(crate) clock: crate::clock::SharedClock,
}

/// A customer's schedule: takes the customer's bookings one at a time.
pub(crate) struct CustomerSchedule {
    pub(super) customer: CustomerId,
}

impl Entity for CustomerSchedule {
    type Id = CustomerId;
    type Msg = ScheduleMsg;
    type Context = ScheduleContext;
    const KIND: &'static str = "customer schedule";

    async fn activate(
        id: CustomerId,
        _: Activation,
        _: &ScheduleContext,
    ) -> Result<Option<Self>, ActorProcessingErr> {
        Ok(Some(CustomerSchedule { customer: id }))
    }

    async fn handle(
        &mut self,
        message: ScheduleMsg,
        context: &ScheduleContext,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ScheduleMsg::Book {
                record,
                idempotency,
                car,
                reply,
            } => {
                let result = self.book(*record, idempotency, car, context).await;
                let _ = reply.send(result);
            }
            ScheduleMsg::Extend {
                reservation,
                end_at,
                reply,
            } => {
                let _ = reply.send(self.extend(reservation, end_at, context).await);
            }
            ScheduleMsg::Erase { reply } => {
                let _ = reply.send(self.erase(context).await);
            }
        }
        Ok(())
    }
}

impl CustomerSchedule {
    async fn book(
        &self,
        record: ReservationRecord,
        idempotency: Option<(String, IdempotencyRecord)>,
        car: BookedCar,
        context: &ScheduleContext,
    ) -> Result<Booked, ReservationsError> {
        // A concurrent request with the same key may have won while this one waited its turn.
        if let Some((key, wanted)) = &idempotency
            && let Some(existing) = context
                .tables
                .idempotency
                .get(&(self.customer, key.clone()))?
        {
            if existing.request_digest != wanted.request_digest {
                return Err(ReservationsError::IdempotencyMismatch);
            }
            return Ok(Booked::Replay(existing.reservation_id));
        }
        let mut record = record;
        let mut idempotency = idempotency;
        if let Some((key, wanted)) = &mut idempotency
            && let Some(attempt) = context
                .tables
                .unfinished_bookings
                .get(&(self.customer, key.clone()))?
        {
            if attempt.request_digest != wanted.request_digest {
                return Err(ReservationsError::IdempotencyMismatch);
            }
            if resumable(&context.billing, attempt.reservation_id).await {
                record.id = attempt.reservation_id;
                wanted.reservation_id = attempt.reservation_id;
            }
        }
        let entries = context.tables.customer_entries(self.customer)?;
        if first_overlap(&entries, record.start_at, record.end_at).is_some() {
            return Err(ReservationsError::CustomerBusy);
        }
        // Fetched in this turn, not before it: an erasure also takes the customer's turn
        // (`erasure.rs`), so a hold can never be placed on a customer erased meanwhile.
        let card_token = payment_token(&context.customers, self.customer).await?;
        let vehicle = record.vehicle_id;
        let booking = Booking {
            record,
            idempotency,
            card_token,
            car,
        };
        let booked = context
            .cars
            .call_or_create(vehicle, |reply| CarMsg::Book {
                booking: Box::new(booking.clone()),
                reply,
            })
            .await?;
        if let Some((key, attempt)) = &booking.idempotency {
            let unfinished = (self.customer, key.clone());
            if matches!(booked, Err(ReservationsError::PaymentUnavailable)) {
                let attempt = UnfinishedBooking {
                    request_digest: attempt.request_digest.clone(),
                    reservation_id: attempt.reservation_id,
                    at: context.clock.now(),
                };
                context
                    .tables
                    .unfinished_bookings
                    .insert(&unfinished, &attempt)?;
            } else {
                context.tables.unfinished_bookings.remove(&unfinished)?;
            }
        }
        Ok(Booked::New(booked?))
    }
}

impl CustomerSchedule {
    /// Checks the time an extension adds against the customer's other reservations, in the
    /// customer's turn (so no booking of theirs can take it meanwhile), then asks the car,
    /// which checks its own calendar, holds and writes.
    async fn extend(
        &self,
        reservation: ReservationId,
        end_at: chrono::DateTime<chrono::Utc>,
        context: &ScheduleContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        let record = context
            .tables
            .reservations
            .get(&reservation)?
            .filter(|record| record.customer_id == self.customer)
            .ok_or(ReservationsError::NotFound)?;
        let others: Vec<_> = context
            .tables
            .customer_entries(self.customer)?
            .into_iter()
            .filter(|entry| entry.reservation_id != reservation)
            .collect();
        if end_at > record.end_at && first_overlap(&others, record.end_at, end_at).is_some() {
            return Err(ReservationsError::CustomerBusy);
        }
        let card_token = payment_token(&context.customers, self.customer).await?;
        let request = super::car_extension::ExtensionRequest {
            customer: self.customer,
            reservation,
            end_at,
            card_token,
        };
        context
            .cars
            .call_or_create(record.vehicle_id, |reply| CarMsg::Extend {
                request: Box::new(request.clone()),
                reply,
            })
            .await?
    }
}

/// Whether a booking the provider's outage interrupted may take its reservation id again: its
/// charge was never stored, or is still waiting for its hold (or holds). A charge voided
/// meanwhile (the start-up sweep) cannot be held again: the retry books under a new id.
async fn resumable(billing: &crate::billing::BillingHandle, id: ReservationId) -> bool {
    use crate::billing::ChargeStatus;
    match billing.summary(id).await {
        Ok(None) => true,
        Ok(Some(charge)) => matches!(charge.status, ChargeStatus::Pending | ChargeStatus::Held),
        Err(error) => {
            tracing::warn!(reservation = %id, %error, "unfinished booking's charge unreadable");
            false
        }
    }
}

/// The card to hold on; an erased customer, one without a card or one who owes money cannot
/// book.
async fn payment_token(
    customers: &CustomersHandle,
    customer: CustomerId,
) -> Result<String, ReservationsError> {
    match customers.payment_token(customer).await {
        Ok(token) => Ok(token),
        Err(CustomersError::OutstandingBalance { outstanding_cents }) => {
            Err(ReservationsError::OutstandingBalance { outstanding_cents })
        }
        Err(error) if error.is_transient() => Err(ReservationsError::upstream("customers", error)),
        Err(error) => Err(ReservationsError::CustomerCannotBook(error)),
    }
}
