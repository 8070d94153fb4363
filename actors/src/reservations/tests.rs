//! Crash recovery of the booking saga.

use chrono::TimeDelta;

use super::model::{ReservationRecord, ReservationStatus};
use super::{Requester, pricing};
use crate::billing::ChargeStatus;
use crate::ids::ReservationId;
use crate::testing::{Fixture, t0};

/// Writes a booking exactly as the car's calendar does, without the payment step that follows:
/// the state a crash between the two leaves behind.
fn interrupted_booking(
    fixture: &Fixture,
    customer: crate::ids::CustomerId,
    vehicle: crate::ids::VehicleId,
) -> ReservationRecord {
    let start = t0() + TimeDelta::hours(1);
    let record = ReservationRecord {
        id: ReservationId::new(),
        vehicle_id: vehicle,
        customer_id: customer,
        start_at: start,
        end_at: start + TimeDelta::hours(2),
        status: ReservationStatus::PendingPayment,
        hourly_rate_cents: 3_000,
        hold_cents: pricing::hold_cents(3_000, start, start + TimeDelta::hours(2)),
        total_cents: None,
        unlocked_at: None,
        released_at: None,
        rejection: None,
        created_at: t0(),
        updated_at: t0(),
    };
    let tables = &fixture.system.services().reservations.inner.tables;
    tables
        .insert_booking(&record, None, &[super::entity::payment_deadline(&record)])
        .unwrap();
    tables.store.commit_blocking().unwrap();
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saga_interrupted_before_the_hold_resumes_at_start_and_ends_consistent() {
    let fixture = Fixture::start().await;
    let customer = fixture.customer().await;
    let vehicle = fixture.vehicle().await;
    let record = interrupted_booking(&fixture, customer, vehicle);
    assert!(
        fixture
            .system
            .services()
            .billing
            .summary(record.id)
            .await
            .unwrap()
            .is_none()
    );

    let fixture = fixture.restart().await;
    let services = fixture.system.services().clone();
    let mut confirmed = false;
    for _ in 0..300 {
        let status = services
            .reservations
            .get(Requester::Admin, record.id)
            .unwrap()
            .status;
        if status == ReservationStatus::Confirmed {
            confirmed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(confirmed, "the saga did not resume at start");
    let charge = services.billing.summary(record.id).await.unwrap().unwrap();
    assert_eq!(
        (charge.status, charge.held_cents),
        (ChargeStatus::Held, record.hold_cents)
    );
    let audit = services.reservations.audit().unwrap();
    assert!(audit.violations.is_empty(), "{:?}", audit.violations);
    let billing = services.billing.audit().await.unwrap();
    assert!(billing.violations.is_empty(), "{:?}", billing.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saga_whose_customer_vanished_is_rejected_and_frees_the_car() {
    let fixture = Fixture::start().await;
    let customer = fixture.customer().await;
    let vehicle = fixture.vehicle().await;
    let record = interrupted_booking(&fixture, customer, vehicle);
    // The customer erases their account before the saga resumes (nothing is open for the
    // customers service to see yet, since the booking was cut short).
    let erased = fixture.system.services().customers.erase(customer).await;
    assert!(erased.is_err(), "an open reservation blocks erasure");

    let fixture = fixture.restart().await;
    let services = fixture.system.services().clone();
    let mut settled = false;
    for _ in 0..300 {
        let status = services
            .reservations
            .get(Requester::Admin, record.id)
            .unwrap()
            .status;
        if status != ReservationStatus::PendingPayment {
            settled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(settled, "the saga did not resume");
    let audit = services.reservations.audit().unwrap();
    assert!(audit.violations.is_empty(), "{:?}", audit.violations);
}
