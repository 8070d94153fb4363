//! The booking's battery check: a car whose charge is below the fleet's minimum, or whose
//! estimated range would not last the booking, is refused (`battery-low`).
//!
//! It runs in the handle's booking path, before the customer's schedule and the car's actor
//! are asked, on the battery as location reports it at booking time. Two bookings of one car
//! may both pass it; the car's actor still lets at most one of them have any instant, and a
//! report arriving meanwhile changes the charge by a fix's worth, which no rule here can
//! resolve more finely. Keeping it out of the car's turn keeps that turn (which holds the
//! card) free of another service's read, and leaves the car's booking code as it was.

use super::error::ReservationsError;
use super::model::NewReservation;
use crate::vehicles::{Vehicle, VehiclesHandle};

/// Refuses the booking of `vehicle` for `request` if its battery cannot carry it, judged on
/// the services' clock now. A replayed booking (same idempotency key) never gets here: it answers what the
/// first call decided.
pub(super) async fn check(
    vehicles: &VehiclesHandle,
    vehicle: &Vehicle,
    request: &NewReservation,
) -> Result<(), ReservationsError> {
    let battery = vehicles
        .battery_of(vehicle)
        .await
        .map_err(|error| ReservationsError::upstream("location", error))?;
    vehicles
        .battery_policy()
        .check_booking(&battery, request.start_at, request.end_at)?;
    Ok(())
}

/// Refuses to extend a reservation of `vehicle` to `end_at` if the car's charge cannot carry
/// what is left of it from `from` (the later of now and the start): a car already below the
/// minimum goes back to charge rather than out for longer, and the range must cover the
/// remaining time at the city's average speed, as for a booking.
pub(super) async fn check_extension(
    vehicles: &VehiclesHandle,
    vehicle: crate::ids::VehicleId,
    from: chrono::DateTime<chrono::Utc>,
    end_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), ReservationsError> {
    let vehicle = vehicles
        .get(vehicle)
        .await
        .map_err(|error| ReservationsError::upstream("vehicles", error))?;
    let battery = vehicles
        .battery_of(&vehicle)
        .await
        .map_err(|error| ReservationsError::upstream("location", error))?;
    vehicles
        .battery_policy()
        .check_booking(&battery, from, end_at.max(from))?;
    Ok(())
}
