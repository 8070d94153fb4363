//! Everything the customers service can answer instead of a result.

use storage::StorageError;

use crate::ask::AskError;
use crate::billing::BillingError;
use crate::domain::InvalidField;
use crate::error_kind::{ErrorKind, Kinded};

/// Why a customers operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CustomersError {
    /// Input failed validation; every failing field is listed.
    #[error("invalid input: {}", fields(.0))]
    Invalid(Vec<InvalidField>),
    /// The CPF or the e-mail belongs to another account (an e-mail, to a customer or an
    /// administrator: one address names one account).
    #[error("the {field} is already registered")]
    Conflict {
        /// `cpf` or `email`.
        field: &'static str,
    },
    /// No customer with this id.
    #[error("no such customer")]
    NotFound,
    /// Unknown e-mail, wrong password or erased account: deliberately indistinct.
    #[error("wrong e-mail or password")]
    BadCredentials,
    /// The administrator has two-factor authentication on and the login carried no code.
    #[error("a one-time code is required")]
    TotpRequired,
    /// `auth.require_admin_totp` is on and this administrator has no second factor yet: the
    /// password was right, and the caller may only set one up.
    #[error("two-factor authentication must be set up first")]
    TotpSetupRequired(super::principal::Principal),
    /// Two-factor authentication is already on for this administrator.
    #[error("two-factor authentication is already on")]
    TotpAlreadyEnabled,
    /// The request does not fit the account's state.
    #[error("{0}")]
    InvalidState(&'static str),
    /// Erasure refused: the customer has a reservation that is not finished.
    #[error("the customer has an open reservation")]
    OpenReservation,
    /// The account was erased: its data is gone and it cannot be changed or used.
    #[error("the customer was erased")]
    Erased,
    /// The customer has no card on file.
    #[error("the customer has no card on file")]
    NoCard,
    /// The account's e-mail address is not confirmed yet: no booking until it is.
    #[error("the e-mail address must be confirmed first")]
    EmailUnconfirmed,
    /// A confirmation code was sent too recently (or too many this hour).
    #[error("a new code may be sent in {retry_after_s} s")]
    ConfirmationRateLimited {
        /// Seconds to wait.
        retry_after_s: u64,
    },
    /// The customer owes money from earlier rentals (the card refused it).
    #[error("an outstanding balance of {outstanding_cents} centavos must be paid first")]
    OutstandingBalance {
        /// What is owed.
        outstanding_cents: i64,
    },
    /// The refresh token is malformed, unknown, expired, of a revoked session (logout or
    /// detected reuse) or of an erased customer. The gateway answers 401: log in again.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// The refresh token had been exchanged already: a replay, so a copy of it is in other
    /// hands. Its whole session was revoked before this answer. The gateway answers 401 as for
    /// [`CustomersError::InvalidRefreshToken`], without telling the client which; the
    /// distinction is for security logs and metrics.
    #[error("refresh token reused; the session was revoked")]
    RefreshTokenReused,
    /// Tokenizing the card failed at the payment processor.
    #[error("the card could not be registered")]
    Billing(#[from] BillingError),
    /// Hashing or verifying a password failed (an internal error).
    #[error("password hashing failed")]
    PasswordHashing(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The key vault (the customers' own keys) failed: personal data cannot be sealed or
    /// opened. An internal error.
    #[error("the customers' key vault failed")]
    Keys(#[from] super::privacy::VaultError),
    /// A service did not answer.
    #[error(transparent)]
    Ask(AskError),
    /// The customers store failed.
    #[error("the customers store failed")]
    Storage(#[from] StorageError),
}

fn fields(errors: &[InvalidField]) -> String {
    errors
        .iter()
        .map(|error| error.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<AskError> for CustomersError {
    fn from(error: AskError) -> Self {
        match error {
            AskError::NotFound { .. } => CustomersError::NotFound,
            other => CustomersError::Ask(other),
        }
    }
}

impl CustomersError {
    /// Whether trying again later may succeed (a service or store did not answer), as opposed
    /// to an answer about the customer that will not change by itself.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            CustomersError::Ask(_)
                | CustomersError::Storage(_)
                | CustomersError::PasswordHashing(_)
        )
    }
}

impl Kinded for CustomersError {
    fn kind(&self) -> ErrorKind {
        match self {
            CustomersError::Invalid(_) => ErrorKind::Invalid,
            CustomersError::Conflict { .. } => ErrorKind::AlreadyRegistered,
            CustomersError::NotFound | CustomersError::Erased => ErrorKind::NotFound,
            CustomersError::BadCredentials
            | CustomersError::InvalidRefreshToken
            | CustomersError::RefreshTokenReused => ErrorKind::Unauthenticated,
            CustomersError::TotpRequired => ErrorKind::TotpRequired,
            CustomersError::TotpSetupRequired(_) => ErrorKind::TotpSetupRequired,
            CustomersError::TotpAlreadyEnabled | CustomersError::InvalidState(_) => {
                ErrorKind::InvalidState
            }
            CustomersError::OpenReservation => ErrorKind::OpenReservation,
            CustomersError::NoCard => ErrorKind::NoCard,
            CustomersError::EmailUnconfirmed => ErrorKind::EmailUnconfirmed,
            CustomersError::ConfirmationRateLimited { .. } => ErrorKind::RateLimited,
            CustomersError::OutstandingBalance { .. } => ErrorKind::OutstandingBalance,
            CustomersError::Billing(error) => error.kind(),
            CustomersError::PasswordHashing(_) | CustomersError::Keys(_) => ErrorKind::Internal,
            CustomersError::Ask(error) => error.kind(),
            CustomersError::Storage(error) => error.kind(),
        }
    }
}
