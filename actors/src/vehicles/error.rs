//! Everything the vehicles service can refuse or fail with.

use storage::StorageError;

use crate::ask::AskError;
use crate::domain::InvalidField;
use crate::error_kind::{ErrorKind, Kinded};
use crate::location::LocationError;

/// Why a fleet request did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum VehiclesError {
    /// The input is wrong; every bad field is listed.
    #[error("invalid input: {}", join(.0))]
    Invalid(Vec<InvalidField>),
    /// No car with this id.
    #[error("no such vehicle")]
    NotFound,
    /// A unique field is taken by another car (the plate; retired cars keep theirs).
    #[error("{field} is already registered")]
    Conflict {
        /// The field, as the API names it.
        field: &'static str,
    },
    /// The car is retired: its record is history and cannot change.
    #[error("the vehicle is retired")]
    Retired,
    /// The car has reservations that are not finished, so it cannot be retired yet.
    #[error("the vehicle has open reservations")]
    OpenReservations,
    /// A search point outside the service area.
    #[error("the point is outside the service area")]
    OutsideServiceArea,
    /// The location service failed.
    #[error("the location service failed")]
    Location(#[source] LocationError),
    /// A vehicle actor or the reservations service did not answer.
    #[error(transparent)]
    Ask(AskError),
    /// The vehicles store failed.
    #[error("the vehicles store failed")]
    Storage(#[from] StorageError),
}

impl From<AskError> for VehiclesError {
    fn from(error: AskError) -> Self {
        match error {
            AskError::NotFound { .. } => VehiclesError::NotFound,
            other => VehiclesError::Ask(other),
        }
    }
}

/// Location's refusals of the caller's own input keep their meaning; the rest is a failure of
/// location.
impl From<LocationError> for VehiclesError {
    fn from(error: LocationError) -> Self {
        match error {
            LocationError::Invalid(errors) => VehiclesError::Invalid(errors),
            LocationError::OutsideServiceArea => VehiclesError::OutsideServiceArea,
            other => VehiclesError::Location(other),
        }
    }
}

fn join(errors: &[InvalidField]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Kinded for VehiclesError {
    fn kind(&self) -> ErrorKind {
        match self {
            VehiclesError::Invalid(_) => ErrorKind::Invalid,
            VehiclesError::NotFound => ErrorKind::NotFound,
            VehiclesError::Conflict { .. } => ErrorKind::AlreadyRegistered,
            VehiclesError::Retired => ErrorKind::Retired,
            VehiclesError::OpenReservations => ErrorKind::OpenReservations,
            VehiclesError::OutsideServiceArea => ErrorKind::OutsideServiceArea,
            VehiclesError::Location(error) => error.kind(),
            VehiclesError::Ask(error) => error.kind(),
            VehiclesError::Storage(error) => error.kind(),
        }
    }
}
