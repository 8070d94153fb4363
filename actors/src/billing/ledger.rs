//! The ledger's rules, pure: every figure of a charge is derived from its entries, and every
//! append is checked against the invariants before it lands, so a rejected append leaves the
//! ledger exactly as it was.
//!
//! Invariants (the card schemes' rules for authorizations, as processors enforce them; the
//! audit re-checks them from scratch with `invariants.rs`):
//! - every amount is positive;
//! - a ledger starts with one `Hold` or one `HoldDeclined`, and a declined ledger has nothing
//!   else;
//! - an extended reservation adds holds (`Hold`, or `HoldDeclined` for a refused one, which
//!   moves no money) after the first and before any capture (see `holds.rs`), each with its own
//!   provider reference;
//! - each hold is resolved exactly once, by a `Capture` of at most its amount (followed at
//!   once by the `Release` of the remainder, since processors release it on partial capture) or
//!   by a `Void` of the whole hold; the entries name the hold by its reference;
//! - only once every hold is resolved may extra `Charge`s follow, and `Refund`s;
//! - each refund refers to a payment (the captured hold or a charge) and never exceeds what that
//!   payment has left, so refunds never exceed captured + charged.

use chrono::{DateTime, Utc};

use super::model::{EntryKind, LedgerEntry};

/// How the hold was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    Captured,
    Voided,
}

/// A payment that money can be refunded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Payment {
    pub(crate) provider_ref: String,
    pub(crate) paid: i64,
    pub(crate) refunded: i64,
}

/// One hold of a charge and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HoldState {
    pub(crate) provider_ref: String,
    pub(crate) amount: i64,
    pub(crate) captured: i64,
    pub(crate) resolution: Option<Resolution>,
}

/// Figures derived from a ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Every hold placed, added up.
    pub(crate) held: i64,
    /// The first hold's reference.
    pub(crate) hold_ref: Option<String>,
    /// Whether the first authorization was refused (the charge holds nothing).
    pub(crate) declined: bool,
    /// Set once every hold is resolved: captured if any was.
    pub(crate) resolution: Option<Resolution>,
    /// The holds in ledger order.
    pub(crate) holds: Vec<HoldState>,
    /// Authorizations with an outcome (holds placed and refused).
    pub(crate) authorizations: usize,
    pub(crate) captured: i64,
    pub(crate) released: i64,
    pub(crate) voided: i64,
    pub(crate) charged: i64,
    pub(crate) refunded: i64,
    /// The captured hold first (if any), then every charge, in ledger order.
    pub(crate) payments: Vec<Payment>,
}

impl Totals {
    /// Whether the authorization has an outcome (placed or declined).
    pub(crate) fn authorized_or_declined(&self) -> bool {
        self.hold_ref.is_some() || self.declined
    }

    /// What may still be refunded.
    pub(crate) fn refundable(&self) -> i64 {
        self.captured + self.charged - self.refunded
    }
}

/// Why an append was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LedgerError {
    #[error("amounts must be positive")]
    InvalidAmount,
    #[error("the ledger already has its hold")]
    HoldExists,
    #[error("there is no open hold")]
    NoOpenHold,
    #[error("the hold is not resolved yet")]
    HoldNotResolved,
    #[error("the hold was declined")]
    Declined,
    #[error("the capture exceeds the hold")]
    ExceedsHold,
    #[error("no payment with this reference")]
    UnknownPayment,
    #[error("the refund exceeds what the payment has left ({left} centavos)")]
    ExceedsRefundable { left: i64 },
}

/// The hold with reference `reference`.
fn hold_of<'a>(holds: &'a mut [HoldState], reference: Option<&str>) -> Option<&'a mut HoldState> {
    holds
        .iter_mut()
        .find(|hold| Some(hold.provider_ref.as_str()) == reference)
}

/// Derives the figures of a ledger.
pub(crate) fn totals(entries: &[LedgerEntry]) -> Totals {
    let mut totals = Totals::default();
    for entry in entries {
        let amount = entry.amount_cents;
        match entry.kind {
            EntryKind::Hold => {
                totals.authorizations += 1;
                totals.held += amount;
                let reference = entry.provider_ref.clone().unwrap_or_default();
                if totals.hold_ref.is_none() {
                    totals.hold_ref = Some(reference.clone());
                }
                totals.holds.push(HoldState {
                    provider_ref: reference,
                    amount,
                    captured: 0,
                    resolution: None,
                });
            }
            EntryKind::HoldDeclined => {
                totals.authorizations += 1;
                // A refused extension leaves the holds already placed as they were.
                totals.declined |= totals.holds.is_empty();
            }
            EntryKind::Capture => {
                totals.captured += amount;
                if let Some(hold) = hold_of(&mut totals.holds, entry.provider_ref.as_deref()) {
                    hold.captured += amount;
                    hold.resolution = Some(Resolution::Captured);
                }
                totals.payments.push(Payment {
                    provider_ref: entry.provider_ref.clone().unwrap_or_default(),
                    paid: amount,
                    refunded: 0,
                });
            }
            EntryKind::Release => totals.released += amount,
            EntryKind::Void => {
                totals.voided += amount;
                if let Some(hold) = hold_of(&mut totals.holds, entry.provider_ref.as_deref()) {
                    hold.resolution = Some(Resolution::Voided);
                }
            }
            EntryKind::Charge => {
                totals.charged += amount;
                totals.payments.push(Payment {
                    provider_ref: entry.provider_ref.clone().unwrap_or_default(),
                    paid: amount,
                    refunded: 0,
                });
            }
            EntryKind::Refund => {
                totals.refunded += amount;
                if let Some(payment) = totals
                    .payments
                    .iter_mut()
                    .find(|payment| Some(&payment.provider_ref) == entry.provider_ref.as_ref())
                {
                    payment.refunded += amount;
                }
            }
        }
    }
    let resolved = |hold: &HoldState| hold.resolution.is_some();
    if !totals.holds.is_empty() && totals.holds.iter().all(resolved) {
        let captured = totals
            .holds
            .iter()
            .any(|hold| hold.resolution == Some(Resolution::Captured));
        totals.resolution = Some(if captured {
            Resolution::Captured
        } else {
            Resolution::Voided
        });
    }
    totals
}

pub(super) fn entry(
    entries: &[LedgerEntry],
    offset: u32,
    kind: EntryKind,
    amount_cents: i64,
    at: DateTime<Utc>,
    provider_ref: Option<&str>,
    note: Option<String>,
) -> LedgerEntry {
    LedgerEntry {
        seq: entries.len() as u32 + 1 + offset,
        kind,
        amount_cents,
        at,
        provider_ref: provider_ref.map(str::to_owned),
        note,
    }
}

pub(super) fn positive(amount: i64) -> Result<(), LedgerError> {
    if amount > 0 {
        Ok(())
    } else {
        Err(LedgerError::InvalidAmount)
    }
}

fn empty(entries: &[LedgerEntry]) -> Result<(), LedgerError> {
    if entries.is_empty() {
        Ok(())
    } else {
        Err(LedgerError::HoldExists)
    }
}

/// The open hold `hold_ref`, or the first open one when `None`.
fn open_hold<'a>(totals: &'a Totals, hold_ref: Option<&str>) -> Result<&'a HoldState, LedgerError> {
    if totals.declined {
        return Err(LedgerError::Declined);
    }
    totals
        .holds
        .iter()
        .filter(|hold| hold.resolution.is_none())
        .find(|hold| hold_ref.is_none_or(|wanted| wanted == hold.provider_ref))
        .ok_or(LedgerError::NoOpenHold)
}

/// Records the hold placed by the processor.
pub(crate) fn record_hold(
    entries: &mut Vec<LedgerEntry>,
    amount: i64,
    at: DateTime<Utc>,
    hold_ref: &str,
) -> Result<(), LedgerError> {
    positive(amount)?;
    empty(entries)?;
    push_hold(entries, amount, at, hold_ref);
    Ok(())
}

/// Appends a hold of `amount` under the processor's reference, once the caller has checked
/// the amount and that the ledger may take one.
pub(super) fn push_hold(
    entries: &mut Vec<LedgerEntry>,
    amount: i64,
    at: DateTime<Utc>,
    hold_ref: &str,
) {
    let hold = entry(
        entries,
        0,
        EntryKind::Hold,
        amount,
        at,
        Some(hold_ref),
        None,
    );
    entries.push(hold);
}

/// Records that the processor refused the hold.
pub(crate) fn record_decline(
    entries: &mut Vec<LedgerEntry>,
    amount: i64,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<(), LedgerError> {
    positive(amount)?;
    empty(entries)?;
    let note = Some(reason.to_owned());
    let declined = entry(entries, 0, EntryKind::HoldDeclined, amount, at, None, note);
    entries.push(declined);
    Ok(())
}

/// Records the capture of `amount` from the first open hold and, in the same append, the
/// release of the remainder.
#[cfg(test)]
pub(crate) fn record_capture(
    entries: &mut Vec<LedgerEntry>,
    amount: i64,
    at: DateTime<Utc>,
) -> Result<(), LedgerError> {
    record_capture_from(entries, None, amount, at)
}

/// Records the capture of `amount` from the open hold `hold_ref` (the first open one when
/// `None`) and, in the same append, the release of that hold's remainder.
pub(crate) fn record_capture_from(
    entries: &mut Vec<LedgerEntry>,
    hold_ref: Option<&str>,
    amount: i64,
    at: DateTime<Utc>,
) -> Result<(), LedgerError> {
    positive(amount)?;
    let totals = totals(entries);
    let hold = open_hold(&totals, hold_ref)?;
    let (hold_ref, held) = (hold.provider_ref.clone(), hold.amount);
    if amount > held {
        return Err(LedgerError::ExceedsHold);
    }
    let capture = entry(
        entries,
        0,
        EntryKind::Capture,
        amount,
        at,
        Some(&hold_ref),
        None,
    );
    let remainder = held - amount;
    let release = (remainder > 0).then(|| {
        entry(
            entries,
            1,
            EntryKind::Release,
            remainder,
            at,
            Some(&hold_ref),
            None,
        )
    });
    entries.push(capture);
    entries.extend(release);
    Ok(())
}

/// Records that the first open hold was given back whole.
#[cfg(test)]
pub(crate) fn record_void(
    entries: &mut Vec<LedgerEntry>,
    at: DateTime<Utc>,
) -> Result<(), LedgerError> {
    record_void_of(entries, None, at)
}

/// Records that the open hold `hold_ref` (the first open one when `None`) was given back whole.
pub(crate) fn record_void_of(
    entries: &mut Vec<LedgerEntry>,
    hold_ref: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let totals = totals(entries);
    let hold = open_hold(&totals, hold_ref)?;
    let (hold_ref, held) = (hold.provider_ref.clone(), hold.amount);
    let void = entry(entries, 0, EntryKind::Void, held, at, Some(&hold_ref), None);
    entries.push(void);
    Ok(())
}

/// Records a direct sale beyond the hold; only once the hold is resolved.
pub(crate) fn record_charge(
    entries: &mut Vec<LedgerEntry>,
    amount: i64,
    at: DateTime<Utc>,
    payment_ref: &str,
) -> Result<(), LedgerError> {
    positive(amount)?;
    let totals = totals(entries);
    if totals.declined {
        return Err(LedgerError::Declined);
    }
    if totals.resolution.is_none() {
        return Err(LedgerError::HoldNotResolved);
    }
    let charge = entry(
        entries,
        0,
        EntryKind::Charge,
        amount,
        at,
        Some(payment_ref),
        None,
    );
    entries.push(charge);
    Ok(())
}

/// Records a refund from the payment `payment_ref`.
#[cfg(test)]
pub(crate) fn record_refund(
    entries: &mut Vec<LedgerEntry>,
    amount: i64,
    at: DateTime<Utc>,
    payment_ref: &str,
) -> Result<(), LedgerError> {
    record_refund_noted(entries, amount, at, payment_ref, None)
}

/// Records a refund from the payment `payment_ref`, with why (an operator's reason).
pub(crate) fn record_refund_noted(
    entries: &mut Vec<LedgerEntry>,
    amount: i64,
    at: DateTime<Utc>,
    payment_ref: &str,
    note: Option<String>,
) -> Result<(), LedgerError> {
    positive(amount)?;
    let totals = totals(entries);
    let payment = totals
        .payments
        .iter()
        .find(|payment| payment.provider_ref == payment_ref)
        .ok_or(LedgerError::UnknownPayment)?;
    let left = payment.paid - payment.refunded;
    if amount > left {
        return Err(LedgerError::ExceedsRefundable { left });
    }
    let refund = entry(
        entries,
        0,
        EntryKind::Refund,
        amount,
        at,
        Some(payment_ref),
        note,
    );
    entries.push(refund);
    Ok(())
}
