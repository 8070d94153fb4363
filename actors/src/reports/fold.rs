//! The projections' fold: what one event changes in the reports' records. Pure functions of
//! the record and the event, so that applying the log again (a rebuild) gives the same
//! figures, and so that they are tested without a store or a runtime.

use chrono::{DateTime, Utc};

use super::model::{CarFacts, Movement, Trip};
use crate::events::{DomainEvent, EventData};
use crate::ids::{CustomerId, ReservationId, VehicleId};

/// The record an event changes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Target {
    /// A reservation's trip.
    Trip(ReservationId),
    /// A car's time in service.
    Car(VehicleId),
    /// A customer's outstanding balance.
    Balance(CustomerId),
    /// A car's thinned track: `(car, recorded_at)` → `(lat, lon)`.
    Position(VehicleId, DateTime<Utc>, (f64, f64)),
    /// Nothing the reports count.
    Nothing,
}

/// Which record `event` changes.
pub(crate) fn target(event: &DomainEvent) -> Target {
    let subjects = &event.subjects;
    match (&event.data, subjects.reservation_id) {
        (
            EventData::ReservationConfirmed { .. }
            | EventData::ReservationCancelled { .. }
            | EventData::ReservationNoShow { .. }
            | EventData::ReservationExtended { .. }
            | EventData::RentalStarted { .. }
            | EventData::RentalEnded { .. }
            | EventData::ChargeCaptured { .. }
            | EventData::ChargeRefunded { .. },
            Some(reservation),
        ) => Target::Trip(reservation),
        (EventData::VehicleRegistered { .. } | EventData::VehicleRetired, _) => {
            subjects.vehicle_id.map_or(Target::Nothing, Target::Car)
        }
        (EventData::BalanceOutstanding { .. } | EventData::BalancePaid { .. }, _) => subjects
            .customer_id
            .map_or(Target::Nothing, Target::Balance),
        (
            EventData::VehicleMoved {
                lat,
                lon,
                recorded_at,
                ..
            },
            _,
        ) => subjects.vehicle_id.map_or(Target::Nothing, |vehicle| {
            Target::Position(vehicle, *recorded_at, (*lat, *lon))
        }),
        _ => Target::Nothing,
    }
}

/// Applies a reservation's event to its trip. `start_place` is where the car was when the
/// rental started, as far as the reports know (for `rental.started`).
pub(crate) fn apply_to_trip(trip: &mut Trip, event: &DomainEvent, start_place: Option<(f64, f64)>) {
    let subjects = &event.subjects;
    trip.reservation_id = trip.reservation_id.or(subjects.reservation_id);
    trip.customer_id = trip.customer_id.or(subjects.customer_id);
    trip.vehicle_id = trip.vehicle_id.or(subjects.vehicle_id);
    let at = event.occurred_at;
    match &event.data {
        EventData::ReservationConfirmed {
            plate,
            model,
            place,
            start_at,
            end_at,
            hold_cents,
            ..
        } => {
            trip.plate = Some(plate.clone());
            trip.model = Some(model.clone());
            trip.booked_at_place = place.map(|place| (place.lat, place.lon));
            trip.start_at = Some(*start_at);
            // An extension may have come first (another store's relay is not ordered with
            // this one): the later end wins.
            trip.end_at = Some(trip.end_at.map_or(*end_at, |end| end.max(*end_at)));
            trip.hold_cents = trip.hold_cents.max(hold_cents.get());
            trip.confirmed_at = Some(at);
            if trip.started_at.is_some() && trip.start_place.is_none() {
                trip.start_place = trip.booked_at_place;
            }
        }
        EventData::ReservationCancelled { .. } => trip.cancelled_at = Some(at),
        EventData::ReservationNoShow { fee_cents } => {
            trip.no_show_at = Some(at);
            trip.no_show_fee_cents = fee_cents.get();
        }
        EventData::ReservationExtended {
            end_at, hold_cents, ..
        } => {
            trip.end_at = Some(trip.end_at.map_or(*end_at, |end| end.max(*end_at)));
            trip.hold_cents = trip.hold_cents.max(hold_cents.get());
        }
        EventData::RentalStarted { unlocked_at } => {
            trip.started_at = Some(*unlocked_at);
            trip.start_place = start_place.or(trip.booked_at_place);
        }
        EventData::RentalEnded {
            ended_by,
            released_at,
            end_at,
            hold_cents,
            total_cents,
            overtime_cents,
            outstanding_cents,
            settlement_pending,
        } => {
            trip.released_at = Some(*released_at);
            trip.ended_by = Some(ended_by.clone());
            trip.end_at = Some(*end_at);
            trip.hold_cents = hold_cents.get();
            trip.total_cents = total_cents.get();
            trip.overtime_cents = overtime_cents.get();
            trip.outstanding_cents = outstanding_cents.get();
            trip.settlement_pending = *settlement_pending;
        }
        EventData::ChargeCaptured {
            captured_cents,
            extra_cents,
            ..
        } => {
            trip.money.push(Movement {
                at,
                captured_cents: captured_cents.get(),
                extra_cents: extra_cents.get(),
                refunded_cents: 0,
            });
            // A capture after a pending end is the settlement it was waiting for.
            trip.settlement_pending = false;
        }
        EventData::ChargeRefunded { amount_cents } => trip.money.push(Movement {
            at,
            captured_cents: 0,
            extra_cents: 0,
            refunded_cents: amount_cents.get(),
        }),
        _ => {}
    }
}

/// Applies a car's event to its facts.
pub(crate) fn apply_to_car(car: &mut CarFacts, event: &DomainEvent) {
    match &event.data {
        EventData::VehicleRegistered { plate, model } => {
            car.plate = Some(plate.clone());
            car.model = Some(model.clone());
            car.registered_at = Some(event.occurred_at);
        }
        EventData::VehicleRetired => car.retired_at = Some(event.occurred_at),
        _ => {}
    }
}

/// A customer's outstanding balance after `event`.
pub(crate) fn apply_to_balance(owed_cents: i64, event: &DomainEvent) -> i64 {
    match &event.data {
        EventData::BalanceOutstanding { owed_cents, .. } => owed_cents.get(),
        EventData::BalancePaid { amount_cents } => (owed_cents - amount_cents.get()).max(0),
        _ => owed_cents,
    }
}

#[cfg(test)]
#[path = "fold_tests.rs"]
mod tests;
