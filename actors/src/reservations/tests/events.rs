//! The events a reservation's life writes: one per change, in order, with the figures the
//! records hold (and still one per change across a crash: `events_after_crash`).

use chrono::TimeDelta;

use super::*;
use crate::commands::CommandError;
use crate::domain::Cents;
use crate::events::{DomainEvent, EventData, Place, Subjects};
use crate::ids::ReservationId;
use crate::reservations::{Requester, ReservationStatus, ReservationsError};
use crate::testing::cards::DECLINED;

/// Two started 15-minute blocks and the late fee: half an hour late.
const HALF_HOUR_LATE: i64 = 2 * RATE / 4 + 5_000;
/// An hour late: four started blocks and the late fee.
const HOUR_LATE: i64 = 4 * RATE / 4 + 5_000;

/// The events this service wrote about `reservation` (billing and locks write theirs too).
fn ours(events: Vec<DomainEvent>) -> Vec<DomainEvent> {
    events
        .into_iter()
        .filter(|event| event.source == "reservations")
        .collect()
}

/// The types of the events this service wrote about `reservation`, relayed now, in order.
pub(super) async fn types_of(
    fixture: &TestSystem,
    reservation: ReservationId,
) -> Vec<&'static str> {
    ours(fixture.events().await.of_reservation(reservation))
        .iter()
        .map(DomainEvent::type_name)
        .collect()
}

/// The payload of the one event of `type_name` about `reservation`.
async fn the_one(fixture: &TestSystem, reservation: ReservationId, type_name: &str) -> EventData {
    let events: Vec<_> = ours(fixture.events().await.of_reservation(reservation))
        .into_iter()
        .filter(|event| event.type_name() == type_name)
        .collect();
    assert_eq!(events.len(), 1, "{type_name}: {events:#?}");
    events[0].data.clone()
}

/// The types of every event this service wrote, relayed now, in order.
pub(super) async fn written_here(fixture: &TestSystem) -> Vec<&'static str> {
    fixture
        .events()
        .await
        .all()
        .iter()
        .filter(|event| event.source == "reservations")
        .map(DomainEvent::type_name)
        .collect()
}

/// Waits until the system has moved `reservation` out of `status` on its own.
async fn left(fixture: &TestSystem, reservation: ReservationId, status: ReservationStatus) {
    let reservations = fixture.services().reservations.clone();
    eventually("the reservation changes on its own", || {
        std::future::ready(
            reservations
                .get(Requester::Admin, reservation)
                .is_ok_and(|now| now.status != status),
        )
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_rental_is_confirmed_started_and_ended_with_its_overtime() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    fixture.park(vehicle).await;
    let reservation = book(&fixture, customer, vehicle, 5, 2).await;
    let services = fixture.services().clone();
    services
        .reservations
        .unlock(vehicle, customer)
        .await
        .unwrap();
    let unlocked_at = fixture.now();
    services.reservations.lock(vehicle, customer).await.unwrap();
    fixture.advance(reservation.end_at + TimeDelta::minutes(30) - fixture.now());
    let (finished, _) = services
        .reservations
        .finish(customer, reservation.id)
        .await
        .unwrap();

    assert_eq!(
        types_of(&fixture, reservation.id).await,
        ["reservation.confirmed", "rental.started", "rental.ended"]
    );
    let events = ours(fixture.events().await.of_reservation(reservation.id));
    for event in &events {
        assert_eq!(event.source, "reservations");
        assert_eq!(
            event.subjects,
            Subjects::reservation(reservation.id, customer, vehicle)
        );
    }
    let car = services.vehicles.get(vehicle).await.unwrap();
    assert_eq!(
        events[0].data,
        EventData::ReservationConfirmed {
            plate: car.plate,
            model: car.model,
            place: Some(Place {
                lat: -27.5954,
                lon: -48.5480
            }),
            start_at: reservation.start_at,
            end_at: reservation.end_at,
            hold_cents: Cents::new(2 * RATE),
            hourly_rate_cents: Cents::new(RATE),
        }
    );
    assert_eq!(events[0].occurred_at, reservation.created_at);
    assert_eq!(events[1].data, EventData::RentalStarted { unlocked_at });
    assert_eq!(
        events[2].data,
        EventData::RentalEnded {
            ended_by: "customer".into(),
            released_at: reservation.end_at + TimeDelta::minutes(30),
            end_at: reservation.end_at,
            hold_cents: Cents::new(2 * RATE),
            total_cents: Cents::new(2 * RATE + HALF_HOUR_LATE),
            overtime_cents: Cents::new(HALF_HOUR_LATE),
            outstanding_cents: Cents::ZERO,
            settlement_pending: false,
        }
    );
    assert_eq!(
        finished.total.map(|total| total.amount_cents),
        Some(2 * RATE + HALF_HOUR_LATE)
    );
    // Finishing again answers the completed rental and writes nothing.
    services
        .reservations
        .finish(customer, reservation.id)
        .await
        .unwrap();
    assert_eq!(types_of(&fixture, reservation.id).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_says_who_cancelled_and_what_was_released_once() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let services = fixture.services().clone();
    let mine = book(&fixture, customer, vehicle, 60, 2).await;
    let theirs = book(&fixture, customer, vehicle, 240, 3).await;
    for (reservation, requester) in [
        (&mine, Requester::Customer(customer)),
        (&theirs, Requester::Admin),
    ] {
        services
            .reservations
            .cancel(requester, reservation.id)
            .await
            .unwrap();
        // A retried cancel finds it cancelled and writes no second event.
        services
            .reservations
            .cancel(requester, reservation.id)
            .await
            .unwrap();
    }
    assert_eq!(
        types_of(&fixture, mine.id).await,
        ["reservation.confirmed", "reservation.cancelled"]
    );
    assert_eq!(
        the_one(&fixture, mine.id, "reservation.cancelled").await,
        EventData::ReservationCancelled {
            by: "customer".into(),
            released_cents: Cents::new(2 * RATE),
        }
    );
    assert_eq!(
        the_one(&fixture, theirs.id, "reservation.cancelled").await,
        EventData::ReservationCancelled {
            by: "admin".into(),
            released_cents: Cents::new(3 * RATE),
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_never_unlocked_is_a_no_show_with_its_fee() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let reservation = book(&fixture, customer, vehicle, 0, 2).await;
    fixture.advance(TimeDelta::hours(2));
    left(&fixture, reservation.id, ReservationStatus::Confirmed).await;
    assert_eq!(
        types_of(&fixture, reservation.id).await,
        ["reservation.confirmed", "reservation.no_show"]
    );
    assert_eq!(
        the_one(&fixture, reservation.id, "reservation.no_show").await,
        EventData::ReservationNoShow {
            fee_cents: Cents::new(RATE)
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_tells_the_previous_end_and_both_holds() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let reservation = book(&fixture, customer, vehicle, 60, 2).await;
    let new_end = reservation.end_at + TimeDelta::hours(1);
    let reservations = &fixture.services().reservations;
    reservations
        .extend(customer, reservation.id, new_end)
        .await
        .unwrap();
    // The same extension again changes nothing and writes nothing.
    reservations
        .extend(customer, reservation.id, new_end)
        .await
        .unwrap();
    assert_eq!(
        types_of(&fixture, reservation.id).await,
        ["reservation.confirmed", "reservation.extended"]
    );
    assert_eq!(
        the_one(&fixture, reservation.id, "reservation.extended").await,
        EventData::ReservationExtended {
            previous_end_at: reservation.end_at,
            end_at: new_end,
            added_hold_cents: Cents::new(RATE),
            hold_cents: Cents::new(3 * RATE),
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rental_never_released_ends_by_the_system() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let reservation = book(&fixture, customer, vehicle, 0, 2).await;
    fixture
        .services()
        .reservations
        .unlock(vehicle, customer)
        .await
        .unwrap();
    fixture.advance(TimeDelta::hours(3));
    left(&fixture, reservation.id, ReservationStatus::Active).await;
    assert_eq!(
        types_of(&fixture, reservation.id).await,
        ["reservation.confirmed", "rental.started", "rental.ended"]
    );
    let EventData::RentalEnded {
        ended_by,
        total_cents,
        overtime_cents,
        settlement_pending,
        ..
    } = the_one(&fixture, reservation.id, "rental.ended").await
    else {
        panic!("not an end");
    };
    assert_eq!(ended_by, "system");
    assert_eq!(overtime_cents, Cents::new(HOUR_LATE));
    assert_eq!(total_cents, Cents::new(2 * RATE + HOUR_LATE));
    assert!(!settlement_pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_end_is_an_end_by_an_admin() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let reservation = book(&fixture, customer, vehicle, 0, 2).await;
    let reservations = fixture.services().reservations.clone();
    reservations.unlock(vehicle, customer).await.unwrap();
    fixture.advance(TimeDelta::hours(1));
    let (forced, _) = reservations
        .force_finish(reservation.id, "unit stolen; police report 123")
        .await
        .unwrap();
    assert_eq!(
        types_of(&fixture, reservation.id).await,
        ["reservation.confirmed", "rental.started", "rental.ended"]
    );
    let EventData::RentalEnded {
        ended_by,
        released_at,
        total_cents,
        overtime_cents,
        ..
    } = the_one(&fixture, reservation.id, "rental.ended").await
    else {
        panic!("not an end");
    };
    assert_eq!(ended_by, "admin");
    assert_eq!(Some(released_at), forced.released_at);
    assert_eq!(overtime_cents, Cents::ZERO);
    assert_eq!(
        Some(total_cents.get()),
        forced.total.map(|total| total.amount_cents)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlock_the_unit_refuses_is_reported_and_the_next_one_starts_the_rental() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let reservation = book(&fixture, customer, vehicle, 0, 2).await;
    fixture
        .units()
        .set_behaviour(vehicle, UnitBehaviour::Refuse("door jammed".into()));
    let reservations = fixture.services().reservations.clone();
    let refused = reservations.unlock(vehicle, customer).await;
    assert!(
        matches!(
            refused,
            Err(ReservationsError::Command(CommandError::UnitFailed(_)))
        ),
        "{refused:?}"
    );
    fixture.units().set_behaviour(vehicle, UnitBehaviour::Obey);
    reservations.unlock(vehicle, customer).await.unwrap();
    assert_eq!(
        types_of(&fixture, reservation.id).await,
        ["reservation.confirmed", "unlock.failed", "rental.started"]
    );
    assert_eq!(
        the_one(&fixture, reservation.id, "unlock.failed").await,
        EventData::UnlockFailed {
            reason: "refused".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlock_that_expires_is_reported_as_expired() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let reservation = book(&fixture, customer, vehicle, 0, 2).await;
    script_unit(&fixture, vehicle);
    let (unlock, _) = unlock_in_flight(&fixture, customer, vehicle).await;
    fixture.advance(TimeDelta::seconds(11));
    let expired = unlock.await.unwrap();
    assert!(
        matches!(
            expired,
            Err(ReservationsError::Command(CommandError::UnitTimeout))
        ),
        "{expired:?}"
    );
    assert_eq!(
        types_of(&fixture, reservation.id).await,
        ["reservation.confirmed", "unlock.failed"]
    );
    assert_eq!(
        the_one(&fixture, reservation.id, "unlock.failed").await,
        EventData::UnlockFailed {
            reason: "expired".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_hold_rejects_the_reservation_with_the_reason() {
    let fixture = TestSystem::start().await;
    let customer = fixture.customer(0, DECLINED).await;
    let vehicle = fixture.vehicle(0, RATE).await;
    let request = NewReservation {
        vehicle_id: vehicle,
        start_at: t0() + TimeDelta::hours(1),
        end_at: t0() + TimeDelta::hours(3),
    };
    let refused = fixture
        .services()
        .reservations
        .create(customer, request, None)
        .await;
    let Err(ReservationsError::PaymentDeclined { reservation_id, .. }) = refused else {
        panic!("expected a declined payment, got {refused:?}");
    };
    assert_eq!(
        types_of(&fixture, reservation_id).await,
        ["reservation.rejected"]
    );
    let EventData::ReservationRejected { reason } =
        the_one(&fixture, reservation_id, "reservation.rejected").await
    else {
        panic!("not a rejection");
    };
    assert!(reason.contains("declined"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_a_late_renter_kept_the_car_from_is_cancelled_by_the_system() {
    let fixture = TestSystem::start().await;
    let vehicle = fixture.vehicle(0, RATE).await;
    let ana = fixture.customer(1, VISA).await;
    let bia = fixture.customer(2, VISA).await;
    let services = fixture.services().clone();
    let first = book(&fixture, ana, vehicle, 0, 2).await;
    let second = book(&fixture, bia, vehicle, 120, 2).await;
    services.reservations.unlock(vehicle, ana).await.unwrap();
    fixture.advance(TimeDelta::minutes(140));
    services.reservations.finish(ana, first.id).await.unwrap();
    fixture.advance(TimeDelta::minutes(100));
    left(&fixture, second.id, ReservationStatus::Confirmed).await;
    assert_eq!(
        types_of(&fixture, second.id).await,
        ["reservation.confirmed", "reservation.cancelled"]
    );
    assert_eq!(
        the_one(&fixture, second.id, "reservation.cancelled").await,
        EventData::ReservationCancelled {
            by: "system".into(),
            released_cents: Cents::new(2 * RATE),
        }
    );
}
