//! Everything the location service can refuse or fail with.

use storage::StorageError;

use crate::ask::AskError;
use crate::domain::InvalidField;
use crate::error_kind::{ErrorKind, Kinded};

/// Why a location request did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    /// The request's own parameters are wrong (a search radius or limit, a time range). Bad
    /// fixes inside a batch are not this: they are reported per fix in the ingest report.
    #[error("invalid request: {}", join(.0))]
    Invalid(Vec<InvalidField>),
    /// A batch holds more fixes than one request may carry.
    #[error("a batch holds at most {max} fixes, this one {size}")]
    BatchTooLarge {
        /// Fixes in the batch.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The search point is outside the service area: no car may be picked up there.
    #[error("the point is outside the service area")]
    OutsideServiceArea,
    /// A tracker did not answer.
    #[error(transparent)]
    Ask(#[from] AskError),
    /// The location store failed.
    #[error("the location store failed")]
    Storage(#[from] StorageError),
}

fn join(errors: &[InvalidField]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Kinded for LocationError {
    fn kind(&self) -> ErrorKind {
        match self {
            LocationError::Invalid(_) => ErrorKind::Invalid,
            LocationError::BatchTooLarge { .. } => ErrorKind::BadRequest,
            LocationError::OutsideServiceArea => ErrorKind::OutsideServiceArea,
            LocationError::Ask(error) => error.kind(),
            LocationError::Storage(error) => error.kind(),
        }
    }
}
