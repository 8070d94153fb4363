//! What billing stores and what it answers: the ledger entries, the charge header with its
//! intents, and the summaries and audit handed to other services.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, ReservationId};

/// The currency of every amount: the service rents cars in Brazil only.
pub const CURRENCY: &str = "BRL";

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Money reserved on the card when the car was booked.
    Hold,
    /// The processor refused the hold; nothing is reserved.
    HoldDeclined,
    /// Part or all of the hold taken as payment; resolves the hold.
    Capture,
    /// The part of the hold not captured, given back in the same step as the capture.
    Release,
    /// The whole hold given back (cancellation before the start); resolves the hold.
    Void,
    /// A direct sale on the card, for amounts beyond the hold (overtime, late fees).
    Charge,
    /// Money returned from a capture or a charge.
    Refund,
}

/// One line of a charge's append-only ledger: entries are never changed or removed, so the
/// ledger is the history an accountant or a dispute needs, and every figure is derived from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Position in the ledger, from 1, without gaps.
    pub seq: u32,
    /// What happened.
    pub kind: EntryKind,
    /// How much, in centavos; always positive.
    pub amount_cents: i64,
    /// When billing recorded it (from the service clock).
    pub at: DateTime<Utc>,
    /// The processor's reference of the hold or payment concerned.
    pub provider_ref: Option<String>,
    /// Why, when there is more to say (a decline reason).
    pub note: Option<String>,
}

/// Where a charge stands, derived from its ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    /// The hold, or its capture or void, was asked for but its outcome is not recorded yet:
    /// the process stopped in between or the provider was unavailable. The next operation on
    /// the charge (a booking's retry, the settlement's background retry) completes it with the
    /// same idempotency key.
    Pending,
    /// Money is held on the card.
    Held,
    /// The hold was captured (and possibly charged beyond it).
    Captured,
    /// The hold was given back.
    Voided,
    /// The processor refused the hold.
    Declined,
}

/// The money of one reservation at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChargeSummary {
    /// The reservation the charge belongs to.
    pub reservation_id: ReservationId,
    /// Where the charge stands.
    pub status: ChargeStatus,
    /// The amount of the hold (0 when declined).
    pub held_cents: i64,
    /// The amount captured from the hold.
    pub captured_cents: i64,
    /// The amount charged beyond the hold.
    pub charged_cents: i64,
    /// The amount refunded.
    pub refunded_cents: i64,
    /// Always `BRL`.
    pub currency: &'static str,
}

/// A request to hold money for a reservation. Its `Debug` does not show the card token.
#[derive(Clone, PartialEq, Eq)]
pub struct HoldRequest {
    /// The reservation; one hold per reservation.
    pub reservation_id: ReservationId,
    /// Who pays.
    pub customer_id: CustomerId,
    /// The customer's card token (from tokenization).
    pub card_token: String,
    /// How much to hold, in centavos.
    pub amount_cents: i64,
}

impl std::fmt::Debug for HoldRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HoldRequest")
            .field("reservation_id", &self.reservation_id)
            .field("customer_id", &self.customer_id)
            .field("card_token", &"<redacted>")
            .field("amount_cents", &self.amount_cents)
            .finish()
    }
}

/// The whole store checked, for the simulator's invariant audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillingAudit {
    /// How many charges exist.
    pub charges: u64,
    /// Reservations whose hold is still open (or whose authorization is pending).
    pub unresolved_holds: Vec<ReservationId>,
    /// Broken invariants, one sentence each; empty when all is well.
    pub violations: Vec<String>,
    /// Operator refunds and the provider's events applied, by kind (see
    /// [`super::ChargeEventKind::as_str`]).
    pub events: std::collections::BTreeMap<String, u64>,
    /// Of those, the ones an operator should look at (disputes, holds cancelled at the
    /// provider), by kind.
    pub incidents: std::collections::BTreeMap<String, u64>,
}

/// Why the processor refused the hold, kept beside the ledger so that a repeated hold answers
/// with the same error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Decline {
    /// Refused, with the processor's reason.
    Declined(String),
    /// Refused for lack of funds.
    InsufficientFunds,
    /// The token was unknown to the processor.
    UnknownCard,
}

/// The stored header of a charge: who pays with what, and the operations asked for. The
/// intents (`settle_total_cents`, `refund_requests`) are written before any provider call, so
/// a restarted entity knows which steps remain and repeats them with the same idempotency keys.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChargeHeader {
    pub(crate) reservation_id: ReservationId,
    pub(crate) customer_id: CustomerId,
    pub(crate) card_token: String,
    pub(crate) hold_cents: i64,
    pub(crate) decline: Option<Decline>,
    /// The total of the settlement (0 for a void), once asked for.
    pub(crate) settle_total_cents: Option<i64>,
    /// Why the processor refused the settlement's charge beyond the hold; final until the
    /// customer pays their outstanding balance (a new attempt).
    pub(crate) extra_charge_refused: Option<String>,
    /// Attempts at the charge beyond the hold made after a refusal (each has its own
    /// idempotency key).
    pub(crate) extra_charge_retries: u32,
    /// Every refund asked for, in order.
    pub(crate) refund_requests: Vec<RefundRequest>,
    /// What happened to the charge besides our own calls (operator refunds, the provider's
    /// events), for the audit.
    pub(crate) events: Vec<super::events::ChargeEvent>,
    pub(crate) created_at: DateTime<Utc>,
    /// The holds asked for after the first (a reservation extended), in order; hold `N` is
    /// `extra_holds[N - 2]`. Written before the provider is called, like every intent.
    pub(crate) extra_holds: Vec<ExtraHold>,
}

/// A hold asked for after the first one (see `holds.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ExtraHold {
    pub(crate) amount_cents: i64,
    /// Why the processor refused it, once it did.
    pub(crate) decline: Option<Decline>,
}

/// An extra hold placed on a charge: its number (the first hold is 1) and the charge after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedHold {
    /// The hold's number on the charge, from 2.
    pub number: u32,
    /// The charge with the hold: `held_cents` is every hold added up.
    pub summary: ChargeSummary,
}

/// Never prints the card token (it would end up in logs).
impl std::fmt::Debug for ChargeHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChargeHeader")
            .field("reservation_id", &self.reservation_id)
            .field("customer_id", &self.customer_id)
            .field("card_token", &"<redacted>")
            .field("hold_cents", &self.hold_cents)
            .field("decline", &self.decline)
            .field("settle_total_cents", &self.settle_total_cents)
            .field("extra_charge_refused", &self.extra_charge_refused)
            .field("extra_charge_retries", &self.extra_charge_retries)
            .field("refund_requests", &self.refund_requests)
            .field("events", &self.events)
            .field("created_at", &self.created_at)
            .field("extra_holds", &self.extra_holds)
            .finish()
    }
}

/// A refund asked for, stored in the charge's header before the provider is called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RefundRequest {
    pub(crate) amount_cents: i64,
    /// Why: an operator's reason, written on the refund's ledger entry.
    pub(crate) reason: Option<String>,
    /// The request's idempotency key and a digest of what it asked (amount and reason).
    pub(crate) idempotency: Option<(String, String)>,
}

/// A refund an operator (or a test) asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOrder {
    /// How much, in centavos.
    pub amount_cents: i64,
    /// Why; written on the refund's ledger entry.
    pub reason: Option<String>,
    /// The request's idempotency key: the same key with the same amount and reason answers the
    /// charge without refunding again; with another amount or reason it is refused.
    pub idempotency_key: Option<String>,
}

impl RefundOrder {
    /// A digest of what the order asks, to tell a retry from another request with the same key.
    pub(crate) fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        hash.update(self.amount_cents.to_le_bytes());
        hash.update(self.reason.as_deref().unwrap_or_default().as_bytes());
        hex::encode(hash.finalize())
    }
}

/// A ledger entry as stored (kept apart from [`LedgerEntry`], the public view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredEntry {
    pub(crate) kind: EntryKind,
    pub(crate) amount_cents: i64,
    pub(crate) at: DateTime<Utc>,
    pub(crate) provider_ref: Option<String>,
    pub(crate) note: Option<String>,
}

impl StoredEntry {
    pub(crate) fn from_entry(entry: &LedgerEntry) -> Self {
        StoredEntry {
            kind: entry.kind,
            amount_cents: entry.amount_cents,
            at: entry.at,
            provider_ref: entry.provider_ref.clone(),
            note: entry.note.clone(),
        }
    }

    pub(crate) fn into_entry(self, seq: u32) -> LedgerEntry {
        LedgerEntry {
            seq,
            kind: self.kind,
            amount_cents: self.amount_cents,
            at: self.at,
            provider_ref: self.provider_ref,
            note: self.note,
        }
    }
}

/// A charge in memory: its header and its ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChargeRecord {
    pub(crate) header: ChargeHeader,
    pub(crate) entries: Vec<LedgerEntry>,
}
