//! What the locks service can refuse or fail with.

use crate::ask::AskError;
use crate::ids::CommandId;
use crate::reservations::AccessDenied;
use storage::StorageError;

/// Errors of the locks service.
#[derive(Debug, thiserror::Error)]
pub enum LocksError {
    /// The customer may not operate this car now.
    #[error(transparent)]
    Access(#[from] AccessDenied),
    /// The car is moving: it is not locked under a driver.
    #[error("the car is moving")]
    Moving,
    /// Another command to this car is still waiting for the unit.
    #[error("another command to this car is in progress")]
    CommandInProgress,
    /// The unit did not answer before the command expired.
    #[error("the car did not answer in time")]
    UnitTimeout,
    /// The unit answered that it could not do it.
    #[error("the car could not do it: {0}")]
    UnitFailed(String),
    /// An acknowledgement for a command this car never had.
    #[error("unknown command {0}")]
    UnknownCommand(CommandId),
    /// Reservations or location failed to answer.
    #[error("{service} failed: {reason}")]
    Upstream {
        /// The service.
        service: &'static str,
        /// What it said.
        reason: String,
    },
    /// An actor did not answer.
    #[error(transparent)]
    Ask(#[from] AskError),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
