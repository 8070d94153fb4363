//! A crash between two steps of booking, unlocking and releasing: after a restart the rental
//! continues where it stood and the audit holds.

use chrono::TimeDelta;

use super::*;
use crate::billing::ChargeStatus;
use crate::reservations::faults::FaultPoint;
use crate::reservations::{Requester, ReservationStatus};

/// Runs `request` until the car's actor reaches `point`, drops the request (its client is
/// gone), kills the actor there and restarts the whole system on the same data.
pub(super) async fn crash_at<T: Send + 'static>(
    fixture: TestSystem,
    point: FaultPoint,
    request: impl Future<Output = T> + Send + 'static,
) -> TestSystem {
    let faults = fixture.services().reservations.inner.faults.clone();
    faults.arm(point);
    let running = tokio::spawn(request);
    faults.reached().await;
    running.abort();
    let _ = running.await;
    faults.crash();
    settle_in().await;
    fixture.restart().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_hold_leaves_no_hold_and_the_car_bookable() {
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
    let services = fixture.services().clone();
    assert!(
        services.billing.unresolved().unwrap().is_empty(),
        "the orphan hold was voided"
    );
    assert_audit_clean(&fixture).await;
    let booked = services
        .reservations
        .create(customer, again, None)
        .await
        .unwrap();
    assert_eq!(booked.status, ReservationStatus::Confirmed);
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_an_unlock_leaves_is_forgotten_and_the_renter_unlocks_again() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let reservation = book(&fixture, customer, vehicle, 0, 2).await;
    let reservations = fixture.services().reservations.clone();
    let fixture = crash_at(fixture, FaultPoint::CommandMarked, async move {
        reservations.unlock(vehicle, customer).await
    })
    .await;
    assert!(fixture.units().delivered().is_empty());
    let services = fixture.services().clone();
    services
        .reservations
        .unlock(vehicle, customer)
        .await
        .unwrap();
    let now = services
        .reservations
        .get(Requester::Admin, reservation.id)
        .unwrap();
    assert_eq!(now.status, ReservationStatus::Active);
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_unit_unlocked_is_reconciled_from_the_command_log() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let reservation = book(&fixture, customer, vehicle, 0, 2).await;
    let reservations = fixture.services().reservations.clone();
    let fixture = crash_at(fixture, FaultPoint::CommandAnswered, async move {
        reservations.unlock(vehicle, customer).await
    })
    .await;
    let services = fixture.services().clone();
    // The car's next message reconciles first (start-up also asks it to, in the background).
    services.reservations.lock(vehicle, customer).await.unwrap();
    let now = services
        .reservations
        .get(Requester::Admin, reservation.id)
        .unwrap();
    assert_eq!(
        now.status,
        ReservationStatus::Active,
        "the unlock the car did counts"
    );
    assert!(now.unlocked_at.is_some());
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_during_a_release_lets_the_renter_release_again_and_pays_once() {
    for point in [FaultPoint::ReleaseLocked, FaultPoint::ReleaseSettled] {
        let (fixture, customer, vehicle) = one_customer_one_car().await;
        let reservation = book(&fixture, customer, vehicle, 0, 2).await;
        let services = fixture.services().clone();
        services
            .reservations
            .unlock(vehicle, customer)
            .await
            .unwrap();
        fixture.advance(TimeDelta::minutes(150));
        let reservations = services.reservations.clone();
        let id = reservation.id;
        drop(services);
        let fixture = crash_at(fixture, point, async move {
            reservations.finish(customer, id).await
        })
        .await;
        let services = fixture.services().clone();
        let still = services.reservations.get(Requester::Admin, id).unwrap();
        assert_eq!(still.status, ReservationStatus::Active, "{point:?}");
        let (finished, charge) = services.reservations.finish(customer, id).await.unwrap();
        assert_eq!(finished.status, ReservationStatus::Completed, "{point:?}");
        assert_eq!(charge.status, ChargeStatus::Captured);
        let expected = 2 * 3_000 + 2 * 3_000 / 4 + 5_000;
        assert_eq!(
            charge.captured_cents + charge.charged_cents,
            expected,
            "{point:?}: captured once"
        );
        let ledger = services.billing.ledger(id).await.unwrap();
        let captures = ledger
            .iter()
            .filter(|entry| entry.kind == crate::billing::EntryKind::Capture)
            .count();
        assert_eq!(captures, 1, "{point:?}");
        assert_audit_clean(&fixture).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_command_is_offered_to_a_reconnecting_unit_and_expires_after_a_restart() {
    let fixture = TestSystem::start().await;
    let customer = fixture.customer(0, VISA).await;
    let vehicle = fixture.vehicle(0, RATE).await;
    let services = fixture.services().clone();
    let request = NewReservation {
        vehicle_id: vehicle,
        start_at: t0(),
        end_at: t0() + TimeDelta::hours(2),
    };
    services
        .reservations
        .create(customer, request, None)
        .await
        .unwrap();
    fixture
        .units()
        .set_behaviour(vehicle, UnitBehaviour::Offline);

    let reservations = services.reservations.clone();
    let waiting = tokio::spawn(async move { reservations.unlock(vehicle, customer).await });
    // The unit is offline: wait until the command is logged as pending for it.
    eventually("the command pending for the offline unit", || {
        let locks = services.locks.clone();
        async move { !locks.pending_commands(vehicle).await.unwrap().is_empty() }
    })
    .await;
    let pending = services.locks.pending_commands(vehicle).await.unwrap();
    assert_eq!(
        pending.len(),
        1,
        "a reconnecting unit gets the unexpired command"
    );
    assert!(
        fixture.units().delivered().is_empty(),
        "an offline unit received nothing"
    );

    // The process stops with the request in flight.
    waiting.abort();
    assert!(waiting.await.unwrap_err().is_cancelled());
    drop(services);
    let fixture = fixture.restart().await;
    fixture.advance(TimeDelta::seconds(11));
    let locks = &fixture.services().locks;
    assert!(
        locks.pending_commands(vehicle).await.unwrap().is_empty(),
        "nothing stays pending"
    );
    // The expiry is written by the command's own timer once the clock passed it, after the
    // question above could already answer "nothing pending".
    eventually("the command logged as expired", || {
        let log = locks.commands(vehicle).unwrap();
        async move { log.len() == 1 && log[0].status == CommandStatus::Expired }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_an_extra_hold_keeps_the_old_end_and_the_cancel_voids_that_hold_too() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let booked = book(&fixture, customer, vehicle, 60, 2).await;
    let reservations = fixture.services().reservations.clone();
    let new_end = booked.end_at + TimeDelta::hours(1);
    let fixture = crash_at(fixture, FaultPoint::ExtensionHeld, async move {
        reservations.extend(customer, booked.id, new_end).await
    })
    .await;
    let services = fixture.services().clone();
    let after = services
        .reservations
        .get(Requester::Admin, booked.id)
        .unwrap();
    assert_eq!((after.end_at, &after.hold), (booked.end_at, &booked.hold));
    let charge = services.billing.summary(booked.id).await.unwrap().unwrap();
    assert_eq!(
        charge.held_cents,
        3 * RATE,
        "the extra hold is in the ledger"
    );
    assert_audit_clean(&fixture).await;
    // The settlement takes from the holds in order: a cancel voids both, nothing is paid.
    services
        .reservations
        .cancel(Requester::Customer(customer), booked.id)
        .await
        .unwrap();
    let charge = services.billing.summary(booked.id).await.unwrap().unwrap();
    assert_eq!(
        (charge.status, charge.captured_cents),
        (ChargeStatus::Voided, 0)
    );
    assert!(services.billing.unresolved().unwrap().is_empty());
    assert_audit_clean(&fixture).await;
}
