//! Several holds on one charge: a reservation extended after booking holds the price of the
//! added time on the card with a hold of its own, instead of a larger replacement (processors
//! cannot grow an authorization everywhere, and voiding the first to place a bigger one would
//! leave the car unpaid for if the bigger one were refused).
//!
//! Each extra hold has its own idempotency key (`{id}:hold:N`, the first being `{id}:hold`)
//! and its own provider reference, and comes before any capture. At settlement the total is
//! taken from the holds in the order they were placed, and each hold is resolved on its own:
//! captured up to what is still due (its remainder released), or voided when nothing is; what
//! the holds do not cover is charged afterwards as before. A void (cancel) voids every hold.
//! The plan is a function of the stored ledger only, so a settlement a crash interrupted
//! between two holds resumes with the same step and the same key.

use chrono::{DateTime, Utc};

use super::entity::ChargeMsg;
use super::error::BillingError;
use super::ledger::{self, HoldState, LedgerError, entry, positive};
use super::model::{AddedHold, ChargeRecord, EntryKind, ExtraHold, LedgerEntry};
use crate::ids::ReservationId;

/// Whether more holds may be added: the first was placed and nothing was captured, charged or
/// refunded yet.
fn open_for_holds(entries: &[LedgerEntry]) -> Result<(), LedgerError> {
    let totals = ledger::totals(entries);
    if totals.declined {
        return Err(LedgerError::Declined);
    }
    if totals.hold_ref.is_none() {
        return Err(LedgerError::NoOpenHold);
    }
    let settling = entries.iter().any(|entry| {
        matches!(
            entry.kind,
            EntryKind::Capture | EntryKind::Release | EntryKind::Charge | EntryKind::Refund
        )
    });
    if settling {
        return Err(LedgerError::HoldExists);
    }
    Ok(())
}

/// Records an extra hold placed by the processor.
pub(crate) fn record_extra_hold(
    entries: &mut Vec<LedgerEntry>,
    amount: i64,
    at: DateTime<Utc>,
    hold_ref: &str,
) -> Result<(), LedgerError> {
    positive(amount)?;
    open_for_holds(entries)?;
    ledger::push_hold(entries, amount, at, hold_ref);
    Ok(())
}

/// Records that the processor refused an extra hold: nothing more is held, and the holds
/// already placed stand.
pub(crate) fn record_extra_decline(
    entries: &mut Vec<LedgerEntry>,
    amount: i64,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<(), LedgerError> {
    positive(amount)?;
    open_for_holds(entries)?;
    let note = Some(reason.to_owned());
    let declined = entry(entries, 0, EntryKind::HoldDeclined, amount, at, None, note);
    entries.push(declined);
    Ok(())
}

/// Records an extra hold of `amount_cents` on `card_token` (the customer's card now, which
/// later steps use too); returns its number. Refused once a settlement or a void was asked
/// for, or when the charge holds nothing.
pub(crate) fn request_hold_more(
    record: &mut ChargeRecord,
    card_token: String,
    amount_cents: i64,
) -> Result<u32, BillingError> {
    if amount_cents <= 0 {
        return Err(BillingError::InvalidAmount);
    }
    let totals = ledger::totals(&record.entries);
    if totals.declined || totals.hold_ref.is_none() {
        return Err(BillingError::NoHold);
    }
    if record.header.settle_total_cents.is_some() || totals.resolution.is_some() {
        return Err(BillingError::AlreadyResolved);
    }
    record.header.extra_holds.push(ExtraHold {
        amount_cents,
        decline: None,
    });
    record.header.card_token = card_token;
    Ok(record.header.extra_holds.len() as u32 + 1)
}

/// The answer to extra hold `number`: the charge with it, or the refusal recorded for it.
pub(crate) fn hold_more_answer(
    record: &ChargeRecord,
    number: u32,
) -> Result<AddedHold, BillingError> {
    let extra = number
        .checked_sub(2)
        .and_then(|index| record.header.extra_holds.get(index as usize))
        .ok_or(BillingError::NoHold)?;
    match &extra.decline {
        Some(decline) => Err(super::settlement::decline_error(decline)),
        None => Ok(AddedHold {
            number,
            summary: super::settlement::summary(record),
        }),
    }
}

/// The next step of a settlement of `total` over the holds: the first hold still open is
/// captured for what the earlier holds did not cover (at most its amount), or voided when they
/// covered everything; `None` once every hold is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HoldStep {
    /// Capture `amount` from the hold numbered `number` (from 1, in ledger order).
    Capture {
        number: u32,
        hold_ref: String,
        amount: i64,
    },
    /// Void the hold numbered `number` whole.
    Void { number: u32, hold_ref: String },
}

/// See [`HoldStep`]. Holds already resolved count with what they captured (a hold cancelled
/// at the provider captured nothing).
pub(crate) fn next_hold_step(total: i64, holds: &[HoldState]) -> Option<HoldStep> {
    let captured: i64 = holds.iter().map(|hold| hold.captured).sum();
    let (index, open) = holds
        .iter()
        .enumerate()
        .find(|(_, hold)| hold.resolution.is_none())?;
    let number = index as u32 + 1;
    let hold_ref = open.provider_ref.clone();
    let due = (total - captured).min(open.amount);
    Some(if due > 0 {
        HoldStep::Capture {
            number,
            hold_ref,
            amount: due,
        }
    } else {
        HoldStep::Void { number, hold_ref }
    })
}

impl super::BillingHandle {
    /// Holds `amount_cents` more for a reservation that was extended, on `card_token` (the
    /// customer's card now), with a hold of its own and its own idempotency key (see
    /// `holds.rs`). Each call is a new hold: a caller that does not record the answer leaves a
    /// hold that the settlement voids (it takes from the holds in order). A refusal is recorded
    /// and answered with `Declined`, `InsufficientFunds` or `UnknownCard`, and the holds already
    /// placed stand; a charge already being settled or voided is `AlreadyResolved`.
    pub async fn hold_more(
        &self,
        reservation_id: ReservationId,
        card_token: String,
        amount_cents: i64,
    ) -> Result<AddedHold, BillingError> {
        self.charges
            .call(reservation_id, |reply| ChargeMsg::HoldMore {
                card_token: card_token.clone(),
                amount_cents,
                reply,
            })
            .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::invariants::check;
    use crate::billing::ledger::Resolution;
    use crate::billing::ledger::{record_capture_from, record_hold, record_void_of, totals};

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    fn hold(reference: &str, amount: i64) -> HoldState {
        HoldState {
            provider_ref: reference.into(),
            amount,
            captured: 0,
            resolution: None,
        }
    }

    /// Runs a settlement of `total` over holds of `amounts` to the end, as the charge would.
    fn settle(total: i64, amounts: &[i64]) -> Vec<LedgerEntry> {
        let mut entries = Vec::new();
        record_hold(&mut entries, amounts[0], at(), "h1").unwrap();
        for (index, amount) in amounts.iter().enumerate().skip(1) {
            record_extra_hold(&mut entries, *amount, at(), &format!("h{}", index + 1)).unwrap();
        }
        while let Some(step) = next_hold_step(total, &totals(&entries).holds) {
            match step {
                HoldStep::Capture {
                    hold_ref, amount, ..
                } => record_capture_from(&mut entries, Some(&hold_ref), amount, at()).unwrap(),
                HoldStep::Void { hold_ref, .. } => {
                    record_void_of(&mut entries, Some(&hold_ref), at()).unwrap()
                }
            }
        }
        assert!(check(&entries).is_empty(), "{:?}", check(&entries));
        entries
    }

    fn kinds(entries: &[LedgerEntry]) -> Vec<(EntryKind, i64, &str)> {
        entries
            .iter()
            .map(|entry| {
                let reference = entry.provider_ref.as_deref().unwrap_or_default();
                (entry.kind, entry.amount_cents, reference)
            })
            .collect()
    }

    #[test]
    fn the_total_is_taken_from_the_holds_in_order_and_the_unused_ones_are_voided() {
        use EntryKind::*;
        let within_first = settle(4_000, &[6_000, 3_000]);
        assert_eq!(
            kinds(&within_first)[2..],
            [
                (Capture, 4_000, "h1"),
                (Release, 2_000, "h1"),
                (Void, 3_000, "h2")
            ]
        );
        let across_both = settle(7_500, &[6_000, 3_000]);
        assert_eq!(
            kinds(&across_both)[2..],
            [
                (Capture, 6_000, "h1"),
                (Capture, 1_500, "h2"),
                (Release, 1_500, "h2")
            ]
        );
        let beyond_both = totals(&settle(12_000, &[6_000, 3_000]));
        assert_eq!((beyond_both.captured, beyond_both.held), (9_000, 9_000));
        assert_eq!(beyond_both.resolution, Some(Resolution::Captured));
        let cancelled = totals(&settle(0, &[6_000, 3_000, 1_500]));
        assert_eq!((cancelled.voided, cancelled.captured), (10_500, 0));
        assert_eq!(cancelled.resolution, Some(Resolution::Voided));
    }

    #[test]
    fn the_plan_resumes_after_the_holds_already_resolved() {
        let mut holds = vec![hold("h1", 6_000), hold("h2", 3_000)];
        holds[0].captured = 6_000;
        holds[0].resolution = Some(Resolution::Captured);
        assert_eq!(
            next_hold_step(7_000, &holds),
            Some(HoldStep::Capture {
                number: 2,
                hold_ref: "h2".into(),
                amount: 1_000
            })
        );
        assert_eq!(
            next_hold_step(6_000, &holds),
            Some(HoldStep::Void {
                number: 2,
                hold_ref: "h2".into()
            })
        );
        holds[1].resolution = Some(Resolution::Voided);
        assert_eq!(next_hold_step(7_000, &holds), None);
    }

    #[test]
    fn extra_holds_come_before_any_capture_and_a_refused_one_moves_nothing() {
        let mut entries = Vec::new();
        assert_eq!(
            record_extra_hold(&mut entries, 100, at(), "h2"),
            Err(LedgerError::NoOpenHold)
        );
        record_hold(&mut entries, 6_000, at(), "h1").unwrap();
        record_extra_decline(&mut entries, 3_000, at(), "card declined").unwrap();
        let refused = totals(&entries);
        assert_eq!((refused.held, refused.declined), (6_000, false));
        assert_eq!(refused.authorizations, 2);
        record_extra_hold(&mut entries, 3_000, at(), "h3").unwrap();
        record_capture_from(&mut entries, Some("h1"), 6_000, at()).unwrap();
        let before = entries.clone();
        assert_eq!(
            record_extra_hold(&mut entries, 100, at(), "h4"),
            Err(LedgerError::HoldExists)
        );
        assert_eq!(entries, before);
        assert!(check(&entries).is_empty(), "{:?}", check(&entries));
    }
}
