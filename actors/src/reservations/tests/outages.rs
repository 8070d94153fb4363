//! The payment provider down: a booking is refused as transient (nothing held, the slot free)
//! and its retry with the same idempotency key books it once the provider is back; a release
//! completes the rental and its capture is retried in the background, on the service clock,
//! until it is done, exactly once.

use chrono::TimeDelta;

use super::*;
use crate::billing::{ChargeStatus, CircuitState, EntryKind};
use crate::reservations::{Requester, ReservationStatus, ReservationsError};

fn request(vehicle: VehicleId, start_min: i64) -> NewReservation {
    let start = t0() + TimeDelta::minutes(start_min);
    NewReservation {
        vehicle_id: vehicle,
        start_at: start,
        end_at: start + TimeDelta::hours(2),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_during_an_outage_holds_nothing_and_its_retry_with_the_same_key_books_once() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let services = fixture.services();
    let outage = services.billing.provider_outage();
    outage.set_down(true);
    let key = Some("outage-1".to_owned());
    let refused = services
        .reservations
        .create(customer, request(vehicle, 60), key.clone())
        .await;
    assert!(
        matches!(refused, Err(ReservationsError::PaymentUnavailable)),
        "{refused:?}"
    );
    assert_eq!(outage.refused(), 1, "one call, refused by the outage");
    assert!(
        services.billing.unresolved().unwrap().is_empty(),
        "nothing held"
    );
    assert!(
        services
            .reservations
            .list(
                Requester::Customer(customer),
                &crate::reservations::ReservationFilter::default(),
                10,
                None
            )
            .unwrap()
            .items
            .is_empty(),
        "no reservation, not even a rejected one"
    );
    // The same key with another body is still another request.
    let mismatch = services
        .reservations
        .create(customer, request(vehicle, 90), key.clone())
        .await;
    assert!(
        matches!(mismatch, Err(ReservationsError::IdempotencyMismatch)),
        "{mismatch:?}"
    );

    outage.set_down(false);
    let booked = services
        .reservations
        .create(customer, request(vehicle, 60), key.clone())
        .await
        .expect("the retry books");
    assert_eq!(booked.status, ReservationStatus::Confirmed);
    let again = services
        .reservations
        .create(customer, request(vehicle, 60), key)
        .await
        .expect("a replay");
    assert_eq!(again.id, booked.id);
    let charge = services.billing.summary(booked.id).await.unwrap().unwrap();
    assert_eq!(
        (charge.status, charge.held_cents),
        (ChargeStatus::Held, 2 * RATE)
    );
    let holds = services
        .billing
        .ledger(booked.id)
        .await
        .unwrap()
        .iter()
        .filter(|entry| entry.kind == EntryKind::Hold)
        .count();
    assert_eq!(holds, 1);
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slot_of_a_booking_refused_by_an_outage_stays_free() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let other = fixture.customer(1, cards::VISA).await;
    let services = fixture.services();
    services.billing.provider_outage().set_down(true);
    let refused = services
        .reservations
        .create(customer, request(vehicle, 60), Some("k".into()))
        .await;
    assert!(matches!(
        refused,
        Err(ReservationsError::PaymentUnavailable)
    ));
    services.billing.provider_outage().set_down(false);
    let taken = services
        .reservations
        .create(other, request(vehicle, 60), None)
        .await
        .expect("another customer books the same slot");
    assert_eq!(taken.status, ReservationStatus::Confirmed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_circuit_opens_under_an_outage_fails_fast_and_closes_after_the_cool_down() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let services = fixture.services();
    let outage = services.billing.provider_outage();
    outage.set_down(true);
    for attempt in 0..7 {
        let refused = services
            .reservations
            .create(customer, request(vehicle, 60), Some(format!("k{attempt}")))
            .await;
        assert!(
            matches!(refused, Err(ReservationsError::PaymentUnavailable)),
            "{refused:?}"
        );
    }
    assert_eq!(
        outage.refused(),
        u64::from(crate::billing::FAILURES_TO_OPEN),
        "once open, calls no longer reach the provider"
    );
    assert_eq!(services.billing.provider_circuit(), CircuitState::Open);
    outage.set_down(false);
    let early = services
        .reservations
        .create(customer, request(vehicle, 60), Some("k0".into()))
        .await;
    assert!(
        matches!(early, Err(ReservationsError::PaymentUnavailable)),
        "still open during the cool-down: {early:?}"
    );
    fixture.advance(crate::billing::COOL_DOWN);
    assert_eq!(services.billing.provider_circuit(), CircuitState::HalfOpen);
    let booked = services
        .reservations
        .create(customer, request(vehicle, 60), Some("k0".into()))
        .await
        .expect("the probe books");
    assert_eq!(booked.status, ReservationStatus::Confirmed);
    assert_eq!(services.billing.provider_circuit(), CircuitState::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_the_provider_cannot_do_at_release_is_retried_until_done_exactly_once() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let services = fixture.services();
    let reservation = book(&fixture, customer, vehicle, 0, 2).await;
    services
        .reservations
        .unlock(vehicle, customer)
        .await
        .unwrap();
    fixture.advance(TimeDelta::minutes(90));
    let outage = services.billing.provider_outage();
    outage.set_down(true);
    let (finished, charge) = services
        .reservations
        .finish(customer, reservation.id)
        .await
        .expect("the rental completes for the customer");
    assert_eq!(finished.status, ReservationStatus::Completed);
    assert_eq!(charge.status, ChargeStatus::Pending, "{charge:?}");
    assert_eq!(charge.captured_cents, 0);

    // The first retry is a minute later and fails too; the next waits longer (backoff).
    let refused_before = outage.refused();
    fixture.advance(TimeDelta::minutes(1));
    eventually("the first retry", || {
        std::future::ready(outage.refused() > refused_before)
    })
    .await;
    let status = |fixture: &TestSystem| {
        let billing = fixture.services().billing.clone();
        async move { billing.summary(reservation.id).await.unwrap().unwrap() }
    };
    assert_eq!(status(&fixture).await.status, ChargeStatus::Pending);

    outage.set_down(false);
    fixture.advance(TimeDelta::minutes(2));
    eventually("the capture after recovery", || async {
        status(&fixture).await.status == ChargeStatus::Captured
    })
    .await;
    let captured = status(&fixture).await;
    assert_eq!(captured.captured_cents, 2 * RATE);
    fixture.advance(TimeDelta::hours(3));
    settle_in().await;
    let captures = services
        .billing
        .ledger(reservation.id)
        .await
        .unwrap()
        .iter()
        .filter(|entry| entry.kind == EntryKind::Capture)
        .count();
    assert_eq!(captures, 1, "captured exactly once");
    let record = services
        .reservations
        .get(Requester::Admin, reservation.id)
        .unwrap();
    assert_eq!(record.status, ReservationStatus::Completed);
    assert_audit_clean(&fixture).await;
}

#[test]
fn the_settlement_retries_back_off_exponentially_up_to_a_cap() {
    use crate::reservations::car::{SETTLE_RETRY_CAP, settle_retry_at};
    let released = t0();
    let mut record = crate::reservations::model::ReservationRecord::sample(
        ReservationStatus::Completed,
        released - TimeDelta::hours(2),
        released,
    );
    record.released_at = Some(released);
    let mut at = released;
    let mut pauses = Vec::new();
    for _ in 0..10 {
        record.updated_at = at;
        let next = settle_retry_at(&record);
        pauses.push((next - at).num_minutes());
        at = next;
    }
    assert_eq!(pauses[..7], [1, 1, 2, 4, 8, 16, 32]);
    assert!(
        pauses[7..]
            .iter()
            .all(|pause| *pause == SETTLE_RETRY_CAP.num_minutes())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_the_outage_interrupted_and_nobody_retried_is_forgotten_after_a_day() {
    use crate::reservations::retention::{IdempotencyPurge, KEY_TTL};
    use crate::retention::purge_all;
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let services = fixture.services();
    services.billing.provider_outage().set_down(true);
    let refused = services
        .reservations
        .create(customer, request(vehicle, 60), Some("never-retried".into()))
        .await;
    assert!(matches!(
        refused,
        Err(ReservationsError::PaymentUnavailable)
    ));
    let tables = &services.reservations.inner.tables;
    assert_eq!(tables.unfinished_bookings.len(), 1);
    let job = IdempotencyPurge {
        tables: tables.clone(),
    };
    fixture.advance(KEY_TTL);
    assert_eq!(
        purge_all(&job, fixture.now()).await.unwrap(),
        0,
        "kept a day"
    );
    fixture.advance(TimeDelta::seconds(1));
    assert_eq!(purge_all(&job, fixture.now()).await.unwrap(), 1);
    assert_eq!(tables.unfinished_bookings.len(), 0);
}
