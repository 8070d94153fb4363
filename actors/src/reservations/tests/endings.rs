//! Rentals that are never released end on their own, and money the card refuses becomes a
//! balance that blocks the next booking until it is paid.

use chrono::TimeDelta;

use super::*;
use crate::billing::ChargeStatus;
use crate::customers::CustomerPatch;
use crate::incident::IncidentKind;
use crate::reservations::{EndedBy, Requester, ReservationStatus, ReservationsError};

/// An hour late: four started 15-minute blocks and the late fee.
const HOUR_LATE: i64 = 4 * RATE / 4 + 5_000;

async fn started(fixture: &TestSystem, card: &str) -> (CustomerId, VehicleId, Reservation) {
    let customer = fixture.customer(3, card).await;
    let vehicle = fixture.vehicle(0, RATE).await;
    let reservation = book(fixture, customer, vehicle, 0, 2).await;
    fixture
        .services()
        .reservations
        .unlock(vehicle, customer)
        .await
        .unwrap();
    (customer, vehicle, reservation)
}

/// Moves the clock to the automatic end and waits until the system has ended the rental.
async fn past_auto_end(fixture: &TestSystem, reservation: &Reservation) -> Reservation {
    fixture.advance(TimeDelta::hours(2) + TimeDelta::minutes(60));
    let reservations = &fixture.services().reservations;
    let now = || reservations.get(Requester::Admin, reservation.id).unwrap();
    eventually("the rental is ended", || {
        std::future::ready(now().status != ReservationStatus::Active)
    })
    .await;
    now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rental_never_released_is_ended_by_the_system_with_its_overtime() {
    let fixture = TestSystem::start().await;
    let (_, vehicle, reservation) = started(&fixture, VISA).await;
    let ended = past_auto_end(&fixture, &reservation).await;
    assert_eq!(ended.status, ReservationStatus::Completed);
    assert_eq!(ended.ended_by, Some(EndedBy::System));
    assert_eq!(ended.overtime_cents.get(), HOUR_LATE);
    let hold = 2 * RATE;
    assert_eq!(
        ended.total.map(|total| total.amount_cents),
        Some(hold + HOUR_LATE)
    );
    let charge = fixture
        .services()
        .billing
        .summary(reservation.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(charge.status, ChargeStatus::Captured);
    assert_eq!(
        (charge.captured_cents, charge.charged_cents),
        (hold, HOUR_LATE)
    );
    assert_eq!(
        command_log(&fixture, vehicle).last(),
        Some(&(LockAction::Lock, CommandStatus::Done)),
        "the car was locked"
    );
    let audit = assert_audit_clean(&fixture).await;
    assert!(audit.incidents.is_empty(), "{:?}", audit.incidents);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automatic_end_with_a_silent_unit_still_ends_and_tells_the_operator() {
    let fixture = TestSystem::start().await;
    let (_, vehicle, reservation) = started(&fixture, VISA).await;
    fixture
        .units()
        .set_behaviour(vehicle, UnitBehaviour::Offline);
    let advance = fixture.clock().clone();
    // The lock the system sends expires unanswered: move the clock past it too.
    let ticker = tokio::spawn(async move {
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            advance.advance(TimeDelta::seconds(1));
        }
    });
    let ended = past_auto_end(&fixture, &reservation).await;
    ticker.abort();
    assert_eq!(ended.status, ReservationStatus::Completed);
    assert_eq!(ended.ended_by, Some(EndedBy::System));
    let incidents = fixture.services().reservations.incidents().unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0].kind, IncidentKind::AutoEndNotLocked);
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overtime_the_card_refuses_becomes_a_balance_that_blocks_booking_until_paid() {
    let fixture = TestSystem::start().await;
    // This card approves holds and refuses every charge beyond them.
    let (customer, vehicle, reservation) = started(&fixture, cards::HOLDS_ONLY).await;
    let ended = past_auto_end(&fixture, &reservation).await;
    assert_eq!(
        ended.status,
        ReservationStatus::Completed,
        "never stuck active"
    );
    assert_eq!(ended.outstanding_cents.get(), HOUR_LATE);
    let services = fixture.services().clone();
    let profile = services.customers.get(customer).await.unwrap();
    assert_eq!(profile.outstanding_cents, HOUR_LATE);

    let start = fixture.now() + TimeDelta::hours(1);
    let request = NewReservation {
        vehicle_id: vehicle,
        start_at: start,
        end_at: start + TimeDelta::hours(2),
    };
    let refused = services
        .reservations
        .create(customer, request.clone(), None)
        .await;
    assert!(
        matches!(
            refused,
            Err(ReservationsError::OutstandingBalance { outstanding_cents }) if outstanding_cents == HOUR_LATE
        ),
        "{refused:?}"
    );
    // Paying with the same card fails again; a new card pays it.
    assert!(services.customers.pay_outstanding(customer).await.is_err());
    let patch = CustomerPatch {
        card: Some(
            crate::customers::CardInput {
                number: "5555555555554444".into(),
                exp_month: 12,
                exp_year: 2030,
                cvc: "123".into(),
                holder_name: "ANA SOUZA".into(),
            }
            .into(),
        ),
        ..CustomerPatch::default()
    };
    services
        .customers
        .update(customer, patch, None)
        .await
        .unwrap();
    let paid = services.customers.pay_outstanding(customer).await.unwrap();
    assert_eq!(paid.outstanding_cents, 0);
    let charge = services
        .billing
        .summary(reservation.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(charge.charged_cents, HOUR_LATE, "collected once");

    services
        .reservations
        .create(customer, request, None)
        .await
        .expect("booking after paying");
    let audit = assert_audit_clean(&fixture).await;
    assert_eq!(audit.customers_with_outstanding, 0);
    assert_eq!(audit.incidents.get("charge_refused"), Some(&1));
}
