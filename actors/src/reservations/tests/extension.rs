//! Extending a reservation: a later end with a hold of its own for the added time, refused
//! without changing anything when the car or the customer is taken, the rules break or the
//! card refuses; the holds are settled in order and the deadlines follow the end.

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::billing::{ChargeStatus, EntryKind, LedgerEntry};
use crate::customers::{CardInput, CustomerPatch};
use crate::ids::ReservationId;
use crate::location::FixInput;
use crate::reservations::car::CarMsg;
use crate::reservations::model::DeadlineKind;
use crate::reservations::{EndedBy, Requester, ReservationStatus, ReservationsError};

/// An hour late: four started 15-minute blocks and the late fee.
const HOUR_LATE: i64 = 4 * RATE / 4 + 5_000;

async fn extend(
    fixture: &TestSystem,
    customer: CustomerId,
    reservation: &Reservation,
    end_at: DateTime<Utc>,
) -> Result<Reservation, ReservationsError> {
    fixture
        .services()
        .reservations
        .extend(customer, reservation.id, end_at)
        .await
}

fn stored(fixture: &TestSystem, reservation: &Reservation) -> Reservation {
    fixture
        .services()
        .reservations
        .get(Requester::Admin, reservation.id)
        .expect("the reservation")
}

async fn ledger(fixture: &TestSystem, reservation: &Reservation) -> Vec<LedgerEntry> {
    fixture
        .services()
        .billing
        .ledger(reservation.id)
        .await
        .expect("the ledger")
}

fn kinds(entries: &[LedgerEntry]) -> Vec<(EntryKind, i64)> {
    entries
        .iter()
        .map(|entry| (entry.kind, entry.amount_cents))
        .collect()
}

/// The persisted deadlines of `reservation`, as (when, kind).
fn deadlines(fixture: &TestSystem, id: ReservationId) -> Vec<(DateTime<Utc>, DeadlineKind)> {
    fixture
        .services()
        .reservations
        .inner
        .tables
        .deadlines
        .iter()
        .map(|row| row.expect("a deadline row").0)
        .filter(|(_, reservation, _)| *reservation == id)
        .map(|(at, _, code)| (at, DeadlineKind::from_code(code).expect("a known kind")))
        .collect()
}

/// Everything a refused extension must have left as it was.
async fn unchanged(fixture: &TestSystem, before: &Reservation, entries: usize) {
    let now = stored(fixture, before);
    assert_eq!((now.end_at, &now.hold), (before.end_at, &before.hold));
    assert_eq!(
        deadlines(fixture, before.id),
        [(before.end_at, DeadlineKind::NoShow)]
    );
    assert_eq!(ledger(fixture, before).await.len(), entries);
}

async fn switch_card(fixture: &TestSystem, customer: CustomerId, number: &str) {
    let patch = CustomerPatch {
        card: Some(
            CardInput {
                number: number.into(),
                exp_month: 12,
                exp_year: 2030,
                cvc: "123".into(),
                holder_name: "ANA SOUZA".into(),
            }
            .into(),
        ),
        ..CustomerPatch::default()
    };
    fixture
        .services()
        .customers
        .update(customer, patch, None)
        .await
        .expect("the new card");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_free_car_is_extended_with_a_second_hold_and_a_no_show_voids_what_is_unused() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let booked = book(&fixture, customer, vehicle, 60, 2).await;
    let new_end = booked.end_at + TimeDelta::minutes(90);
    let extended = extend(&fixture, customer, &booked, new_end).await.unwrap();
    assert_eq!(extended.end_at, new_end);
    assert_eq!(extended.hold.amount_cents, 2 * RATE + 3 * RATE / 2);
    assert_eq!(stored(&fixture, &booked), extended);
    let entries = ledger(&fixture, &booked).await;
    assert_eq!(
        kinds(&entries),
        [(EntryKind::Hold, 2 * RATE), (EntryKind::Hold, 3 * RATE / 2)]
    );
    assert_ne!(entries[0].provider_ref, entries[1].provider_ref);
    assert_eq!(
        deadlines(&fixture, booked.id),
        [(new_end, DeadlineKind::NoShow)],
        "the no-show moved with the end"
    );
    // The added time is taken on the car's and on the customer's calendars.
    let inside = booked.end_at + TimeDelta::minutes(30);
    let second_car = fixture.vehicle(1, RATE).await;
    let other = fixture.customer(1, VISA).await;
    for (who, car, refusal) in [(customer, second_car, "customer"), (other, vehicle, "car")] {
        let request = NewReservation {
            vehicle_id: car,
            start_at: inside,
            end_at: inside + TimeDelta::hours(2),
        };
        let refused = fixture
            .services()
            .reservations
            .create(who, request, None)
            .await;
        let busy = match refused {
            Err(ReservationsError::CustomerBusy) => "customer",
            Err(ReservationsError::VehicleBusy) => "car",
            other => panic!("expected busy, got {other:?}"),
        };
        assert_eq!(busy, refusal);
    }
    // The same extension again answers it as it stands, without a third hold.
    let again = extend(&fixture, customer, &booked, new_end).await.unwrap();
    assert_eq!(again, extended);
    assert_eq!(ledger(&fixture, &booked).await.len(), 2);

    // Never unlocked: the no-show fee (one hour) comes from the first hold, the second is
    // voided whole.
    fixture.advance(new_end - fixture.now());
    let reservations = &fixture.services().reservations;
    eventually("the no-show", || {
        std::future::ready(
            reservations
                .get(Requester::Admin, booked.id)
                .is_ok_and(|now| now.status == ReservationStatus::NoShow),
        )
    })
    .await;
    assert_eq!(
        kinds(&ledger(&fixture, &booked).await)[2..],
        [
            (EntryKind::Capture, RATE),
            (EntryKind::Release, RATE),
            (EntryKind::Void, 3 * RATE / 2)
        ]
    );
    let charge = fixture
        .services()
        .billing
        .summary(booked.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (charge.status, charge.captured_cents),
        (ChargeStatus::Captured, RATE)
    );
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extended_rental_moves_its_automatic_end_and_settles_across_both_holds() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let booked = book(&fixture, customer, vehicle, 0, 2).await;
    fixture
        .services()
        .reservations
        .unlock(vehicle, customer)
        .await
        .expect("unlock");
    let old_auto_end = booked.end_at + TimeDelta::minutes(60);
    assert_eq!(
        deadlines(&fixture, booked.id),
        [(old_auto_end, DeadlineKind::AutoEnd)]
    );
    let new_end = booked.end_at + TimeDelta::hours(1);
    let extended = extend(&fixture, customer, &booked, new_end).await.unwrap();
    assert_eq!(extended.status, ReservationStatus::Active);
    assert_eq!(extended.hold.amount_cents, 3 * RATE);
    let new_auto_end = new_end + TimeDelta::minutes(60);
    assert_eq!(
        deadlines(&fixture, booked.id),
        [(new_auto_end, DeadlineKind::AutoEnd)]
    );

    // The scheduler may still fire the old automatic end it had in memory: it is stale.
    fixture.advance(old_auto_end - fixture.now());
    let stale = fixture
        .services()
        .reservations
        .inner
        .cars
        .call(vehicle, |reply| CarMsg::Deadline {
            reservation: booked.id,
            at: old_auto_end,
            kind: DeadlineKind::AutoEnd,
            reply,
        })
        .await
        .unwrap();
    assert_eq!(stale.unwrap(), None);
    assert_eq!(stored(&fixture, &booked).status, ReservationStatus::Active);

    // Never released: ended at the new automatic end, an hour late after the new end; both
    // holds are captured whole and the overtime charged beyond them.
    fixture.advance(new_auto_end - fixture.now());
    let reservations = &fixture.services().reservations;
    eventually("the automatic end", || {
        std::future::ready(
            reservations
                .get(Requester::Admin, booked.id)
                .is_ok_and(|now| now.status == ReservationStatus::Completed),
        )
    })
    .await;
    let ended = stored(&fixture, &booked);
    assert_eq!(ended.ended_by, Some(EndedBy::System));
    assert_eq!(ended.overtime_cents.get(), HOUR_LATE);
    assert_eq!(
        kinds(&ledger(&fixture, &booked).await)[2..],
        [
            (EntryKind::Capture, 2 * RATE),
            (EntryKind::Capture, RATE),
            (EntryKind::Charge, HOUR_LATE)
        ]
    );
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_before_the_start_voids_every_hold() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let booked = book(&fixture, customer, vehicle, 120, 2).await;
    extend(
        &fixture,
        customer,
        &booked,
        booked.end_at + TimeDelta::hours(2),
    )
    .await
    .unwrap();
    let cancelled = fixture
        .services()
        .reservations
        .cancel(Requester::Customer(customer), booked.id)
        .await
        .unwrap();
    assert_eq!(cancelled.status, ReservationStatus::Cancelled);
    assert_eq!(
        kinds(&ledger(&fixture, &booked).await)[2..],
        [(EntryKind::Void, 2 * RATE), (EntryKind::Void, 2 * RATE)]
    );
    let charge = fixture.services().billing.summary(booked.id).await;
    assert_eq!(charge.unwrap().unwrap().status, ChargeStatus::Voided);
    assert!(deadlines(&fixture, booked.id).is_empty());
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_car_taken_later_refuses_and_changes_nothing() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let booked = book(&fixture, customer, vehicle, 60, 2).await;
    // Another customer has the car an hour after this reservation ends.
    let other = fixture.customer(1, VISA).await;
    book(&fixture, other, vehicle, 4 * 60, 2).await;
    let refused = extend(
        &fixture,
        customer,
        &booked,
        booked.end_at + TimeDelta::hours(2),
    )
    .await;
    assert!(
        matches!(refused, Err(ReservationsError::VehicleBusy)),
        "{refused:?}"
    );
    unchanged(&fixture, &booked, 1).await;
    // Up to the other reservation's start is free.
    let touching = booked.end_at + TimeDelta::hours(1);
    let extended = extend(&fixture, customer, &booked, touching).await.unwrap();
    assert_eq!(extended.end_at, touching);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_with_another_reservation_in_the_added_time_is_busy() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let booked = book(&fixture, customer, vehicle, 60, 2).await;
    // The same customer has another car an hour after this reservation ends.
    let second_car = fixture.vehicle(1, RATE).await;
    book(&fixture, customer, second_car, 4 * 60, 2).await;
    let refused = extend(
        &fixture,
        customer,
        &booked,
        booked.end_at + TimeDelta::hours(2),
    )
    .await;
    assert!(
        matches!(refused, Err(ReservationsError::CustomerBusy)),
        "{refused:?}"
    );
    unchanged(&fixture, &booked, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_longest_reservation_or_not_later_is_invalid() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let booked = book(&fixture, customer, vehicle, 60, 2).await;
    for end_at in [
        booked.start_at + TimeDelta::hours(6) + TimeDelta::minutes(1),
        booked.end_at - TimeDelta::minutes(30),
    ] {
        let refused = extend(&fixture, customer, &booked, end_at).await;
        let Err(ReservationsError::Invalid(fields)) = refused else {
            panic!("expected invalid, got {refused:?}");
        };
        assert_eq!(fields[0].field, "end_at");
        unchanged(&fixture, &booked, 1).await;
    }
    // Another customer does not see it.
    let other = fixture.customer(1, VISA).await;
    let hidden = extend(
        &fixture,
        other,
        &booked,
        booked.end_at + TimeDelta::hours(1),
    )
    .await;
    assert!(
        matches!(hidden, Err(ReservationsError::NotFound)),
        "{hidden:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_extra_hold_is_payment_declined_and_changes_nothing() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let booked = book(&fixture, customer, vehicle, 60, 2).await;
    switch_card(&fixture, customer, cards::DECLINED).await;
    let refused = extend(
        &fixture,
        customer,
        &booked,
        booked.end_at + TimeDelta::hours(1),
    )
    .await;
    assert!(
        matches!(refused, Err(ReservationsError::ExtensionDeclined { .. })),
        "{refused:?}"
    );
    unchanged(&fixture, &booked, 2).await;
    let entries = ledger(&fixture, &booked).await;
    assert_eq!(
        kinds(&entries),
        [(EntryKind::Hold, 2 * RATE), (EntryKind::HoldDeclined, RATE)]
    );
    let charge = fixture.services().billing.summary(booked.id).await;
    let charge = charge.unwrap().unwrap();
    assert_eq!(
        (charge.status, charge.held_cents),
        (ChargeStatus::Held, 2 * RATE)
    );
    // A card that works extends it after all.
    switch_card(&fixture, customer, cards::MASTERCARD).await;
    let extended = extend(
        &fixture,
        customer,
        &booked,
        booked.end_at + TimeDelta::hours(1),
    )
    .await
    .unwrap();
    assert_eq!(extended.hold.amount_cents, 3 * RATE);
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_survives_a_restart() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let booked = book(&fixture, customer, vehicle, 60, 2).await;
    let new_end = booked.end_at + TimeDelta::hours(1);
    extend(&fixture, customer, &booked, new_end).await.unwrap();
    let fixture = fixture.restart().await;
    assert_eq!(stored(&fixture, &booked).end_at, new_end);
    assert_eq!(
        deadlines(&fixture, booked.id),
        [(new_end, DeadlineKind::NoShow)]
    );
    let other = fixture.customer(1, VISA).await;
    let inside = booked.end_at + TimeDelta::minutes(30);
    let request = NewReservation {
        vehicle_id: vehicle,
        start_at: inside,
        end_at: inside + TimeDelta::hours(2),
    };
    let refused = fixture
        .services()
        .reservations
        .create(other, request, None)
        .await;
    assert!(
        matches!(refused, Err(ReservationsError::VehicleBusy)),
        "{refused:?}"
    );
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_car_that_drained_below_the_minimum_is_not_kept_out_longer() {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let booked = book(&fixture, customer, vehicle, 60, 2).await;
    // The car reports 20 % (below the default 25 %) before the renter asks for more time.
    fixture.advance(TimeDelta::seconds(1));
    let low = FixInput {
        lat: -27.5954,
        lon: -48.5480,
        recorded_at: fixture.now(),
        speed_kmh: Some(0.0),
        heading_deg: None,
        battery_pct: Some(20.0),
        altitude_m: None,
        accuracy_m: None,
        charging: None,
    };
    fixture
        .services()
        .location
        .record_positions(vehicle, vec![low])
        .await
        .expect("the fix is recorded");
    let refused = extend(
        &fixture,
        customer,
        &booked,
        booked.end_at + TimeDelta::hours(1),
    )
    .await;
    assert!(
        matches!(refused, Err(ReservationsError::BatteryLow(_))),
        "{refused:?}"
    );
    unchanged(&fixture, &booked, 1).await;
    // Asking for the end it already has is still answered, whatever the charge.
    let same = extend(&fixture, customer, &booked, booked.end_at)
        .await
        .unwrap();
    assert_eq!(same.end_at, booked.end_at);
}
