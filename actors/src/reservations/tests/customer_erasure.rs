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
