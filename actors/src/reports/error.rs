//! What the reports service can refuse or fail with.

use storage::StorageError;

use crate::ask::AskError;
use crate::domain::InvalidField;
use crate::error_kind::{ErrorKind, Kinded};

/// Why a reports request did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ReportsError {
    /// The span or another parameter is not acceptable.
    #[error("invalid report request")]
    Invalid(Vec<InvalidField>),
    /// The writer of the log did not answer.
    #[error(transparent)]
    Ask(#[from] AskError),
    /// The reports store failed.
    #[error("the reports store failed")]
    Storage(#[from] StorageError),
}

impl Kinded for ReportsError {
    fn kind(&self) -> ErrorKind {
        match self {
            ReportsError::Invalid(_) => ErrorKind::Invalid,
            ReportsError::Ask(error) => error.kind(),
            ReportsError::Storage(error) => error.kind(),
        }
    }
}
