//! The operations on a charge, pure: what each request records as intent, which provider step
//! comes next, and how a step's outcome lands in the ledger.
//!
//! A request (hold, settle, void, refund) first records its intent in the charge header; then
//! [`next_step`] derives the one provider call still missing from the intents and the ledger.
//! Because the next step is a function of stored state only, an entity restarted after a crash
//! computes the same step with the same idempotency key, gets the processor's remembered
//! result, and appends the entry it had not had time to append.

use chrono::{DateTime, Utc};

use super::error::BillingError;
use super::events::{ChargeEvent, ChargeEventKind};
use super::holds::{HoldStep, next_hold_step, record_extra_decline, record_extra_hold};
use super::ledger::{self, LedgerError, Resolution};
use super::model::{
    CURRENCY, ChargeHeader, ChargeRecord, ChargeStatus, ChargeSummary, Decline, HoldRequest,
    RefundOrder, RefundRequest,
};
use super::provider::PaymentError;

/// One call to the processor. Its `Debug` does not show card tokens.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Authorize hold `number` (from 1).
    Authorize {
        number: u32,
        token: String,
        amount_cents: i64,
    },
    Capture {
        number: u32,
        hold_ref: String,
        amount_cents: i64,
    },
    Void {
        number: u32,
        hold_ref: String,
    },
    Charge {
        token: String,
        amount_cents: i64,
    },
    Refund {
        payment_ref: String,
        amount_cents: i64,
    },
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Authorize {
                number,
                amount_cents,
                ..
            } => f
                .debug_struct("Authorize")
                .field("number", number)
                .field("token", &"<redacted>")
                .field("amount_cents", amount_cents)
                .finish(),
            Step::Capture {
                number,
                hold_ref,
                amount_cents,
            } => f
                .debug_struct("Capture")
                .field("number", number)
                .field("hold_ref", hold_ref)
                .field("amount_cents", amount_cents)
                .finish(),
            Step::Void { number, hold_ref } => f
                .debug_struct("Void")
                .field("number", number)
                .field("hold_ref", hold_ref)
                .finish(),
            Step::Charge { amount_cents, .. } => f
                .debug_struct("Charge")
                .field("token", &"<redacted>")
                .field("amount_cents", amount_cents)
                .finish(),
            Step::Refund {
                payment_ref,
                amount_cents,
            } => f
                .debug_struct("Refund")
                .field("payment_ref", payment_ref)
                .field("amount_cents", amount_cents)
                .finish(),
        }
    }
}

impl Step {
    /// `"{reservation_id}:{operation}"`, with `:N` for the holds after the first (see
    /// `holds.rs`); a refund adds the ledger position it will take, so each refund has its own
    /// key and a retried one the same key.
    pub(crate) fn idempotency_key(&self, record: &ChargeRecord) -> String {
        let id = record.header.reservation_id;
        let numbered = |operation: &str, number: u32| match number {
            0 | 1 => format!("{id}:{operation}"),
            number => format!("{id}:{operation}:{number}"),
        };
        match self {
            Step::Authorize { number, .. } => numbered("hold", *number),
            Step::Capture { number, .. } => numbered("capture", *number),
            Step::Void { number, .. } => numbered("void", *number),
            Step::Charge { .. } => match record.header.extra_charge_retries {
                0 => format!("{id}:charge"),
                retry => format!("{id}:charge:{retry}"),
            },
            Step::Refund { .. } => format!("{id}:refund:{}", record.entries.len() + 1),
        }
    }
}

/// A new charge for a hold request (not yet authorized).
pub(crate) fn new_charge(
    request: &HoldRequest,
    now: DateTime<Utc>,
) -> Result<ChargeRecord, BillingError> {
    if request.amount_cents <= 0 {
        return Err(BillingError::InvalidAmount);
    }
    Ok(ChargeRecord {
        header: ChargeHeader {
            reservation_id: request.reservation_id,
            customer_id: request.customer_id,
            card_token: request.card_token.clone(),
            hold_cents: request.amount_cents,
            decline: None,
            settle_total_cents: None,
            extra_charge_refused: None,
            extra_charge_retries: 0,
            refund_requests: Vec::new(),
            events: Vec::new(),
            created_at: now,
            extra_holds: Vec::new(),
        },
        entries: Vec::new(),
    })
}

/// Records the settlement's total (0 voids); returns whether the record changed. Settling a
/// settled charge changes nothing (the first total stands), whatever the total asked.
pub(crate) fn request_settle(
    record: &mut ChargeRecord,
    total_cents: i64,
) -> Result<bool, BillingError> {
    if total_cents < 0 {
        return Err(BillingError::InvalidAmount);
    }
    let totals = ledger::totals(&record.entries);
    if totals.declined || !totals.authorized_or_declined() {
        return Err(BillingError::NoHold);
    }
    match record.header.settle_total_cents {
        Some(0) if total_cents > 0 => Err(BillingError::AlreadyResolved),
        Some(_) => Ok(false),
        None => {
            record.header.settle_total_cents = Some(total_cents);
            Ok(true)
        }
    }
}

/// Records a void (a settlement of 0); returns whether the record changed. A declined charge
/// holds nothing, so voiding it changes nothing either.
pub(crate) fn request_void(record: &mut ChargeRecord) -> Result<bool, BillingError> {
    let totals = ledger::totals(&record.entries);
    if totals.declined {
        return Ok(false);
    }
    if !totals.authorized_or_declined() {
        return Err(BillingError::NoHold);
    }
    match record.header.settle_total_cents {
        Some(0) => Ok(false),
        Some(_) => Err(BillingError::AlreadyResolved),
        None => {
            record.header.settle_total_cents = Some(0);
            Ok(true)
        }
    }
}

pub(crate) fn decline_error(decline: &Decline) -> BillingError {
    match decline {
        Decline::Declined(reason) => BillingError::Declined {
            reason: reason.clone(),
        },
        Decline::InsufficientFunds => BillingError::InsufficientFunds,
        Decline::UnknownCard => BillingError::UnknownCard,
    }
}

/// Records a new attempt at the charge the card refused, on `card_token`; returns whether
/// there was a refusal to try again.
pub(crate) fn request_collect(record: &mut ChargeRecord, card_token: String) -> bool {
    if record.header.extra_charge_refused.is_none() {
        return false;
    }
    record.header.extra_charge_refused = None;
    record.header.extra_charge_retries += 1;
    record.header.card_token = card_token;
    true
}

/// Records a refund request, refused beyond what was paid and not yet refunded or requested.
pub(crate) fn request_refund(
    record: &mut ChargeRecord,
    order: &RefundOrder,
    at: DateTime<Utc>,
) -> Result<(), BillingError> {
    let amount_cents = order.amount_cents;
    if amount_cents <= 0 {
        return Err(BillingError::InvalidAmount);
    }
    let totals = ledger::totals(&record.entries);
    if totals.hold_ref.is_none() {
        return Err(BillingError::NoHold);
    }
    // Requested but not yet carried out counts as refunded already.
    let refundable = totals.refundable() - pending_refunds(record).max(0);
    if amount_cents > refundable {
        return Err(BillingError::RefundExceedsPaid {
            refundable_cents: refundable.max(0),
        });
    }
    if let Some(reason) = &order.reason {
        record.header.events.push(ChargeEvent {
            kind: ChargeEventKind::OperatorRefund,
            at,
            amount_cents,
            reference: order.idempotency_key.clone(),
            detail: reason.clone(),
        });
    }
    record.header.refund_requests.push(RefundRequest {
        amount_cents,
        reason: order.reason.clone(),
        idempotency: order
            .idempotency_key
            .clone()
            .map(|key| (key, order.digest())),
    });
    Ok(())
}

/// The earlier request made with `order`'s idempotency key: `Ok(None)` if there is none,
/// `IdempotencyMismatch` if it asked for something else.
pub(crate) fn earlier_refund<'a>(
    record: &'a ChargeRecord,
    order: &RefundOrder,
) -> Result<Option<&'a RefundRequest>, BillingError> {
    let Some(key) = &order.idempotency_key else {
        return Ok(None);
    };
    let earlier = record.header.refund_requests.iter().find(|request| {
        request
            .idempotency
            .as_ref()
            .is_some_and(|(earlier, _)| earlier == key)
    });
    match earlier {
        Some(request)
            if request
                .idempotency
                .as_ref()
                .is_some_and(|(_, digest)| *digest != order.digest()) =>
        {
            Err(BillingError::IdempotencyMismatch)
        }
        other => Ok(other),
    }
}

/// Refund requests not fully carried out yet, in centavos.
pub(crate) fn pending_refunds(record: &ChargeRecord) -> i64 {
    let requested: i64 = record
        .header
        .refund_requests
        .iter()
        .map(|request| request.amount_cents)
        .sum();
    requested - ledger::totals(&record.entries).refunded
}

/// The reason of the oldest refund request not fully carried out: what the next refund step
/// writes on its ledger entry.
fn pending_refund_reason(record: &ChargeRecord) -> Option<String> {
    let refunded = ledger::totals(&record.entries).refunded;
    let mut requested = 0;
    record
        .header
        .refund_requests
        .iter()
        .find(|request| {
            requested += request.amount_cents;
            requested > refunded
        })
        .and_then(|request| request.reason.clone())
}

/// The provider call still missing for the recorded intents, if any.
pub(crate) fn next_step(record: &ChargeRecord) -> Option<Step> {
    let header = &record.header;
    let totals = ledger::totals(&record.entries);
    if !totals.authorized_or_declined() {
        return Some(Step::Authorize {
            number: 1,
            token: header.card_token.clone(),
            amount_cents: header.hold_cents,
        });
    }
    totals.hold_ref.as_ref()?;
    // An extra hold asked for and without an outcome comes first, even before a settlement:
    // it may have been placed (a timeout after the provider acted), and only its own key
    // finds out, so that the settlement then resolves it with the others.
    if let Some(extra) = header
        .extra_holds
        .get(totals.authorizations.saturating_sub(1))
    {
        return Some(Step::Authorize {
            number: totals.authorizations as u32 + 1,
            token: header.card_token.clone(),
            amount_cents: extra.amount_cents,
        });
    }
    if let Some(total) = header.settle_total_cents {
        match totals.resolution {
            None => {
                return next_hold_step(total, &totals.holds).map(|step| match step {
                    HoldStep::Capture {
                        number,
                        hold_ref,
                        amount,
                    } => Step::Capture {
                        number,
                        hold_ref,
                        amount_cents: amount,
                    },
                    HoldStep::Void { number, hold_ref } => Step::Void { number, hold_ref },
                });
            }
            Some(Resolution::Captured) => {
                let outstanding = total - totals.captured - totals.charged;
                if outstanding > 0 && header.extra_charge_refused.is_none() {
                    return Some(Step::Charge {
                        token: header.card_token.clone(),
                        amount_cents: outstanding,
                    });
                }
            }
            Some(Resolution::Voided) => {}
        }
    }
    let pending = pending_refunds(record);
    if pending > 0 {
        return totals.payments.iter().find_map(|payment| {
            let left = payment.paid - payment.refunded;
            (left > 0).then(|| Step::Refund {
                payment_ref: payment.provider_ref.clone(),
                amount_cents: pending.min(left),
            })
        });
    }
    None
}

/// Appends what a successful step did; `reference` is the hold's or the sale's reference.
pub(crate) fn apply_success(
    record: &mut ChargeRecord,
    step: &Step,
    reference: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let entries = &mut record.entries;
    match step {
        Step::Authorize {
            number: 1,
            amount_cents,
            ..
        } => ledger::record_hold(entries, *amount_cents, at, reference.unwrap_or_default()),
        Step::Authorize { amount_cents, .. } => {
            record_extra_hold(entries, *amount_cents, at, reference.unwrap_or_default())
        }
        Step::Capture {
            hold_ref,
            amount_cents,
            ..
        } => ledger::record_capture_from(entries, Some(hold_ref), *amount_cents, at),
        Step::Void { hold_ref, .. } => ledger::record_void_of(entries, Some(hold_ref), at),
        Step::Charge { amount_cents, .. } => {
            ledger::record_charge(entries, *amount_cents, at, reference.unwrap_or_default())
        }
        Step::Refund {
            payment_ref,
            amount_cents,
        } => {
            let note = pending_refund_reason(record);
            ledger::record_refund_noted(&mut record.entries, *amount_cents, at, payment_ref, note)
        }
    }
}

/// Records a refusal that is final for its step (a declined authorization or extra charge);
/// returns whether it was one. Other failures (unavailable, malformed) change nothing: the
/// step is tried again by the next request.
pub(crate) fn apply_refusal(
    record: &mut ChargeRecord,
    step: &Step,
    error: &PaymentError,
    at: DateTime<Utc>,
) -> Result<bool, LedgerError> {
    let decline = match error {
        PaymentError::Declined { reason } => Decline::Declined(reason.clone()),
        PaymentError::InsufficientFunds => Decline::InsufficientFunds,
        PaymentError::UnknownToken => Decline::UnknownCard,
        _ => return Ok(false),
    };
    match step {
        Step::Authorize {
            number: 1,
            amount_cents,
            ..
        } => {
            ledger::record_decline(&mut record.entries, *amount_cents, at, &error.to_string())?;
            record.header.decline = Some(decline);
            Ok(true)
        }
        Step::Authorize {
            number,
            amount_cents,
            ..
        } => {
            record_extra_decline(&mut record.entries, *amount_cents, at, &error.to_string())?;
            if let Some(extra) = record.header.extra_holds.get_mut(*number as usize - 2) {
                extra.decline = Some(decline);
            }
            Ok(true)
        }
        Step::Charge { .. } => {
            record.header.extra_charge_refused = Some(error.to_string());
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// The summary of a charge.
pub(crate) fn summary(record: &ChargeRecord) -> ChargeSummary {
    let totals = ledger::totals(&record.entries);
    let status = if totals.declined {
        ChargeStatus::Declined
    } else if !totals.authorized_or_declined() {
        ChargeStatus::Pending
    } else {
        match totals.resolution {
            // The settlement is asked for but the provider has not carried it out yet (it was
            // unavailable): the capture is retried with the same idempotency key.
            None if record.header.settle_total_cents.is_some() => ChargeStatus::Pending,
            None => ChargeStatus::Held,
            Some(Resolution::Captured) => ChargeStatus::Captured,
            Some(Resolution::Voided) => ChargeStatus::Voided,
        }
    };
    ChargeSummary {
        reservation_id: record.header.reservation_id,
        status,
        held_cents: totals.held,
        captured_cents: totals.captured,
        charged_cents: totals.charged,
        refunded_cents: totals.refunded,
        currency: CURRENCY,
    }
}

/// The answer to a hold: the summary, or the refusal recorded for it.
pub(crate) fn hold_answer(record: &ChargeRecord) -> Result<ChargeSummary, BillingError> {
    match &record.header.decline {
        Some(decline) => Err(decline_error(decline)),
        None => Ok(summary(record)),
    }
}

/// The answer to a settlement: the summary, or what remains owed when the extra charge was
/// refused.
pub(crate) fn settle_answer(record: &ChargeRecord) -> Result<ChargeSummary, BillingError> {
    let summary = summary(record);
    match (
        &record.header.extra_charge_refused,
        record.header.settle_total_cents,
    ) {
        (Some(reason), Some(total)) => Err(BillingError::SettlementIncomplete {
            outstanding_cents: total - summary.captured_cents - summary.charged_cents,
            reason: reason.clone(),
        }),
        _ => Ok(summary),
    }
}
