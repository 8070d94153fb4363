//! The one vocabulary of refusals and failures that every service's error speaks.
//!
//! Each service keeps its own `thiserror` enum (with the data and the `source()` chain that
//! belong to it) and says which [`ErrorKind`] each variant is. Callers that only need to know
//! *what kind* of answer they got (the gateway choosing a status and a problem type, the
//! simulator counting outcomes, the benches) match on the kind, which is exhaustive: a new kind
//! is a compile error in every table until it is placed there, instead of falling into an
//! "internal" catch-all.
//!
//! The kind knows nothing of HTTP. Its [`ErrorKind::code`] is a stable, kebab-case name that
//! clients see as the last part of the problem type (`urn:ev-rental:problem:<code>`).

/// What kind of refusal or failure an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    // ---- the request itself ------------------------------------------------------------------
    /// The request cannot be understood as a whole (malformed, too many items).
    BadRequest,
    /// Fields failed validation; the error lists each one.
    Invalid,
    /// The body is larger than the server accepts.
    TooLarge,
    /// The body is not in a format the server reads.
    UnsupportedMediaType,
    /// The resource does not support the method asked for.
    MethodNotAllowed,
    /// The caller sent too many requests; it may retry later.
    RateLimited,
    /// An idempotency key was reused with a different request.
    IdempotencyMismatch,

    // ---- who is asking -----------------------------------------------------------------------
    /// No credentials, or credentials that are not accepted (wrong password, a refresh token
    /// that is unknown, expired or replayed: deliberately one kind, so answers do not tell an
    /// attacker which).
    Unauthenticated,
    /// The caller is known but its role may not do this.
    Forbidden,
    /// The password was right, but the account has two-factor authentication on and no
    /// one-time code (or recovery code) came with it.
    TotpRequired,
    /// The administrator must set up two-factor authentication before anything else.
    TotpSetupRequired,

    // ---- the things asked about --------------------------------------------------------------
    /// No such resource, or not the caller's.
    NotFound,
    /// A unique field (CPF, e-mail, plate) belongs to another record.
    AlreadyRegistered,
    /// The customer has a reservation that is not finished (erasure refused).
    OpenReservation,
    /// The car has reservations that are not finished (retirement refused).
    OpenReservations,
    /// The customer has no card on file.
    NoCard,
    /// The customer owes money from an earlier rental.
    OutstandingBalance,
    /// The car is retired: its record is history.
    Retired,
    /// A point outside the area where cars may be picked up and left.
    OutsideServiceArea,
    /// The action does not fit the state the thing is in (cancel after start, …).
    InvalidState,

    // ---- booking -----------------------------------------------------------------------------
    /// The car cannot be booked (maintenance, retired).
    VehicleUnavailable,
    /// The customer cannot book (erased, no card).
    CannotBook,
    /// The customer has not confirmed their e-mail address yet: no booking until they do.
    EmailUnconfirmed,
    /// The car is reserved for part of the interval.
    VehicleBusy,
    /// The customer has a reservation overlapping the interval.
    CustomerBusy,
    /// The car's charge is below the fleet's minimum, or its range would not last the booking.
    BatteryLow,

    // ---- the car -----------------------------------------------------------------------------
    /// The caller holds no reservation of the car open at this instant.
    NoAccess,
    /// The caller's window is open but the previous rental is still under way.
    CarNotReturned,
    /// The car is moving.
    Moving,
    /// Another command to the car is still waiting for its unit.
    CommandInProgress,
    /// The car's unit did not answer before the command expired.
    CarTimeout,
    /// The car's unit answered that it could not do it.
    CarFailed,
    /// A rental cannot end while the car is moving (its latest fix is recent and fast).
    CarMoving,
    /// A rental's end needs the doors locked and the unit refused or did not acknowledge;
    /// the rental stays under way so the renter can try again.
    LockFailed,

    // ---- money -------------------------------------------------------------------------------
    /// The card was refused (declined, insufficient funds, unknown to the processor).
    PaymentDeclined,
    /// The payment provider failed or could not be reached; retrying is safe.
    PaymentProvider,

    // ---- the system itself -------------------------------------------------------------------
    /// A service did not answer in time.
    Timeout,
    /// A service is stopped, overloaded or down; retry later.
    Unavailable,
    /// In cluster mode, this node is a follower: the leader (named in the answer) serves the
    /// API, and this node takes over if the leader fails.
    NotLeader,
    /// A fault of ours (a store failed, an invariant broke); logged, never detailed to clients.
    /// Stays the last variant: [`ErrorKind::ALL`]'s test relies on it.
    Internal,
}

impl ErrorKind {
    /// Every kind, in declaration order (for documents and tables that list them all).
    pub const ALL: [ErrorKind; 40] = [
        ErrorKind::BadRequest,
        ErrorKind::Invalid,
        ErrorKind::TooLarge,
        ErrorKind::UnsupportedMediaType,
        ErrorKind::MethodNotAllowed,
        ErrorKind::RateLimited,
        ErrorKind::IdempotencyMismatch,
        ErrorKind::Unauthenticated,
        ErrorKind::Forbidden,
        ErrorKind::TotpRequired,
        ErrorKind::TotpSetupRequired,
        ErrorKind::NotFound,
        ErrorKind::AlreadyRegistered,
        ErrorKind::OpenReservation,
        ErrorKind::OpenReservations,
        ErrorKind::NoCard,
        ErrorKind::OutstandingBalance,
        ErrorKind::Retired,
        ErrorKind::OutsideServiceArea,
        ErrorKind::InvalidState,
        ErrorKind::VehicleUnavailable,
        ErrorKind::CannotBook,
        ErrorKind::EmailUnconfirmed,
        ErrorKind::VehicleBusy,
        ErrorKind::CustomerBusy,
        ErrorKind::BatteryLow,
        ErrorKind::NoAccess,
        ErrorKind::CarNotReturned,
        ErrorKind::Moving,
        ErrorKind::CommandInProgress,
        ErrorKind::CarTimeout,
        ErrorKind::CarFailed,
        ErrorKind::CarMoving,
        ErrorKind::LockFailed,
        ErrorKind::PaymentDeclined,
        ErrorKind::PaymentProvider,
        ErrorKind::Timeout,
        ErrorKind::Unavailable,
        ErrorKind::NotLeader,
        ErrorKind::Internal,
    ];

    /// The stable name clients and reports see. Part of the API contract: never rename one.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad-request",
            ErrorKind::Invalid => "validation",
            ErrorKind::TooLarge => "too-large",
            ErrorKind::UnsupportedMediaType => "unsupported-media-type",
            ErrorKind::MethodNotAllowed => "method-not-allowed",
            ErrorKind::RateLimited => "rate-limited",
            ErrorKind::IdempotencyMismatch => "idempotency-mismatch",
            ErrorKind::Unauthenticated => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::TotpRequired => "totp-required",
            ErrorKind::TotpSetupRequired => "totp-setup-required",
            ErrorKind::NotFound => "not-found",
            ErrorKind::AlreadyRegistered => "already-registered",
            ErrorKind::OpenReservation => "open-reservation",
            ErrorKind::OpenReservations => "open-reservations",
            ErrorKind::NoCard => "no-card",
            ErrorKind::OutstandingBalance => "outstanding-balance",
            ErrorKind::Retired => "retired",
            ErrorKind::OutsideServiceArea => "outside-service-area",
            ErrorKind::InvalidState => "invalid-state",
            ErrorKind::VehicleUnavailable => "vehicle-unavailable",
            ErrorKind::CannotBook => "cannot-book",
            ErrorKind::EmailUnconfirmed => "email-unconfirmed",
            ErrorKind::VehicleBusy => "vehicle-busy",
            ErrorKind::CustomerBusy => "customer-busy",
            ErrorKind::BatteryLow => "battery-low",
            ErrorKind::NoAccess => "no-access",
            ErrorKind::CarNotReturned => "car-not-returned",
            ErrorKind::Moving => "moving",
            ErrorKind::CommandInProgress => "command-in-progress",
            ErrorKind::CarTimeout => "car-timeout",
            ErrorKind::CarFailed => "car-failed",
            ErrorKind::CarMoving => "car-moving",
            ErrorKind::LockFailed => "lock-failed",
            ErrorKind::PaymentDeclined => "payment-declined",
            ErrorKind::PaymentProvider => "payment-provider",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::NotLeader => "not-leader",
            ErrorKind::Internal => "internal",
        }
    }

    /// The kind whose [`ErrorKind::code`] is `code`, if any (for reading a problem type back).
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// An error that can say which [`ErrorKind`] it is. Implemented by every service's error.
pub trait Kinded: std::error::Error {
    /// The kind of this error.
    fn kind(&self) -> ErrorKind;
}

impl Kinded for crate::ask::AskError {
    fn kind(&self) -> ErrorKind {
        match self {
            crate::ask::AskError::NotFound { .. } => ErrorKind::NotFound,
            crate::ask::AskError::Timeout { .. } => ErrorKind::Timeout,
            crate::ask::AskError::Unavailable { .. } => ErrorKind::Unavailable,
        }
    }
}

/// A store failing is our fault, never the caller's (conflicts on unique indexes are turned
/// into the owning service's own `AlreadyRegistered` before they get here). In cluster mode a
/// commit the replicated log could not take (unreachable, or this node deposed) is not a fault
/// of the request either: it is retried later, or at the new leader.
impl Kinded for storage::StorageError {
    fn kind(&self) -> ErrorKind {
        if self.is_replication() {
            ErrorKind::Unavailable
        } else {
            ErrorKind::Internal
        }
    }
}

/// `error: cause: cause…`: an error with its whole `source()` chain, for a log line (a
/// `Display` shows only the outermost message).
pub fn with_causes(error: &(dyn std::error::Error + '_)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_kind_once_and_codes_are_unique() {
        let mut codes: Vec<_> = ErrorKind::ALL.iter().map(|kind| kind.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
        let mut kinds = ErrorKind::ALL.to_vec();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), ErrorKind::ALL.len());
    }

    #[test]
    fn all_is_complete_and_in_declaration_order() {
        assert_eq!(ErrorKind::ALL.len(), ErrorKind::Internal as usize + 1);
        for (index, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, index, "{kind:?}");
        }
    }

    #[test]
    fn codes_read_back_to_their_kind() {
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(ErrorKind::from_code("no-such-kind"), None);
    }

    #[test]
    fn causes_follow_the_source_chain() {
        let error = crate::reservations::ReservationsError::upstream(
            "billing",
            crate::ask::AskError::Unavailable {
                actor: "charge 7".into(),
            },
        );
        assert_eq!(
            with_causes(&error),
            "the billing service failed: charge 7 is unavailable"
        );
    }

    #[test]
    fn codes_are_kebab_case() {
        for kind in ErrorKind::ALL {
            let code = kind.code();
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{code}"
            );
        }
    }
}
