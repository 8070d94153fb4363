//! What the reservations service can refuse or fail with.

use crate::ask::AskError;
use crate::commands::CommandError;
use crate::customers::CustomersError;
use crate::domain::InvalidField;
use crate::error_kind::{ErrorKind, Kinded};
use crate::ids::ReservationId;
use crate::vehicles::BatteryRefusal;
use storage::StorageError;

use super::model::ReservationStatus;

/// Why a renter may not unlock or lock a car now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccessDenied {
    /// The customer holds no confirmed or active reservation of this car.
    #[error("no reservation of this car")]
    NoReservation,
    /// The reservation exists but its window has not opened yet (or has closed).
    #[error("outside the reservation's window")]
    OutsideWindow,
    /// The reservation's window is open, but the previous renter's rental is still under way:
    /// the car is not back yet.
    #[error("the car is not back yet: the previous rental is still under way")]
    CarNotReturned,
}

/// Errors of the reservations service.
#[derive(Debug, thiserror::Error)]
pub enum ReservationsError {
    /// The request is malformed or breaks a rule about its own fields (duration, start).
    #[error("invalid reservation request")]
    Invalid(Vec<InvalidField>),
    /// The idempotency key was used before with a different request.
    #[error("the idempotency key was used with a different request")]
    IdempotencyMismatch,
    /// No such reservation (or not the requester's).
    #[error("no such reservation")]
    NotFound,
    /// The car cannot be booked (maintenance or retired).
    #[error("the car is not available for rental")]
    VehicleUnavailable,
    /// The customer cannot book (erased, or no card on file).
    #[error("the customer cannot book: {0}")]
    CustomerCannotBook(#[source] CustomersError),
    /// The interval overlaps another reservation of the car.
    #[error("the car is already reserved for part of that time")]
    VehicleBusy,
    /// The interval overlaps another reservation of the customer.
    #[error("you already have a reservation overlapping that time")]
    CustomerBusy,
    /// The card hold was declined; the reservation is `rejected` and the interval free again.
    #[error("the card hold was declined: {reason}")]
    PaymentDeclined {
        /// The rejected reservation.
        reservation_id: ReservationId,
        /// The processor's reason.
        reason: String,
    },
    /// The card refused the hold for the time an extension adds: nothing changed, the
    /// reservation keeps its end.
    #[error("the card hold for the extension was declined: {reason}")]
    ExtensionDeclined {
        /// The processor's reason.
        reason: String,
    },
    /// The action does not fit the reservation's state (cancel after start, finish before
    /// unlocking, …).
    #[error("cannot {action} a reservation that is {}", status.as_str())]
    InvalidState {
        /// What was asked.
        action: &'static str,
        /// Where the reservation is.
        status: ReservationStatus,
    },
    /// The rental cannot end here: the car's latest position is outside the service area,
    /// where the next renter would not look for it.
    #[error(
        "the car is {distance_m} m outside the service area; drive it back in and finish again"
    )]
    OutsideServiceArea {
        /// How far the car is from the nearest edge of the area, in metres.
        distance_m: u64,
    },
    /// The rental cannot end while the car is moving.
    #[error("the car is moving; park it and finish again")]
    CarMoving {
        /// The speed of the latest fix, when the unit reported one.
        speed_kmh: Option<f64>,
    },
    /// The doors could not be locked at the end of the rental (the unit refused or did not
    /// acknowledge in time): the reservation stays active, so the renter can finish again.
    #[error("the car could not be locked ({0}); the rental is still under way, finish again")]
    LockFailed(#[source] CommandError),
    /// Unlock or lock refused.
    #[error(transparent)]
    Access(#[from] AccessDenied),
    /// A command to the car could not be carried out (unit silent or refusing, car moving,
    /// another command in progress). At release the reservation stays active and the renter
    /// can retry.
    #[error("the car could not do it: {0}")]
    Command(#[from] CommandError),
    /// The payment provider is unavailable (down, timing out, or its circuit open): nothing
    /// was booked and nothing is held; the same request later, with the same idempotency key,
    /// completes the booking.
    #[error("the payment provider is unavailable; retry later with the same Idempotency-Key")]
    PaymentUnavailable,
    /// The customer owes money from an earlier rental and may not book until it is paid.
    #[error("an outstanding balance of {outstanding_cents} centavos must be paid first")]
    OutstandingBalance {
        /// What is owed.
        outstanding_cents: i64,
    },
    /// The car's battery is below the fleet's minimum, or its range would not last the
    /// booking.
    #[error(transparent)]
    BatteryLow(#[from] BatteryRefusal),
    /// Another service failed to answer.
    #[error("the {service} service failed")]
    Upstream {
        /// The service.
        service: &'static str,
        /// What it said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An actor did not answer.
    #[error(transparent)]
    Ask(AskError),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ReservationsError {
    /// Another service failed to answer or refused unexpectedly.
    pub(crate) fn upstream(
        service: &'static str,
        error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        ReservationsError::Upstream {
            service,
            source: error.into(),
        }
    }
}

impl From<AskError> for ReservationsError {
    fn from(error: AskError) -> Self {
        match error {
            AskError::NotFound { .. } => ReservationsError::NotFound,
            other => ReservationsError::Ask(other),
        }
    }
}

impl Kinded for AccessDenied {
    fn kind(&self) -> ErrorKind {
        match self {
            AccessDenied::NoReservation | AccessDenied::OutsideWindow => ErrorKind::NoAccess,
            AccessDenied::CarNotReturned => ErrorKind::CarNotReturned,
        }
    }
}

impl Kinded for ReservationsError {
    fn kind(&self) -> ErrorKind {
        match self {
            ReservationsError::Invalid(_) => ErrorKind::Invalid,
            ReservationsError::IdempotencyMismatch => ErrorKind::IdempotencyMismatch,
            ReservationsError::NotFound => ErrorKind::NotFound,
            ReservationsError::VehicleUnavailable => ErrorKind::VehicleUnavailable,
            ReservationsError::CustomerCannotBook(CustomersError::EmailUnconfirmed) => {
                ErrorKind::EmailUnconfirmed
            }
            ReservationsError::CustomerCannotBook(_) => ErrorKind::CannotBook,
            ReservationsError::VehicleBusy => ErrorKind::VehicleBusy,
            ReservationsError::CustomerBusy => ErrorKind::CustomerBusy,
            ReservationsError::PaymentDeclined { .. }
            | ReservationsError::ExtensionDeclined { .. } => ErrorKind::PaymentDeclined,
            ReservationsError::InvalidState { .. } => ErrorKind::InvalidState,
            ReservationsError::OutsideServiceArea { .. } => ErrorKind::OutsideServiceArea,
            ReservationsError::CarMoving { .. } => ErrorKind::CarMoving,
            ReservationsError::LockFailed(_) => ErrorKind::LockFailed,
            ReservationsError::Access(denied) => denied.kind(),
            ReservationsError::Command(error) => error.kind(),
            ReservationsError::OutstandingBalance { .. } => ErrorKind::OutstandingBalance,
            ReservationsError::BatteryLow(_) => ErrorKind::BatteryLow,
            ReservationsError::Upstream { .. } | ReservationsError::PaymentUnavailable => {
                ErrorKind::Unavailable
            }
            ReservationsError::Ask(error) => error.kind(),
            ReservationsError::Storage(error) => error.kind(),
        }
    }
}
