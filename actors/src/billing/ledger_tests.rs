//! Property tests of the ledger rules and of the charge operations driven against a fake
//! processor that remembers idempotency keys, with provider outages and crashes in between.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::error::BillingError;
use super::invariants;
use super::ledger::{self, Resolution};
use super::model::{ChargeRecord, EntryKind, HoldRequest};
use super::provider::PaymentError;
use super::settlement::{self, Step};
use crate::ids::{CustomerId, ReservationId};

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
}

#[derive(Debug, Clone)]
enum RawOp {
    Hold(i64),
    Decline(i64),
    Capture(i64),
    Void,
    Charge(i64),
    Refund(i64, usize),
}

fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![1 => -100i64..=0, 8 => 1i64..=20_000]
}

fn raw_op() -> impl Strategy<Value = RawOp> {
    prop_oneof![
        amount().prop_map(RawOp::Hold),
        amount().prop_map(RawOp::Decline),
        amount().prop_map(RawOp::Capture),
        Just(RawOp::Void),
        amount().prop_map(RawOp::Charge),
        (amount(), 0usize..3).prop_map(|(amount, payment)| RawOp::Refund(amount, payment)),
    ]
}

proptest! {
    #[test]
    fn appends_keep_the_invariants_and_rejections_change_nothing(ops in prop::collection::vec(raw_op(), 0..25)) {
        let mut entries = Vec::new();
        let mut charges = 0;
        for op in ops {
            let before = entries.clone();
            let result = match op {
                RawOp::Hold(amount) => ledger::record_hold(&mut entries, amount, at(), "hold"),
                RawOp::Decline(amount) => ledger::record_decline(&mut entries, amount, at(), "no"),
                RawOp::Capture(amount) => ledger::record_capture(&mut entries, amount, at()),
                RawOp::Void => ledger::record_void(&mut entries, at()),
                RawOp::Charge(amount) => {
                    charges += 1;
                    ledger::record_charge(&mut entries, amount, at(), &format!("sale{charges}"))
                }
                RawOp::Refund(amount, payment) => {
                    let reference = if payment == 0 { "hold".to_owned() } else { format!("sale{payment}") };
                    ledger::record_refund(&mut entries, amount, at(), &reference)
                }
            };
            match result {
                Err(_) => prop_assert_eq!(&entries, &before, "a rejected append changed the ledger"),
                Ok(()) => {
                    prop_assert!(entries.len() > before.len());
                    prop_assert_eq!(&entries[..before.len()], &before[..], "append-only");
                }
            }
            let problems = invariants::check(&entries);
            prop_assert!(problems.is_empty(), "{:?} in {:?}", problems, entries);
            let totals = ledger::totals(&entries);
            prop_assert!(totals.captured <= totals.held);
            prop_assert!(totals.refunded <= totals.captured + totals.charged);
        }
    }
}

/// A processor that remembers every key's result, as real ones do, and counts the money it
/// moved, so that the ledger can be compared with it.
#[derive(Debug, Default)]
struct FakeProcessor {
    decline_holds: bool,
    decline_charges: bool,
    down: bool,
    remembered: HashMap<String, Result<Option<String>, PaymentError>>,
    held: i64,
    captured: i64,
    charged: i64,
    refunded: i64,
}

impl FakeProcessor {
    fn call(&mut self, step: &Step, key: &str) -> Result<Option<String>, PaymentError> {
        if self.down {
            return Err(PaymentError::Unavailable("down".into()));
        }
        if let Some(result) = self.remembered.get(key) {
            return result.clone();
        }
        let result = match step {
            Step::Authorize { amount_cents, .. } if !self.decline_holds => {
                self.held += amount_cents;
                Ok(Some(format!("hold:{key}")))
            }
            Step::Authorize { .. } => Err(PaymentError::InsufficientFunds),
            Step::Capture { amount_cents, .. } => {
                self.captured += amount_cents;
                Ok(None)
            }
            Step::Void { .. } => Ok(None),
            Step::Charge { .. } if self.decline_charges => Err(PaymentError::Declined {
                reason: "limit".into(),
            }),
            Step::Charge { amount_cents, .. } => {
                self.charged += amount_cents;
                Ok(Some(format!("sale:{key}")))
            }
            Step::Refund { amount_cents, .. } => {
                self.refunded += amount_cents;
                Ok(None)
            }
        };
        self.remembered.insert(key.to_owned(), result.clone());
        result
    }
}

/// What the entity's `resume` does; `crash_at` drops one provider result unapplied.
fn drive(
    record: &mut ChargeRecord,
    processor: &mut FakeProcessor,
    crash_at: &mut Option<usize>,
) -> Result<(), String> {
    let mut steps = 0;
    while let Some(step) = settlement::next_step(record) {
        steps += 1;
        if steps > 20 {
            return Err("no progress".into());
        }
        let key = step.idempotency_key(record);
        let outcome = processor.call(&step, &key);
        if crash_at.is_some_and(|at| at + 1 == steps) {
            *crash_at = None;
            return Err("crash".into());
        }
        match outcome {
            Ok(reference) => {
                settlement::apply_success(record, &step, reference.as_deref(), at())
                    .map_err(|error| error.to_string())?;
            }
            Err(error) => {
                if !settlement::apply_refusal(record, &step, &error, at())
                    .map_err(|error| error.to_string())?
                {
                    return Err(error.to_string());
                }
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Op {
    Hold(i64),
    /// An extra hold (a reservation extended).
    HoldMore(i64),
    Settle(i64),
    Void,
    Refund(i64),
    ProviderDown,
    CrashSoon(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (-10i64..=30_000).prop_map(Op::Hold),
        2 => (-10i64..=10_000).prop_map(Op::HoldMore),
        3 => prop_oneof![Just(0i64), -10i64..=40_000].prop_map(Op::Settle),
        1 => Just(Op::Void),
        2 => (-10i64..=20_000).prop_map(Op::Refund),
        1 => Just(Op::ProviderDown),
        1 => (0usize..3).prop_map(Op::CrashSoon),
    ]
}

fn request(amount_cents: i64) -> HoldRequest {
    HoldRequest {
        reservation_id: ReservationId::new(),
        customer_id: CustomerId::new(),
        card_token: "tok".into(),
        amount_cents,
    }
}

proptest! {
    #[test]
    fn operations_with_outages_and_crashes_keep_the_ledger_sound(
        ops in prop::collection::vec(op(), 1..20),
        decline_holds in prop::bool::weighted(0.15),
        decline_charges in prop::bool::weighted(0.2),
    ) {
        let mut processor = FakeProcessor { decline_holds, decline_charges, ..FakeProcessor::default() };
        let mut record: Option<ChargeRecord> = None;
        let mut crash_at = None;
        for op in ops {
            let before = record.clone();
            let mut rejected = false;
            match (op, record.as_mut()) {
                (Op::ProviderDown, _) => processor.down = true,
                (Op::CrashSoon(step), _) => crash_at = Some(step),
                (Op::Hold(amount), None) => match settlement::new_charge(&request(amount), at()) {
                    Ok(mut created) => {
                        let _ = drive(&mut created, &mut processor, &mut crash_at);
                        record = Some(created);
                    }
                    Err(error) => {
                        prop_assert!(matches!(error, BillingError::InvalidAmount));
                        rejected = true;
                    }
                },
                (Op::Hold(_), Some(existing)) => {
                    // A second hold request never places a second one: it only completes the
                    // first (and the extra holds asked for).
                    let _ = drive(existing, &mut processor, &mut crash_at);
                    let holds = existing.entries.iter().filter(|entry| entry.kind == EntryKind::Hold).count();
                    prop_assert!(holds <= 1 + existing.header.extra_holds.len());
                }
                (_, None) => {}
                (op, Some(existing)) => {
                    if drive(existing, &mut processor, &mut crash_at).is_ok() {
                        let untouched = existing.clone();
                        let requested = match op {
                            Op::Settle(total) => settlement::request_settle(existing, total).map(|_| ()),
                            Op::Void => settlement::request_void(existing).map(|_| ()),
                            Op::HoldMore(amount) => {
                                super::holds::request_hold_more(existing, "tok".into(), amount).map(|_| ())
                            }
                            Op::Refund(amount) => settlement::request_refund(
                                existing,
                                &super::model::RefundOrder {
                                    amount_cents: amount,
                                    reason: None,
                                    idempotency_key: None,
                                },
                                at(),
                            ),
                            _ => Ok(()),
                        };
                        if requested.is_err() {
                            prop_assert_eq!(&*existing, &untouched, "a rejected request changed the charge");
                            rejected = true;
                        }
                        let _ = drive(existing, &mut processor, &mut crash_at);
                    }
                }
            }
            processor.down = false;
            if let (Some(before), Some(after)) = (&before, &record) {
                prop_assert_eq!(&after.entries[..before.entries.len()], &before.entries[..], "append-only");
            }
            if rejected && before.is_none() {
                prop_assert!(record.is_none(), "a rejected hold created a charge");
            }
            if let Some(record) = &record {
                let problems = invariants::check(&record.entries);
                prop_assert!(problems.is_empty(), "{:?} in {:?}", problems, record.entries);
            }
        }

        // Once the processor answers and nothing crashes, every intent is carried out and the
        // ledger tells exactly the money the processor moved.
        let Some(mut record) = record else { return Ok(()) };
        crash_at = None;
        prop_assert_eq!(drive(&mut record, &mut processor, &mut crash_at), Ok(()));
        let totals = ledger::totals(&record.entries);
        prop_assert_eq!(totals.held, processor.held);
        prop_assert_eq!(totals.captured, processor.captured);
        prop_assert_eq!(totals.charged, processor.charged);
        prop_assert_eq!(totals.refunded, processor.refunded);
        prop_assert_eq!(settlement::pending_refunds(&record), 0);
        match (record.header.settle_total_cents, totals.resolution) {
            (Some(0), resolution) => prop_assert_eq!(resolution, Some(Resolution::Voided)),
            (Some(total), Some(Resolution::Captured)) if record.header.extra_charge_refused.is_none() => {
                prop_assert_eq!(totals.captured + totals.charged, total);
                prop_assert_eq!(totals.captured + totals.released + totals.voided, totals.held);
            }
            (Some(total), Some(Resolution::Captured)) => {
                prop_assert_eq!(totals.captured, totals.held);
                prop_assert!(total > totals.held);
            }
            (Some(_), other) => prop_assert!(totals.declined, "settled but {:?}", other),
            (None, resolution) => prop_assert_eq!(resolution, None),
        }
    }
}

/// The append rules one by one.
mod appends {
    use chrono::{DateTime, Utc};

    use crate::billing::invariants::check;
    use crate::billing::ledger::*;
    use crate::billing::model::EntryKind;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn a_partial_capture_releases_the_rest_and_resolves_the_hold() {
        let mut entries = Vec::new();
        record_hold(&mut entries, 10_000, at(), "hold_1").unwrap();
        record_capture(&mut entries, 4_000, at()).unwrap();
        let kinds: Vec<_> = entries.iter().map(|entry| entry.kind).collect();
        assert_eq!(
            kinds,
            [EntryKind::Hold, EntryKind::Capture, EntryKind::Release]
        );
        assert_eq!(entries[2].amount_cents, 6_000);
        let totals = totals(&entries);
        assert_eq!((totals.captured, totals.released), (4_000, 6_000));
        assert_eq!(totals.resolution, Some(Resolution::Captured));
        assert_eq!(
            record_void(&mut entries, at()),
            Err(LedgerError::NoOpenHold)
        );
        assert_eq!(
            record_capture(&mut entries, 1, at()),
            Err(LedgerError::NoOpenHold)
        );
        assert!(check(&entries).is_empty());
    }

    #[test]
    fn captures_above_the_hold_and_charges_before_resolution_are_refused() {
        let mut entries = Vec::new();
        record_hold(&mut entries, 10_000, at(), "hold_1").unwrap();
        let before = entries.clone();
        assert_eq!(
            record_capture(&mut entries, 10_001, at()),
            Err(LedgerError::ExceedsHold)
        );
        assert_eq!(
            record_charge(&mut entries, 5, at(), "sale"),
            Err(LedgerError::HoldNotResolved)
        );
        assert_eq!(
            record_hold(&mut entries, 5, at(), "hold_2"),
            Err(LedgerError::HoldExists)
        );
        assert_eq!(
            record_capture(&mut entries, 0, at()),
            Err(LedgerError::InvalidAmount)
        );
        assert_eq!(entries, before);
    }

    #[test]
    fn refunds_come_from_payments_and_never_exceed_them() {
        let mut entries = Vec::new();
        record_hold(&mut entries, 10_000, at(), "hold_1").unwrap();
        record_capture(&mut entries, 10_000, at()).unwrap();
        record_charge(&mut entries, 2_500, at(), "sale_1").unwrap();
        assert_eq!(
            record_refund(&mut entries, 2_501, at(), "sale_1"),
            Err(LedgerError::ExceedsRefundable { left: 2_500 })
        );
        assert_eq!(
            record_refund(&mut entries, 1, at(), "nope"),
            Err(LedgerError::UnknownPayment)
        );
        record_refund(&mut entries, 10_000, at(), "hold_1").unwrap();
        record_refund(&mut entries, 2_500, at(), "sale_1").unwrap();
        assert_eq!(totals(&entries).refundable(), 0);
        assert!(check(&entries).is_empty());
    }

    #[test]
    fn a_declined_ledger_accepts_nothing_more() {
        let mut entries = Vec::new();
        record_decline(&mut entries, 10_000, at(), "card declined").unwrap();
        assert_eq!(record_void(&mut entries, at()), Err(LedgerError::Declined));
        assert_eq!(
            record_charge(&mut entries, 1, at(), "x"),
            Err(LedgerError::Declined)
        );
        assert_eq!(entries.len(), 1);
        assert!(check(&entries).is_empty());
    }
}
