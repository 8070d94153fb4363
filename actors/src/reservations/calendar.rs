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
use super::error::ReservationsError;
use super::model::ReservationRecord;
use super::rules::first_overlap;
use super::tables::Tables;

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
    Book {
        booking: Booking,
        reply: RpcReplyPort<Result<Booked, ReservationsError>>,
    },
}

/// What a customer's schedule needs: the store, and the cars' calendars to book on.
#[derive(Clone)]
pub(crate) struct ScheduleContext {
    pub(crate) tables: Tables,
    pub(crate) cars: EntityRef<CarRentals>,
}

/// A customer's schedule: takes the customer's bookings one at a time.
pub(crate) struct CustomerSchedule {
    customer: CustomerId,
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
            ScheduleMsg::Book { booking, reply } => {
                let result = self.book(booking, context).await;
                let _ = reply.send(result);
            }
        }
        Ok(())
    }
}

impl CustomerSchedule {
    async fn book(
        &self,
        booking: Booking,
        context: &ScheduleContext,
    ) -> Result<Booked, ReservationsError> {
        let record = &booking.record;
        // A concurrent request with the same key may have won while this one waited its turn.
        if let Some((key, wanted)) = &booking.idempotency
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
        let entries = context.tables.customer_entries(self.customer)?;
        if first_overlap(&entries, record.start_at, record.end_at).is_some() {
            return Err(ReservationsError::CustomerBusy);
        }
        let vehicle = record.vehicle_id;
        let booked = context
            .cars
            .call_or_create(vehicle, |reply| CarMsg::Book {
                booking: Box::new(booking.clone()),
                reply,
            })
            .await??;
        Ok(Booked::New(booked))
    }
}
