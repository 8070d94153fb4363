//! Retirement against booking: the car's rentals actor checks for open reservations and marks
//! the car retired in one turn, and refuses a booking on a retired car in its own turn, so a
//! booking that read the car as available before it retired is never confirmed.

use chrono::TimeDelta;

use super::*;
use crate::domain::Cents;
use crate::reservations::calendar::{Booked, ScheduleMsg};
use crate::reservations::car::Booking;
use crate::reservations::domain_events::BookedCar;
use crate::reservations::model::{ReservationRecord, ReservationStatus};
use crate::reservations::{Requester, ReservationsError};
use crate::vehicles::{VehicleStatus, VehiclesError};

/// The booking the handle builds once it has read the car (available) and the customer's card:
/// what reaches the customer's schedule after those reads.
async fn booking_read_before(
    fixture: &TestSystem,
    customer: CustomerId,
    car: VehicleId,
) -> Booking {
    let services = fixture.services();
    let vehicle = services.vehicles.get(car).await.unwrap();
    assert_eq!(vehicle.status, VehicleStatus::Available);
    let card_token = services.customers.payment_token(customer).await.unwrap();
    let start = t0() + TimeDelta::minutes(5);
    let mut record = ReservationRecord::sample(
        ReservationStatus::PendingPayment,
        start,
        start + TimeDelta::hours(2),
    );
    record.vehicle_id = car;
    record.customer_id = customer;
    record.hourly_rate_cents = Cents::new(vehicle.hourly_rate_cents);
    record.hold_cents = Cents::new(vehicle.hourly_rate_cents * 2);
    let booking = Booking {
        record,
        idempotency: None,
        card_token,
        car: BookedCar {
            plate: vehicle.plate.clone(),
            model: vehicle.model.clone(),
        },
    };
    assert!(
        !format!("{booking:?}").contains(&booking.card_token),
        "no token in logs"
    );
    booking
}

/// Hands `booking` to its customer's schedule, as the handle does after its reads.
async fn deliver(fixture: &TestSystem, booking: &Booking) -> Result<Booked, ReservationsError> {
    fixture
        .services()
        .reservations
        .inner
        .schedules
        .call_or_create(booking.record.customer_id, |reply| ScheduleMsg::Book {
            record: Box::new(booking.record.clone()),
            idempotency: booking.idempotency.clone(),
            car: booking.car.clone(),
            reply,
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_that_read_the_car_available_is_refused_once_the_car_retired() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let services = fixture.services().clone();
    // The booking has read the car as available (and the card): the step the old code left
    // open before the car's actor.
    let booking = booking_read_before(&fixture, customer, vehicle).await;
    // The retirement runs meanwhile: nothing is booked yet, so it goes through.
    let retired = services.vehicles.retire(vehicle).await.unwrap();
    assert_eq!(retired.status, VehicleStatus::Retired);
    // The booking reaches the car's actor afterwards and finds the car retired.
    let answer = deliver(&fixture, &booking).await;
    assert!(
        matches!(answer, Err(ReservationsError::VehicleUnavailable)),
        "{answer:?}"
    );
    assert!(
        services
            .billing
            .summary(booking.record.id)
            .await
            .unwrap()
            .is_none(),
        "no hold was placed"
    );
    assert!(
        services
            .reservations
            .get(Requester::Admin, booking.record.id)
            .is_err(),
        "nothing was written"
    );
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retirement_mark_survives_a_restart() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let booking = booking_read_before(&fixture, customer, vehicle).await;
    fixture.services().vehicles.retire(vehicle).await.unwrap();
    let fixture = fixture.restart().await;
    let answer = deliver(&fixture, &booking).await;
    assert!(
        matches!(answer, Err(ReservationsError::VehicleUnavailable)),
        "{answer:?}"
    );
    // Retiring again is answered as it is.
    let again = fixture.services().vehicles.retire(vehicle).await.unwrap();
    assert_eq!(again.status, VehicleStatus::Retired);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_car_booked_first_cannot_retire_until_its_reservation_closes() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let services = fixture.services().clone();
    let reservation = book(&fixture, customer, vehicle, 5, 2).await;
    let refused = services.vehicles.retire(vehicle).await;
    assert!(
        matches!(refused, Err(VehiclesError::OpenReservations)),
        "{refused:?}"
    );
    assert_eq!(
        services.vehicles.get(vehicle).await.unwrap().status,
        VehicleStatus::Available,
        "a refused retirement changes nothing"
    );
    // The car still takes bookings after a refused retirement.
    let later = book(&fixture, customer, vehicle, 5 * 60, 2).await;
    for id in [reservation.id, later.id] {
        services
            .reservations
            .cancel(Requester::Customer(customer), id)
            .await
            .unwrap();
    }
    services.vehicles.retire(vehicle).await.unwrap();
    let start = t0() + TimeDelta::minutes(5);
    let request = NewReservation {
        vehicle_id: vehicle,
        start_at: start,
        end_at: start + TimeDelta::hours(2),
    };
    let answer = services.reservations.create(customer, request, None).await;
    assert!(
        matches!(answer, Err(ReservationsError::VehicleUnavailable)),
        "{answer:?}"
    );
    assert_audit_clean(&fixture).await;
}
