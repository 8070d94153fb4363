//! Erasure against booking: the two take the customer's turn one after the other.

use chrono::TimeDelta;

use super::*;
use crate::customers::{CustomerStatus, CustomersError};
use crate::reservations::faults::FaultPoint;
use crate::reservations::{ErasureError, ReservationStatus, ReservationsError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_during_a_booking_waits_for_it_and_is_refused() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let reservations = fixture.services().reservations.clone();
    let faults = reservations.inner.faults.clone();
    let start = t0() + TimeDelta::hours(1);
    let request = NewReservation {
        vehicle_id: vehicle,
        start_at: start,
        end_at: start + TimeDelta::hours(2),
    };
    // The booking stops with its hold placed and its reservation not yet written.
    faults.arm(FaultPoint::HoldPlaced);
    let booking = tokio::spawn({
        let reservations = reservations.clone();
        async move { reservations.create(customer, request, None).await }
    });
    faults.reached().await;
    let erasure = tokio::spawn({
        let reservations = reservations.clone();
        async move { reservations.erase_customer(customer).await }
    });
    // Whenever the erasure gets to run, the booking holds the customer's turn until it is
    // written: the outcome does not depend on when the booking goes on.
    for _ in 0..100 {
        if erasure.is_finished() {
            break;
        }
        tokio::task::yield_now().await;
    }
    faults.resume();

    let booked = booking.await.unwrap().expect("the booking completes");
    assert_eq!(booked.status, ReservationStatus::Confirmed);
    assert!(matches!(
        erasure.await.unwrap(),
        Err(ErasureError::Customers(CustomersError::OpenReservation))
    ));
    let customers = &fixture.services().customers;
    assert_eq!(
        customers.get(customer).await.unwrap().status,
        CustomerStatus::Active
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_after_an_erasure_finds_the_customer_gone() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let reservations = fixture.services().reservations.clone();
    let erased = reservations.erase_customer(customer).await.unwrap();
    assert_eq!(erased.status, CustomerStatus::Erased);
    let start = t0() + TimeDelta::hours(1);
    let request = NewReservation {
        vehicle_id: vehicle,
        start_at: start,
        end_at: start + TimeDelta::hours(2),
    };
    assert!(matches!(
        reservations.create(customer, request, None).await,
        Err(ReservationsError::CustomerCannotBook(
            CustomersError::Erased
        ))
    ));
    // Repeating the erasure is harmless.
    assert_eq!(
        reservations.erase_customer(customer).await.unwrap().status,
        CustomerStatus::Erased
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_removes_the_trips_and_keeps_the_money() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let services = fixture.services().clone();
    fixture.fix(vehicle, Some(0.0)).await;
    let before_trip = fixture.now();
    let rental = book(&fixture, customer, vehicle, 5, 2).await;
    fixture.advance(TimeDelta::minutes(5));
    services
        .reservations
        .unlock(vehicle, customer)
        .await
        .unwrap();
    for _ in 0..3 {
        fixture.advance(TimeDelta::minutes(10));
        fixture.fix(vehicle, Some(30.0)).await;
    }
    fixture.fix(vehicle, Some(0.0)).await;
    services
        .reservations
        .finish(customer, rental.id)
        .await
        .unwrap();
    let released_at = fixture.now();
    fixture.advance(TimeDelta::minutes(10));
    fixture.fix(vehicle, Some(0.0)).await;
    let charge = services.billing.summary(rental.id).await.unwrap().unwrap();
    let whole_day = |services: &crate::system::Services| {
        let (location, now) = (services.location.clone(), fixture.now());
        async move {
            location
                .track(
                    vehicle,
                    before_trip - TimeDelta::hours(1),
                    now + TimeDelta::seconds(1),
                    100,
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(whole_day(&services).await.len(), 6);

    services
        .reservations
        .erase_customer(customer)
        .await
        .unwrap();
    // The fix before the trip and the one after it stay; the trip's four are gone.
    let left = whole_day(&services).await;
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left[0].recorded_at <= before_trip && left[1].recorded_at > released_at);
    assert_eq!(
        services.billing.summary(rental.id).await.unwrap().unwrap(),
        charge,
        "the amounts stay"
    );
    // Repeating the erasure finds nothing left to change.
    services
        .reservations
        .erase_customer(customer)
        .await
        .unwrap();
    assert_eq!(whole_day(&services).await.len(), 2);
}
