//! Everything billing can answer instead of a result.

use storage::StorageError;

use crate::ask::AskError;
use crate::error_kind::{ErrorKind, Kinded};

use super::provider::PaymentError;

/// Why a billing operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    /// The processor refused the card (hold or tokenization).
    #[error("the card was declined: {reason}")]
    Declined {
        /// The processor's reason.
        reason: String,
    },
    /// The card has not enough funds for the hold.
    #[error("the card has insufficient funds")]
    InsufficientFunds,
    /// The card token is unknown to the processor.
    #[error("the card token is unknown to the payment processor")]
    UnknownCard,
    /// There is no hold to act on (it was declined, or never placed).
    #[error("the reservation has no hold")]
    NoHold,
    /// The hold was already captured or voided in another way than asked.
    #[error("the hold is already resolved")]
    AlreadyResolved,
    /// An amount is zero or negative where it must be positive (or negative where it may be
    /// zero).
    #[error("the amount is not valid")]
    InvalidAmount,
    /// A refund asks for more than what was paid and not yet refunded.
    #[error("the refund exceeds what may be refunded ({refundable_cents} centavos)")]
    RefundExceedsPaid {
        /// What may still be refunded.
        refundable_cents: i64,
    },
    /// The hold was captured but the extra charge beyond it was refused: the remainder is
    /// owed by the customer. Final for this settlement (a retry gets the same answer).
    #[error("the settlement is incomplete: {outstanding_cents} centavos were refused ({reason})")]
    SettlementIncomplete {
        /// What could not be charged.
        outstanding_cents: i64,
        /// The processor's reason.
        reason: String,
    },
    /// The processor failed, timed out or refused the request as malformed; retrying the same
    /// operation is safe (idempotency keys).
    #[error("the payment provider failed")]
    Provider(#[source] PaymentError),
    /// The processor answered something the ledger cannot accept (a capture above the hold, a
    /// refund of an unknown payment): a fault between the two, not the customer's.
    #[error("the ledger refused the provider's result")]
    LedgerRefused(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A refund's idempotency key was used before with another amount or reason.
    #[error("the idempotency key was used with a different refund")]
    IdempotencyMismatch,
    /// The charge is not settled yet (its hold is open or pending), so its card cannot be
    /// forgotten: an erasure waits for the settlement.
    #[error("the charge is not settled yet")]
    Unsettled,
    /// No charge exists for the reservation.
    #[error("no charge for this reservation")]
    NotFound,
    /// The billing actor did not answer.
    #[error(transparent)]
    Ask(AskError),
    /// The billing store failed.
    #[error("the billing store failed")]
    Storage(#[from] StorageError),
}

impl From<AskError> for BillingError {
    fn from(error: AskError) -> Self {
        match error {
            AskError::NotFound { .. } => BillingError::NotFound,
            other => BillingError::Ask(other),
        }
    }
}

impl From<PaymentError> for BillingError {
    fn from(error: PaymentError) -> Self {
        match error {
            PaymentError::Declined { reason } => BillingError::Declined { reason },
            PaymentError::InsufficientFunds => BillingError::InsufficientFunds,
            PaymentError::UnknownToken => BillingError::UnknownCard,
            other => BillingError::Provider(other),
        }
    }
}

impl Kinded for BillingError {
    fn kind(&self) -> ErrorKind {
        match self {
            BillingError::Declined { .. }
            | BillingError::InsufficientFunds
            | BillingError::UnknownCard
            | BillingError::SettlementIncomplete { .. } => ErrorKind::PaymentDeclined,
            BillingError::NoHold | BillingError::AlreadyResolved | BillingError::Unsettled => {
                ErrorKind::InvalidState
            }
            BillingError::InvalidAmount | BillingError::RefundExceedsPaid { .. } => {
                ErrorKind::Invalid
            }
            // Down or timing out: the same request later will do, so 503 with Retry-After.
            BillingError::Provider(PaymentError::Unavailable(_)) => ErrorKind::Unavailable,
            BillingError::Provider(_) => ErrorKind::PaymentProvider,
            BillingError::NotFound => ErrorKind::NotFound,
            BillingError::IdempotencyMismatch => ErrorKind::IdempotencyMismatch,
            BillingError::LedgerRefused(_) => ErrorKind::Internal,
            BillingError::Ask(error) => error.kind(),
            BillingError::Storage(error) => error.kind(),
        }
    }
}
