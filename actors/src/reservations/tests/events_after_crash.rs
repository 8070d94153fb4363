//! A crash between two steps of a reservation's change, then the step retried after a restart:
//! each change's event is written once (delivery may repeat it, with the same id).

use std::collections::HashSet;

use chrono::TimeDelta;

use super::crash::crash_at;
use super::events::{types_of, written_here};
use super::*;
use crate::events::DomainEvent;
use crate::reservations::faults::FaultPoint;

/// The events about `reservation` seen by the recorders of both lives of a system, each
/// event once however often it was delivered (delivery is at least once).
fn distinct(before: &[DomainEvent], after: &[DomainEvent]) -> Vec<&'static str> {
    let mut seen = HashSet::new();
    before
        .iter()
        .chain(after)
        .filter(|event| event.source == "reservations" && seen.insert(event.id))
        .map(DomainEvent::type_name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_in_a_release_and_its_retry_write_the_end_once() {
    for point in [FaultPoint::ReleaseLocked, FaultPoint::ReleaseSettled] {
        let (fixture, customer, vehicle) = one_customer_one_car().await;
        let reservation = book(&fixture, customer, vehicle, 0, 2).await;
        let reservations = fixture.services().reservations.clone();
        reservations.unlock(vehicle, customer).await.unwrap();
        fixture.advance(TimeDelta::minutes(150));
        let before = fixture.events().await.of_reservation(reservation.id);
        let id = reservation.id;
        let fixture = crash_at(fixture, point, async move {
            reservations.finish(customer, id).await
        })
        .await;
        fixture
            .services()
            .reservations
            .finish(customer, id)
            .await
            .unwrap();
        let after = fixture.events().await.of_reservation(id);
        assert_eq!(
            distinct(&before, &after),
            ["reservation.confirmed", "rental.started", "rental.ended"],
            "{point:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_unit_unlocked_starts_the_rental_once() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let reservation = book(&fixture, customer, vehicle, 0, 2).await;
    let before = fixture.events().await.of_reservation(reservation.id);
    let reservations = fixture.services().reservations.clone();
    let fixture = crash_at(fixture, FaultPoint::CommandAnswered, async move {
        reservations.unlock(vehicle, customer).await
    })
    .await;
    let reservations = fixture.services().reservations.clone();
    // The car's next message reconciles the unlock first; the next ones find nothing to do.
    reservations.lock(vehicle, customer).await.unwrap();
    reservations.lock(vehicle, customer).await.unwrap();
    let after = fixture.events().await.of_reservation(reservation.id);
    assert_eq!(
        distinct(&before, &after),
        ["reservation.confirmed", "rental.started"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_hold_confirms_nothing_and_the_retry_confirms_once() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let reservations = fixture.services().reservations.clone();
    let start = t0() + TimeDelta::hours(1);
    let request = NewReservation {
        vehicle_id: vehicle,
        start_at: start,
        end_at: start + TimeDelta::hours(2),
    };
    let again = request.clone();
    let fixture = crash_at(fixture, FaultPoint::HoldPlaced, async move {
        reservations.create(customer, request, None).await
    })
    .await;
    assert!(written_here(&fixture).await.is_empty());
    let booked = fixture
        .services()
        .reservations
        .create(customer, again, None)
        .await
        .unwrap();
    assert_eq!(written_here(&fixture).await, ["reservation.confirmed"]);
    assert_eq!(
        types_of(&fixture, booked.id).await,
        ["reservation.confirmed"]
    );
}
