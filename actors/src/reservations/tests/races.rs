//! A command in flight against the reservation's other changes: whatever arrives while the
//! unit has not answered waits for the answer, so the car is never open under a reservation
//! that no longer holds it.

use chrono::TimeDelta;

use super::*;
use crate::billing::ChargeStatus;
use crate::commands::AckOutcome;
use crate::incident::IncidentKind;
use crate::reservations::{AccessDenied, Requester, ReservationStatus, ReservationsError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_before_the_unlock_leaves_nothing_to_open() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let services = fixture.services().clone();
    let reservation = book(&fixture, customer, vehicle, 5, 2).await;
    services
        .reservations
        .cancel(Requester::Customer(customer), reservation.id)
        .await
        .unwrap();
    let unlock = services.reservations.unlock(vehicle, customer).await;
    assert!(
        matches!(
            unlock,
            Err(ReservationsError::Access(AccessDenied::NoReservation))
        ),
        "{unlock:?}"
    );
    assert!(
        fixture.units().delivered().is_empty(),
        "nothing reached the car"
    );
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_during_an_unlock_waits_for_the_unit_and_finds_the_rental_started() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let services = fixture.services().clone();
    let reservation = book(&fixture, customer, vehicle, 5, 2).await;
    script_unit(&fixture, vehicle);

    let (unlock, command) = unlock_in_flight(&fixture, customer, vehicle).await;
    let reservations = services.reservations.clone();
    let cancel = tokio::spawn(async move {
        reservations
            .cancel(Requester::Customer(customer), reservation.id)
            .await
    });
    settle_in().await;
    assert!(
        !cancel.is_finished(),
        "the cancel waits for the unit's answer"
    );
    answer(&fixture, vehicle, &command, UnitResult::Done).await;

    assert_eq!(unlock.await.unwrap().unwrap().status, CommandStatus::Done);
    let cancelled = cancel.await.unwrap();
    assert!(
        matches!(
            cancelled,
            Err(ReservationsError::InvalidState {
                status: ReservationStatus::Active,
                ..
            })
        ),
        "{cancelled:?}"
    );
    let charge = services
        .billing
        .summary(reservation.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        charge.status,
        ChargeStatus::Held,
        "the hold stays for the rental"
    );
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_no_show_deadline_during_an_unlock_waits_and_finds_the_rental_started() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let services = fixture.services().clone();
    let reservation = book(&fixture, customer, vehicle, 0, 2).await;
    script_unit(&fixture, vehicle);
    // Five seconds before the end, inside the window.
    fixture.advance(TimeDelta::hours(2) - TimeDelta::seconds(5));
    let (unlock, command) = unlock_in_flight(&fixture, customer, vehicle).await;
    // The no-show deadline comes due while the unit has not answered.
    fixture.advance(TimeDelta::seconds(5));
    settle_in().await;
    answer(&fixture, vehicle, &command, UnitResult::Done).await;
    assert_eq!(unlock.await.unwrap().unwrap().status, CommandStatus::Done);

    settle_in().await;
    let now = services
        .reservations
        .get(Requester::Admin, reservation.id)
        .unwrap();
    assert_eq!(now.status, ReservationStatus::Active, "not a no-show");
    let charge = services
        .billing
        .summary(reservation.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(charge.status, ChargeStatus::Held);
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlock_during_a_release_finds_the_car_released() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let services = fixture.services().clone();
    let reservation = book(&fixture, customer, vehicle, 0, 2).await;
    services
        .reservations
        .unlock(vehicle, customer)
        .await
        .unwrap();
    script_unit(&fixture, vehicle);
    fixture.advance(TimeDelta::hours(1));

    let reservations = services.reservations.clone();
    let id = reservation.id;
    let finish = tokio::spawn(async move { reservations.finish(customer, id).await });
    let lock = fixture.command(vehicle, 2).await;
    assert_eq!(lock.action, LockAction::Lock);
    let during = services.reservations.unlock(vehicle, customer).await;
    assert!(
        matches!(
            during,
            Err(ReservationsError::Command(
                crate::commands::CommandError::CommandInProgress
            ))
        ),
        "{during:?}"
    );
    answer(&fixture, vehicle, &lock, UnitResult::Done).await;

    let (finished, _) = finish.await.unwrap().unwrap();
    assert_eq!(finished.status, ReservationStatus::Completed);
    let unlock = services.reservations.unlock(vehicle, customer).await;
    assert!(
        matches!(
            unlock,
            Err(ReservationsError::Access(AccessDenied::NoReservation))
        ),
        "{unlock:?}"
    );
    assert_eq!(
        command_log(&fixture, vehicle),
        [
            (LockAction::Unlock, CommandStatus::Done),
            (LockAction::Lock, CommandStatus::Done)
        ],
        "no unlock after the release"
    );
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlock_answered_after_the_reservation_ended_relocks_the_car_and_is_an_incident() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let services = fixture.services().clone();
    let reservation = book(&fixture, customer, vehicle, 5, 2).await;
    script_unit(&fixture, vehicle);

    let (unlock, command) = unlock_in_flight(&fixture, customer, vehicle).await;
    fixture.advance(TimeDelta::seconds(11));
    let unlocked = unlock.await.unwrap();
    assert!(
        matches!(
            unlocked,
            Err(ReservationsError::Command(
                crate::commands::CommandError::UnitTimeout
            ))
        ),
        "{unlocked:?}"
    );
    services
        .reservations
        .cancel(Requester::Customer(customer), reservation.id)
        .await
        .unwrap();

    // The unit's answer finally arrives: it did open the doors.
    let outcome = services
        .locks
        .acknowledge(vehicle, command.command_id, UnitResult::Done)
        .await
        .unwrap();
    assert_eq!(outcome, AckOutcome::Late);
    let relock = fixture.command(vehicle, 2).await;
    assert_eq!(
        relock.action,
        LockAction::Lock,
        "the car is locked again at once"
    );
    let incidents = services.locks.incidents().unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].kind, IncidentKind::LateUnlockRelocked);
    assert_eq!(incidents[0].reservation_id, Some(reservation.id));
    let audit = assert_audit_clean(&fixture).await;
    assert_eq!(audit.incidents.get("late_unlock_relocked"), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_to_back_the_next_renter_waits_until_the_late_rental_ends() {
    let fixture = TestSystem::start().await;
    let vehicle = fixture.vehicle(0, RATE).await;
    let ana = fixture.customer(1, VISA).await;
    let bia = fixture.customer(2, VISA).await;
    let services = fixture.services().clone();
    let first = book(&fixture, ana, vehicle, 0, 2).await;
    let second = book(&fixture, bia, vehicle, 120, 2).await;
    services.reservations.unlock(vehicle, ana).await.unwrap();

    // 11:46: Bia's grace has begun, Ana's window has not ended.
    fixture.advance(TimeDelta::minutes(106));
    let early = services.reservations.unlock(vehicle, bia).await;
    assert!(
        matches!(
            early,
            Err(ReservationsError::Access(AccessDenied::CarNotReturned))
        ),
        "{early:?}"
    );
    // 12:20: Ana is late; Bia's window is open but the car is not back.
    fixture.advance(TimeDelta::minutes(34));
    let late = services.reservations.unlock(vehicle, bia).await;
    assert!(
        matches!(
            late,
            Err(ReservationsError::Access(AccessDenied::CarNotReturned))
        ),
        "{late:?}"
    );
    services.reservations.lock(vehicle, ana).await.unwrap();
    let (finished, _) = services.reservations.finish(ana, first.id).await.unwrap();
    assert_eq!(finished.status, ReservationStatus::Completed);
    assert!(finished.overtime_cents.is_positive());

    services.reservations.unlock(vehicle, bia).await.unwrap();
    let second = services
        .reservations
        .get(Requester::Admin, second.id)
        .unwrap();
    assert_eq!(second.status, ReservationStatus::Active);
    let again = services.reservations.unlock(vehicle, ana).await;
    assert!(again.is_err(), "Ana's access ended with her rental");
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renter_the_car_was_kept_from_owes_no_no_show_fee() {
    let fixture = TestSystem::start().await;
    let vehicle = fixture.vehicle(0, RATE).await;
    let ana = fixture.customer(1, VISA).await;
    let bia = fixture.customer(2, VISA).await;
    let services = fixture.services().clone();
    let first = book(&fixture, ana, vehicle, 0, 2).await;
    let second = book(&fixture, bia, vehicle, 120, 2).await;
    services.reservations.unlock(vehicle, ana).await.unwrap();
    // Ana returns 20 minutes into Bia's window; Bia has given up and never unlocks.
    fixture.advance(TimeDelta::minutes(140));
    services.reservations.finish(ana, first.id).await.unwrap();
    fixture.advance(TimeDelta::minutes(100));
    let status = || {
        services
            .reservations
            .get(Requester::Admin, second.id)
            .unwrap()
            .status
    };
    eventually("Bia's reservation is settled", || {
        std::future::ready(status() != ReservationStatus::Confirmed)
    })
    .await;
    assert_eq!(status(), ReservationStatus::Cancelled, "not a no-show");
    let charge = services.billing.summary(second.id).await.unwrap().unwrap();
    assert_eq!(
        (charge.status, charge.captured_cents),
        (ChargeStatus::Voided, 0)
    );
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_car_running_late_is_not_booked_before_its_automatic_end() {
    let fixture = TestSystem::start().await;
    let vehicle = fixture.vehicle(0, RATE).await;
    let ana = fixture.customer(1, VISA).await;
    let bia = fixture.customer(2, VISA).await;
    let services = fixture.services().clone();
    book(&fixture, ana, vehicle, 0, 2).await;
    services.reservations.unlock(vehicle, ana).await.unwrap();
    fixture.advance(TimeDelta::minutes(130));
    let now = fixture.now();
    let request = |start: chrono::DateTime<chrono::Utc>| NewReservation {
        vehicle_id: vehicle,
        start_at: start,
        end_at: start + TimeDelta::hours(2),
    };
    let refused = services.reservations.create(bia, request(now), None).await;
    assert!(
        matches!(refused, Err(ReservationsError::VehicleBusy)),
        "{refused:?}"
    );
    // Ana's rental ends on its own at 13:00 at the latest: from then the car can be booked.
    let later = t0() + TimeDelta::hours(3);
    services
        .reservations
        .create(bia, request(later), None)
        .await
        .expect("booking after the automatic end");
}
