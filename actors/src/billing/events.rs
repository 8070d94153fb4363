//! What the payment provider reports on its own (its webhooks), provider-neutral: a hold
//! cancelled or expired at the provider, a refund made in its dashboard, a dispute. Each adapter
//! (or the gateway's webhook endpoints) turns its provider's notifications into a
//! [`ProviderEvent`]; [`super::BillingHandle::apply_provider_event`] finds the charge by the
//! provider's reference and hands the event to the charge's actor, the single writer of its
//! ledger, which applies it idempotently: applying an event twice, or an event about something
//! the ledger already records (a refund we made ourselves), changes nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ledger::{self, LedgerError};
use super::model::{ChargeRecord, RefundRequest};
use super::provider::{PaymentState, ProviderRef};
use crate::ids::ReservationId;

/// What the provider says happened, in our terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderEvent {
    /// The hold was cancelled or expired at the provider (Stripe `payment_intent.canceled`, a
    /// Mercado Pago payment `cancelled`).
    HoldCancelled {
        /// The hold's reference.
        hold: ProviderRef,
        /// The provider's reason, if it gave one.
        reason: Option<String>,
    },
    /// The provider's records show `refunded_cents` refunded in all from `payment` (Stripe
    /// `charge.refunded`'s `amount_refunded`): what exceeds our ledger was refunded outside
    /// this service (the provider's dashboard) and is recorded.
    Refunded {
        /// The captured hold's or the sale's reference.
        payment: ProviderRef,
        /// Everything refunded from it so far, by the provider's records.
        refunded_cents: i64,
    },
    /// The cardholder disputed the payment (a chargeback).
    DisputeOpened {
        /// The disputed payment's reference.
        payment: ProviderRef,
        /// The provider's id of the dispute.
        dispute_id: String,
        /// The disputed amount.
        amount_cents: i64,
        /// The provider's reason.
        reason: String,
    },
}

impl ProviderEvent {
    /// The reference the event is about, by which its charge is found.
    pub fn reference(&self) -> &ProviderRef {
        match self {
            ProviderEvent::HoldCancelled { hold, .. } => hold,
            ProviderEvent::Refunded { payment, .. }
            | ProviderEvent::DisputeOpened { payment, .. } => payment,
        }
    }
}

/// What a payment's state, read from the provider after a notification that only named it,
/// says in events: a cancelled payment is a hold cancelled, its refunds a running total, a
/// dispute a dispute. Each is applied idempotently, so a state that says nothing new (our own
/// capture, a refund of ours) changes nothing. A payment has at most one dispute here (its id
/// is derived from the payment's), because the provider's payment tells of a chargeback, not
/// of which one.
pub fn events_of(state: &PaymentState) -> Vec<ProviderEvent> {
    let payment = &state.payment;
    let reference = ProviderRef(payment.reference.clone());
    let mut events = Vec::new();
    if payment.voided {
        events.push(ProviderEvent::HoldCancelled {
            hold: reference.clone(),
            reason: state.detail.clone(),
        });
    }
    if payment.refunded_cents > 0 {
        events.push(ProviderEvent::Refunded {
            payment: reference.clone(),
            refunded_cents: payment.refunded_cents,
        });
    }
    if state.disputed {
        events.push(ProviderEvent::DisputeOpened {
            dispute_id: format!("{}:dispute", payment.reference),
            payment: reference,
            amount_cents: payment.captured_cents,
            reason: state
                .detail
                .clone()
                .unwrap_or_else(|| "unspecified".to_owned()),
        });
    }
    events
}

/// An event as delivered: which provider, its id there (for deduplication), and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderNotice {
    /// `stripe`, `mercadopago`, …
    pub provider: String,
    /// The provider's id of the event (or notification).
    pub event_id: String,
    /// What it says.
    pub event: ProviderEvent,
}

/// What applying an event came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    /// The charge's ledger (or its record of events) changed.
    Applied,
    /// The charge already said so (our own refund, a hold already voided).
    Unchanged,
    /// The event was received before: acknowledged, nothing done.
    Duplicate,
    /// No charge has the event's reference (a payment not made by this service).
    UnknownPayment,
    /// Recorded, not applied (a kind of event this service does not act on).
    Ignored,
}

impl EventOutcome {
    /// The outcome as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventOutcome::Applied => "applied",
            EventOutcome::Unchanged => "unchanged",
            EventOutcome::Duplicate => "duplicate",
            EventOutcome::UnknownPayment => "unknown_payment",
            EventOutcome::Ignored => "ignored",
        }
    }
}

/// What happened to a charge besides the provider calls this service made, kept in its header
/// for the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ChargeEventKind {
    /// An operator refunded part of the payment, with a reason.
    OperatorRefund,
    /// A refund made at the provider (its dashboard), recorded from its event.
    ProviderRefund,
    /// The hold was cancelled or expired at the provider.
    HoldCancelledAtProvider,
    /// The cardholder disputed the payment.
    Dispute,
}

impl ChargeEventKind {
    /// The kind as the audit spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeEventKind::OperatorRefund => "operator_refund",
            ChargeEventKind::ProviderRefund => "provider_refund",
            ChargeEventKind::HoldCancelledAtProvider => "hold_cancelled_at_provider",
            ChargeEventKind::Dispute => "payment_dispute",
        }
    }

    /// Whether an operator should look at it (an incident in the audit).
    pub fn is_incident(self) -> bool {
        matches!(
            self,
            ChargeEventKind::HoldCancelledAtProvider | ChargeEventKind::Dispute
        )
    }
}

/// One such event, as stored in the charge's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChargeEvent {
    pub(crate) kind: ChargeEventKind,
    pub(crate) at: DateTime<Utc>,
    pub(crate) amount_cents: i64,
    /// The provider's id of the event or the dispute.
    pub(crate) reference: Option<String>,
    pub(crate) detail: String,
}

/// A provider event processed, kept for deduplication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProcessedEvent {
    pub(crate) at: DateTime<Utc>,
    pub(crate) reservation_id: Option<ReservationId>,
}

/// Applies `notice` to the charge; whether it changed. Pure: the actor persists the result.
pub(crate) fn apply(
    record: &mut ChargeRecord,
    notice: &ProviderNotice,
    at: DateTime<Utc>,
) -> Result<bool, LedgerError> {
    let totals = ledger::totals(&record.entries);
    match &notice.event {
        ProviderEvent::HoldCancelled { hold, reason } => {
            let Some(open) = totals
                .holds
                .iter()
                .find(|open| open.provider_ref == hold.0 && open.resolution.is_none())
            else {
                return Ok(false);
            };
            let detail = match reason {
                Some(reason) => format!("cancelled at the provider: {reason}"),
                None => "cancelled at the provider".to_owned(),
            };
            ledger::record_void_of(&mut record.entries, Some(&hold.0), at)?;
            if let Some(entry) = record.entries.last_mut() {
                entry.note = Some(detail.clone());
            }
            record.header.events.push(ChargeEvent {
                kind: ChargeEventKind::HoldCancelledAtProvider,
                at,
                amount_cents: open.amount,
                reference: Some(notice.event_id.clone()),
                detail,
            });
            Ok(true)
        }
        ProviderEvent::Refunded {
            payment,
            refunded_cents,
        } => {
            let Some(paid) = totals
                .payments
                .iter()
                .find(|paid| paid.provider_ref == payment.0)
            else {
                return Ok(false);
            };
            // A refund of ours asked for and not yet recorded (a crash in between) is not
            // the provider's own.
            let ours = paid.refunded + super::settlement::pending_refunds(record).max(0);
            let lacking = (*refunded_cents - ours).min(paid.paid - paid.refunded);
            if lacking <= 0 {
                return Ok(false);
            }
            let detail = "refunded at the provider".to_owned();
            ledger::record_refund_noted(
                &mut record.entries,
                lacking,
                at,
                &payment.0,
                Some(detail.clone()),
            )?;
            // Counted as asked for too, so that our own refunds' bookkeeping stays whole.
            record.header.refund_requests.push(RefundRequest {
                amount_cents: lacking,
                reason: Some(detail.clone()),
                idempotency: None,
            });
            record.header.events.push(ChargeEvent {
                kind: ChargeEventKind::ProviderRefund,
                at,
                amount_cents: lacking,
                reference: Some(notice.event_id.clone()),
                detail,
            });
            Ok(true)
        }
        ProviderEvent::DisputeOpened {
            payment,
            dispute_id,
            amount_cents,
            reason,
        } => {
            let known = record.header.events.iter().any(|event| {
                event.kind == ChargeEventKind::Dispute
                    && event.reference.as_deref() == Some(dispute_id.as_str())
            });
            let ours = totals
                .payments
                .iter()
                .any(|paid| paid.provider_ref == payment.0)
                || totals
                    .holds
                    .iter()
                    .any(|held| held.provider_ref == payment.0);
            if known || !ours {
                return Ok(false);
            }
            record.header.events.push(ChargeEvent {
                kind: ChargeEventKind::Dispute,
                at,
                amount_cents: *amount_cents,
                reference: Some(dispute_id.clone()),
                detail: format!("payment {} disputed: {reason}", payment.0),
            });
            Ok(true)
        }
    }
}
