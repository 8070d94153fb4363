//! The rental flow across all six services, at the actor level (no HTTP).

use std::collections::HashMap;

use actors::billing::ChargeStatus;
use actors::commands::CommandError;
use actors::reservations::{NewReservation, Requester, ReservationStatus, ReservationsError};
use actors::testing::cards::{DECLINED, INSUFFICIENT_FUNDS as NO_FUNDS, VISA};
use actors::testing::{TestSystem, UnitBehaviour, eventually, t0};
use chrono::TimeDelta;

fn window(start_h: i64, hours: i64, vehicle: actors::ids::VehicleId) -> NewReservation {
    NewReservation {
        vehicle_id: vehicle,
        start_at: t0() + TimeDelta::hours(start_h),
        end_at: t0() + TimeDelta::hours(start_h + hours),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_rental_from_registration_to_capture() {
    let test = TestSystem::start().await;
    let services = test.services().clone();
    let customer = test.customer(1, VISA).await;
    let car = test.vehicle(1, 3_000).await;
    test.park(car).await;

    let reservation = services
        .reservations
        .create(customer, window(1, 2, car), None)
        .await
        .unwrap();
    assert_eq!(reservation.status, ReservationStatus::Confirmed);
    assert_eq!(reservation.hold.amount_cents, 6_000);
    let charge = services
        .billing
        .summary(reservation.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (charge.status, charge.held_cents),
        (ChargeStatus::Held, 6_000)
    );

    // Too early: the window opens 15 minutes before the start.
    let early = services.reservations.unlock(car, customer).await;
    assert!(
        matches!(early, Err(ReservationsError::Access(_))),
        "{early:?}"
    );

    test.advance(TimeDelta::minutes(50));
    services.reservations.unlock(car, customer).await.unwrap();
    let active = services
        .reservations
        .get(Requester::Customer(customer), reservation.id)
        .unwrap();
    assert_eq!(active.status, ReservationStatus::Active);

    test.advance(TimeDelta::minutes(30));
    services.reservations.lock(car, customer).await.unwrap();
    services.reservations.unlock(car, customer).await.unwrap();

    // Driving: no locking under the driver.
    test.fix(car, Some(42.0)).await;
    assert!(matches!(
        services.reservations.lock(car, customer).await,
        Err(ReservationsError::Command(CommandError::Moving))
    ));
    test.park(car).await;

    test.advance(TimeDelta::minutes(60));
    let (finished, charge) = services
        .reservations
        .finish(customer, reservation.id)
        .await
        .unwrap();
    assert_eq!(finished.status, ReservationStatus::Completed);
    assert_eq!(charge.status, ChargeStatus::Captured);
    assert_eq!(charge.captured_cents, 6_000);

    // Someone else sees nothing of it, and the car is free again.
    let stranger = test.customer(2, VISA).await;
    assert!(matches!(
        services
            .reservations
            .get(Requester::Customer(stranger), reservation.id),
        Err(ReservationsError::NotFound)
    ));
    let audit = services.reservations.audit().unwrap();
    assert!(audit.violations.is_empty(), "{:?}", audit.violations);
    // Unlock, lock, unlock, then the lock of the release; the refused lock never became a command.
    use actors::locks::{CommandStatus, LockAction};
    let commands: Vec<_> = services
        .locks
        .commands(car)
        .unwrap()
        .iter()
        .map(|c| (c.action, c.status))
        .collect();
    assert_eq!(
        commands,
        [
            LockAction::Unlock,
            LockAction::Lock,
            LockAction::Unlock,
            LockAction::Lock
        ]
        .map(|action| (action, CommandStatus::Done))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_concurrent_overlapping_bookings_confirm_exactly_one_even_across_a_restart() {
    let test = TestSystem::start().await;
    let car = test.vehicle(7, 2_500).await;
    let mut customers = Vec::new();
    for n in 0..100 {
        customers.push(test.customer(100 + n, VISA).await);
    }

    async fn storm(
        test: &TestSystem,
        customers: &[actors::ids::CustomerId],
        car: actors::ids::VehicleId,
        base_h: i64,
    ) -> HashMap<&'static str, usize> {
        let attempts: Vec<_> = customers
            .iter()
            .enumerate()
            .map(|(i, customer)| {
                let reservations = test.services().reservations.clone();
                let customer = *customer;
                // Every window overlaps every other: starts spread over an hour, 2-3 h long.
                let start = t0() + TimeDelta::hours(base_h) + TimeDelta::minutes((i % 60) as i64);
                let request = NewReservation {
                    vehicle_id: car,
                    start_at: start,
                    end_at: start + TimeDelta::hours(2 + (i % 2) as i64),
                };
                tokio::spawn(async move { reservations.create(customer, request, None).await })
            })
            .collect();
        let mut outcomes = HashMap::new();
        for attempt in attempts {
            let kind = match attempt.await.unwrap() {
                Ok(reservation) if reservation.status == ReservationStatus::Confirmed => {
                    "confirmed"
                }
                Err(ReservationsError::VehicleBusy | ReservationsError::CustomerBusy) => "conflict",
                Ok(other) => panic!("unexpected status {:?}", other.status),
                Err(error) => panic!("unexpected error {error:?}"),
            };
            *outcomes.entry(kind).or_insert(0) += 1;
        }
        outcomes
    }

    let first = storm(&test, &customers, car, 2).await;
    assert_eq!(first.get("confirmed"), Some(&1), "{first:?}");
    assert_eq!(first.get("conflict"), Some(&99), "{first:?}");

    let test = test.restart().await;
    let second = storm(&test, &customers, car, 2).await;
    assert_eq!(
        second.get("conflict"),
        Some(&100),
        "the first booking still holds the car: {second:?}"
    );
    let third = storm(&test, &customers, car, 30).await;
    assert_eq!(third.get("confirmed"), Some(&1), "{third:?}");

    let audit = test.services().reservations.audit().unwrap();
    assert!(audit.violations.is_empty(), "{:?}", audit.violations);
    assert_eq!(audit.by_status.get("confirmed"), Some(&2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_rejects_the_reservation_and_frees_the_interval() {
    let test = TestSystem::start().await;
    let services = test.services().clone();
    let car = test.vehicle(2, 3_000).await;
    for (n, card, reason) in [
        (10, DECLINED, "declined"),
        (11, NO_FUNDS, "insufficient funds"),
    ] {
        let customer = test.customer(n, card).await;
        let refused = services
            .reservations
            .create(customer, window(1, 2, car), None)
            .await;
        let Err(ReservationsError::PaymentDeclined {
            reservation_id,
            reason: said,
        }) = refused
        else {
            panic!("expected a declined payment, got {refused:?}");
        };
        assert!(said.contains(reason), "{said}");
        let rejected = services
            .reservations
            .get(Requester::Customer(customer), reservation_id)
            .unwrap();
        assert_eq!(rejected.status, ReservationStatus::Rejected);
        let charge = services
            .billing
            .summary(reservation_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(charge.status, ChargeStatus::Declined);
    }
    let good = test.customer(12, VISA).await;
    let confirmed = services
        .reservations
        .create(good, window(1, 2, car), None)
        .await
        .unwrap();
    assert_eq!(confirmed.status, ReservationStatus::Confirmed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_replay_the_first_answer_and_refuse_a_different_request() {
    let test = TestSystem::start().await;
    let services = test.services().clone();
    let customer = test.customer(20, VISA).await;
    let car = test.vehicle(3, 3_000).await;
    let key = Some("8b1f0f6e-key".to_owned());
    let first = services
        .reservations
        .create(customer, window(1, 2, car), key.clone())
        .await
        .unwrap();
    let again = services
        .reservations
        .create(customer, window(1, 2, car), key.clone())
        .await
        .unwrap();
    assert_eq!(first.id, again.id);
    let different = services
        .reservations
        .create(customer, window(1, 3, car), key)
        .await;
    assert!(
        matches!(different, Err(ReservationsError::IdempotencyMismatch)),
        "{different:?}"
    );
    let ledger = services.billing.ledger(first.id).await.unwrap();
    assert_eq!(ledger.len(), 1, "one hold only: {ledger:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_never_unlocked_becomes_a_no_show_and_pays_one_hour() {
    let test = TestSystem::start().await;
    let services = test.services().clone();
    let customer = test.customer(30, VISA).await;
    let car = test.vehicle(4, 3_000).await;
    let reservation = services
        .reservations
        .create(customer, window(1, 3, car), None)
        .await
        .unwrap();

    test.advance(TimeDelta::hours(4) + TimeDelta::seconds(1));
    let reservations = services.reservations.clone();
    eventually("the no-show", || {
        let reservations = reservations.clone();
        async move {
            reservations
                .get(Requester::Admin, reservation.id)
                .unwrap()
                .status
                == ReservationStatus::NoShow
        }
    })
    .await;
    let charge = services
        .billing
        .summary(reservation.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (charge.status, charge.captured_cents),
        (ChargeStatus::Captured, 3_000)
    );
    assert!(
        !actors::ports::ReservationLookup::vehicle_has_open(&services.reservations, car)
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returning_late_pays_every_started_quarter_hour_and_the_late_fee() {
    let test = TestSystem::start().await;
    let services = test.services().clone();
    let customer = test.customer(40, VISA).await;
    let car = test.vehicle(5, 4_000).await;
    test.park(car).await;
    let reservation = services
        .reservations
        .create(customer, window(0, 2, car), None)
        .await
        .unwrap();
    services.reservations.unlock(car, customer).await.unwrap();

    // 2 h 20 min after the start: 20 minutes late is two started 15-minute blocks.
    test.advance(TimeDelta::minutes(140));
    test.park(car).await;
    let (finished, charge) = services
        .reservations
        .finish(customer, reservation.id)
        .await
        .unwrap();
    let expected = 8_000 + 2 * 1_000 + 5_000;
    assert_eq!(finished.total.unwrap().amount_cents, expected);
    assert_eq!(charge.captured_cents + charge.charged_cents, expected);
    assert_eq!(
        charge.captured_cents, 8_000,
        "never more than held is captured"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_before_the_start_voids_the_hold_and_afterwards_is_refused() {
    let test = TestSystem::start().await;
    let services = test.services().clone();
    let customer = test.customer(50, VISA).await;
    let car = test.vehicle(6, 3_000).await;
    let early = services
        .reservations
        .create(customer, window(1, 2, car), None)
        .await
        .unwrap();
    let cancelled = services
        .reservations
        .cancel(Requester::Customer(customer), early.id)
        .await
        .unwrap();
    assert_eq!(cancelled.status, ReservationStatus::Cancelled);
    let charge = services.billing.summary(early.id).await.unwrap().unwrap();
    assert_eq!(charge.status, ChargeStatus::Voided);

    let late = services
        .reservations
        .create(customer, window(1, 2, car), None)
        .await
        .unwrap();
    test.advance(TimeDelta::minutes(61));
    let refused = services
        .reservations
        .cancel(Requester::Customer(customer), late.id)
        .await;
    assert!(
        matches!(refused, Err(ReservationsError::InvalidState { .. })),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_unlock_expires_and_a_late_answer_does_not_count() {
    let test = TestSystem::start().await;
    let services = test.services().clone();
    let customer = test.customer(60, VISA).await;
    let car = test.vehicle(8, 3_000).await;
    let reservation = services
        .reservations
        .create(customer, window(0, 2, car), None)
        .await
        .unwrap();
    test.units().set_behaviour(car, UnitBehaviour::Silent);

    let reservations = services.reservations.clone();
    let unlock = tokio::spawn(async move { reservations.unlock(car, customer).await });
    let command = test.command(car, 1).await;
    test.advance(TimeDelta::seconds(11));
    let outcome = unlock.await.unwrap();
    assert!(
        matches!(
            outcome,
            Err(ReservationsError::Command(CommandError::UnitTimeout))
        ),
        "{outcome:?}"
    );

    let late = services
        .locks
        .acknowledge(car, command.command_id, actors::locks::UnitResult::Done)
        .await
        .unwrap();
    assert_eq!(late, actors::locks::AckOutcome::Late);
    let logged = services.locks.commands(car).unwrap();
    let unlock = logged
        .iter()
        .find(|logged| logged.id == command.command_id)
        .unwrap();
    assert_eq!(unlock.status, actors::locks::CommandStatus::Expired);
    // The unit did open the doors, late: the car is locked again at once.
    let relock = test.command(car, 2).await;
    assert_eq!(relock.action, actors::locks::LockAction::Lock);
    services
        .locks
        .acknowledge(car, relock.command_id, actors::locks::UnitResult::Done)
        .await
        .unwrap();
    let still = services
        .reservations
        .get(Requester::Customer(customer), reservation.id)
        .unwrap();
    assert_eq!(
        still.status,
        ReservationStatus::Confirmed,
        "an expired unlock does not activate"
    );

    // The unit comes back: the next unlock works, and a repeated ack counts once.
    test.units().set_behaviour(car, UnitBehaviour::Obey);
    let done = services.reservations.unlock(car, customer).await.unwrap();
    let repeat = services
        .locks
        .acknowledge(car, done.id, actors::locks::UnitResult::Done)
        .await
        .unwrap();
    assert_eq!(repeat, actors::locks::AckOutcome::Duplicate);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_lists_only_their_own_reservations() {
    use actors::reservations::ReservationFilter;
    let test = TestSystem::start().await;
    let services = test.services().clone();
    let mut customers = Vec::new();
    for n in 0..4 {
        let customer = test.customer(70 + n, VISA).await;
        let car = test.vehicle(70 + n, 3_000).await;
        services
            .reservations
            .create(customer, window(1, 2, car), None)
            .await
            .unwrap();
        customers.push(customer);
    }
    // Ids sort by creation: the later customers have earlier ones before them in the index.
    for customer in customers {
        let page = services
            .reservations
            .list(
                Requester::Customer(customer),
                &ReservationFilter::default(),
                50,
                None,
            )
            .unwrap();
        assert_eq!(page.items.len(), 1);
        assert!(
            page.items
                .iter()
                .all(|reservation| reservation.customer_id == customer)
        );
    }
    let all = services
        .reservations
        .list(Requester::Admin, &ReservationFilter::default(), 50, None)
        .unwrap();
    assert_eq!(all.items.len(), 4);
}
