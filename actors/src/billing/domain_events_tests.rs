use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::billing::holds::record_extra_hold;
use crate::billing::ledger::{
    record_capture_from, record_charge, record_hold, record_refund, record_void_of,
};
use crate::billing::model::{ChargeRecord, HoldRequest};
use crate::billing::settlement::new_charge;
use crate::ids::{CustomerId, ReservationId};

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn charge(hold: i64) -> ChargeRecord {
    let request = HoldRequest {
        reservation_id: ReservationId::new(),
        customer_id: CustomerId::new(),
        card_token: "tok".into(),
        amount_cents: hold,
    };
    let mut record = new_charge(&request, at()).unwrap();
    record_hold(&mut record.entries, hold, at(), "hold-1").unwrap();
    record
}

/// The events of going from `before` to `after`.
fn between(before: &ChargeRecord, after: &ChargeRecord) -> Vec<EventData> {
    caused(
        Some((&before.header, &before.entries)),
        (&after.header, &after.entries),
    )
}

fn cents(value: i64) -> Cents {
    Cents::new(value)
}

#[test]
fn a_new_hold_is_told_once_and_a_write_that_stores_nothing_new_tells_nothing() {
    let record = charge(10_000);
    let first = caused(None, (&record.header, &record.entries));
    assert_eq!(
        first,
        [EventData::ChargeHeld {
            amount_cents: cents(10_000)
        }]
    );
    assert!(between(&record, &record).is_empty());
}

#[test]
fn a_capture_within_the_hold_tells_the_released_remainder_when_it_finishes_the_settlement() {
    let before = charge(10_000);
    let mut after = before.clone();
    after.header.settle_total_cents = Some(2_500);
    assert!(between(&before, &after).is_empty(), "asking tells nothing");
    let asked = after.clone();
    record_capture_from(&mut after.entries, None, 2_500, at()).unwrap();
    assert_eq!(
        between(&asked, &after),
        [EventData::ChargeCaptured {
            captured_cents: cents(2_500),
            extra_cents: Cents::ZERO,
            released_cents: cents(7_500),
        }]
    );
}

#[test]
fn a_settlement_over_several_holds_is_one_event_with_the_totals_written_by_its_last_step() {
    let mut record = charge(10_000);
    let placed = record.clone();
    record_extra_hold(&mut record.entries, 4_000, at(), "hold-2").unwrap();
    assert_eq!(
        between(&placed, &record),
        [EventData::ChargeHeld {
            amount_cents: cents(4_000)
        }]
    );
    record.header.settle_total_cents = Some(16_000);
    let mut steps = Vec::new();
    let mut before = record.clone();
    record_capture_from(&mut record.entries, Some("hold-1"), 10_000, at()).unwrap();
    steps.push(between(&before, &record));
    before = record.clone();
    record_capture_from(&mut record.entries, Some("hold-2"), 4_000, at()).unwrap();
    steps.push(between(&before, &record));
    before = record.clone();
    record_charge(&mut record.entries, 2_000, at(), "sale-1").unwrap();
    steps.push(between(&before, &record));
    assert_eq!(
        steps,
        [
            vec![],
            vec![],
            vec![EventData::ChargeCaptured {
                captured_cents: cents(14_000),
                extra_cents: cents(2_000),
                released_cents: Cents::ZERO,
            }]
        ]
    );
}

#[test]
fn voiding_every_hold_is_a_void_and_a_partial_one_is_part_of_a_capture() {
    let mut record = charge(10_000);
    record_extra_hold(&mut record.entries, 4_000, at(), "hold-2").unwrap();
    record.header.settle_total_cents = Some(0);
    let mut voided = record.clone();
    record_void_of(&mut voided.entries, Some("hold-1"), at()).unwrap();
    let half = voided.clone();
    assert!(between(&record, &half).is_empty());
    record_void_of(&mut voided.entries, Some("hold-2"), at()).unwrap();
    assert_eq!(
        between(&half, &voided),
        [EventData::ChargeVoided {
            released_cents: cents(14_000)
        }]
    );

    record.header.settle_total_cents = Some(6_000);
    let mut captured = record.clone();
    record_capture_from(&mut captured.entries, Some("hold-1"), 6_000, at()).unwrap();
    let half = captured.clone();
    record_void_of(&mut captured.entries, Some("hold-2"), at()).unwrap();
    assert_eq!(
        between(&half, &captured),
        [EventData::ChargeCaptured {
            captured_cents: cents(6_000),
            extra_cents: Cents::ZERO,
            released_cents: cents(8_000),
        }]
    );
}

#[test]
fn a_refused_extra_tells_the_capture_and_the_refusal_and_its_collection_only_the_new_money() {
    let mut record = charge(10_000);
    record.header.settle_total_cents = Some(13_000);
    record_capture_from(&mut record.entries, None, 10_000, at()).unwrap();
    let captured = record.clone();
    record.header.extra_charge_refused = Some("card declined".into());
    assert_eq!(
        between(&captured, &record),
        [
            EventData::ChargeCaptured {
                captured_cents: cents(10_000),
                extra_cents: Cents::ZERO,
                released_cents: Cents::ZERO,
            },
            EventData::ChargeRefused {
                amount_cents: cents(3_000)
            }
        ]
    );

    // A new attempt (asked for, then refused again, then paid).
    let refused = record.clone();
    record.header.extra_charge_refused = None;
    record.header.extra_charge_retries = 1;
    assert!(between(&refused, &record).is_empty());
    let asked = record.clone();
    let mut again = record.clone();
    again.header.extra_charge_refused = Some("card declined".into());
    assert_eq!(
        between(&asked, &again),
        [EventData::ChargeRefused {
            amount_cents: cents(3_000)
        }]
    );
    record_charge(&mut record.entries, 3_000, at(), "sale-1").unwrap();
    assert_eq!(
        between(&asked, &record),
        [EventData::ChargeCaptured {
            captured_cents: Cents::ZERO,
            extra_cents: cents(3_000),
            released_cents: Cents::ZERO,
        }]
    );
}

#[test]
fn each_refund_entry_is_a_refund_about_the_reservation_and_its_customer() {
    let mut record = charge(10_000);
    record.header.settle_total_cents = Some(10_000);
    record_capture_from(&mut record.entries, None, 10_000, at()).unwrap();
    let before = record.clone();
    let later = at() + TimeDelta::hours(2);
    record_refund(&mut record.entries, 1_500, later, "hold-1").unwrap();
    assert_eq!(
        between(&before, &record),
        [EventData::ChargeRefunded {
            amount_cents: cents(1_500)
        }]
    );
    let events = wrap(&record.header, later, between(&before, &record));
    assert_eq!(events[0].source, "billing");
    assert_eq!(
        events[0].subjects.reservation_id,
        Some(record.header.reservation_id)
    );
    assert_eq!(
        events[0].subjects.customer_id,
        Some(record.header.customer_id)
    );
}
