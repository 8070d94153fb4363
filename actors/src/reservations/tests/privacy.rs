//! What reservations forgets and tells for an erasure: idempotency keys purged a day after
//! their booking (driven by the manual clock), and a customer's trips.

use chrono::TimeDelta;

use super::*;
use crate::reservations::retention::{IdempotencyPurge, KEY_TTL};
use crate::reservations::{Requester, ReservationsError};
use crate::retention::purge_all;

/// A booking of `vehicle` from 5 minutes after now, for two hours, with `key`.
async fn book_with_key(
    fixture: &TestSystem,
    customer: CustomerId,
    vehicle: VehicleId,
    key: &str,
) -> Result<Reservation, ReservationsError> {
    let start = fixture.now() + TimeDelta::minutes(5);
    let request = NewReservation {
        vehicle_id: vehicle,
        start_at: start,
        end_at: start + TimeDelta::hours(2),
    };
    fixture
        .services()
        .reservations
        .create(customer, request, Some(key.to_owned()))
        .await
}

fn purge(fixture: &TestSystem) -> IdempotencyPurge {
    IdempotencyPurge {
        tables: fixture.services().reservations.inner.tables.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_are_purged_a_day_after_their_booking() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let first = book_with_key(&fixture, customer, vehicle, "k1")
        .await
        .unwrap();
    fixture.advance(TimeDelta::hours(23));
    let second = book_with_key(&fixture, customer, vehicle, "k2")
        .await
        .unwrap();
    let job = purge(&fixture);

    // Exactly a day after the first booking: kept.
    fixture.advance(KEY_TTL - TimeDelta::hours(23));
    assert_eq!(purge_all(&job, fixture.now()).await.unwrap(), 0);
    let tables = &fixture.services().reservations.inner.tables;
    let key_of = |key: &str| {
        tables
            .idempotency
            .get(&(customer, key.to_owned()))
            .unwrap()
            .map(|record| record.reservation_id)
    };
    assert_eq!(key_of("k1"), Some(first.id), "still kept");

    fixture.advance(TimeDelta::seconds(1));
    assert_eq!(purge_all(&job, fixture.now()).await.unwrap(), 1);
    assert_eq!(key_of("k1"), None);
    assert_eq!(
        tables.idempotency_by_time.len(),
        1,
        "only k2's entry is left"
    );
    // The key is free again: not the old booking's answer (nor a mismatch), but a new
    // booking, refused here only because k2's overlaps it.
    let again = book_with_key(&fixture, customer, vehicle, "k1").await;
    assert!(
        matches!(&again, Ok(reservation) if reservation.id != first.id)
            || matches!(again, Err(ReservationsError::CustomerBusy)),
        "{again:?}"
    );
    assert_eq!(key_of("k2"), Some(second.id), "the younger key stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_stored_before_the_time_index_get_their_booking_time() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let booked = book_with_key(&fixture, customer, vehicle, "old")
        .await
        .unwrap();
    let tables = &fixture.services().reservations.inner.tables;
    // As a store written before the index existed: the key without its entry.
    let age = (booked.created_at, customer, "old".to_owned());
    tables.idempotency_by_time.remove(&age).unwrap();
    let job = purge(&fixture);
    assert_eq!(job.backfill(fixture.now()).unwrap(), 1);
    assert!(tables.idempotency_by_time.contains(&age).unwrap());
    assert_eq!(job.backfill(fixture.now()).unwrap(), 0, "idempotent");
    fixture.advance(KEY_TTL + TimeDelta::seconds(1));
    assert_eq!(purge_all(&job, fixture.now()).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customers_trips_are_the_reservations_they_used() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let services = fixture.services().clone();
    let unused = book(&fixture, customer, vehicle, 5 * 60, 2).await;
    services
        .reservations
        .cancel(Requester::Customer(customer), unused.id)
        .await
        .unwrap();
    let used = book(&fixture, customer, vehicle, 5, 2).await;
    // Unlocked in the grace before the start: the trip starts there.
    let unlocked_at = fixture.now();
    services
        .reservations
        .unlock(vehicle, customer)
        .await
        .unwrap();
    fixture.advance(TimeDelta::minutes(60));
    let released_at = fixture.now();
    services
        .reservations
        .finish(customer, used.id)
        .await
        .unwrap();

    let trips = services.reservations.trips_of(customer).await.unwrap();
    assert_eq!(trips, [(used.id, vehicle, unlocked_at, released_at)]);
    let stranger = fixture.customer(1, cards::VISA).await;
    assert!(
        services
            .reservations
            .trips_of(stranger)
            .await
            .unwrap()
            .is_empty()
    );
}
