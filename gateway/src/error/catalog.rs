//! The one table from an [`ErrorKind`] to how HTTP tells it: status, title and the meaning
//! of the problem type. Exhaustive on purpose: a new kind does not compile until it has its
//! row here, and the OpenAPI document lists the same rows.

use actors::ErrorKind;
use axum::http::StatusCode;

/// How the API answers one kind of error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemType {
    /// The status of every answer of this kind.
    pub status: StatusCode,
    /// The problem's short title.
    pub title: &'static str,
    /// What the problem type means and what a client can do about it.
    pub meaning: &'static str,
}

/// The prefix of every problem type; the kind's code follows it.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:ev-rental:problem:";

/// The problem type's URI for `kind`.
pub fn problem_type_uri(kind: ErrorKind) -> String {
    format!("{PROBLEM_TYPE_PREFIX}{}", kind.code())
}

/// How `kind` is answered.
pub const fn problem_type(kind: ErrorKind) -> ProblemType {
    use ErrorKind as K;
    let (status, title, meaning) = match kind {
        K::BadRequest => (
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The request cannot be understood: malformed JSON, an unknown or missing field, a bad parameter, a batch too large.",
        ),
        K::Invalid => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid input",
            "Fields broke a rule; `errors` maps each field to its reason.",
        ),
        K::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload too large",
            "The body is larger than the server accepts.",
        ),
        K::UnsupportedMediaType => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            "Send the body as application/json.",
        ),
        K::MethodNotAllowed => (
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not allowed",
            "The resource does not support this method.",
        ),
        K::RateLimited => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Slow down; `Retry-After` says when to try again.",
        ),
        K::IdempotencyMismatch => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Idempotency key reused",
            "This Idempotency-Key was used with a different request.",
        ),
        K::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            "Authentication required",
            "No credentials, or credentials that are not accepted (wrong password, expired or revoked token).",
        ),
        K::Forbidden => (
            StatusCode::FORBIDDEN,
            "Forbidden",
            "The account's role may not use this resource.",
        ),
        K::TotpRequired => (
            StatusCode::UNAUTHORIZED,
            "One-time code required",
            "This administrator has two-factor authentication on: send `totp_code` (a code from the authenticator app, or a recovery code) with the password.",
        ),
        K::TotpSetupRequired => (
            StatusCode::FORBIDDEN,
            "Two-factor setup required",
            "Administrators must set up two-factor authentication first: use the `setup_token` of this answer with `POST /v1/auth/totp/setup` and `/confirm`, then log in with a code.",
        ),
        K::NotFound => (
            StatusCode::NOT_FOUND,
            "Not found",
            "No such resource, or not the caller's.",
        ),
        K::AlreadyRegistered => (
            StatusCode::CONFLICT,
            "Already registered",
            "A unique field (CPF, e-mail, plate) belongs to another record; `errors` names it.",
        ),
        K::OpenReservation => (
            StatusCode::CONFLICT,
            "Open reservation",
            "Finish or cancel the customer's open reservations first.",
        ),
        K::OpenReservations => (
            StatusCode::CONFLICT,
            "Open reservations",
            "The car has reservations that are not finished.",
        ),
        K::NoCard => (
            StatusCode::CONFLICT,
            "No card",
            "Add a card to the profile first.",
        ),
        K::OutstandingBalance => (
            StatusCode::PAYMENT_REQUIRED,
            "Outstanding balance",
            "An earlier rental's charge was refused; `outstanding_cents` is owed. Pay it with POST /v1/customers/me/balance/pay.",
        ),
        K::Retired => (
            StatusCode::CONFLICT,
            "Retired",
            "The car is retired; its record cannot change.",
        ),
        K::OutsideServiceArea => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Outside the service area",
            "ev-rental operates in Florianópolis (the island and the continental districts). A search around a point outside answers 422; finishing a rental with the car outside answers 409, with `distance_m` to the nearest edge of the area.",
        ),
        K::InvalidState => (
            StatusCode::CONFLICT,
            "Invalid state",
            "The action does not fit the reservation's state (cancel after start, finish before unlocking, …).",
        ),
        K::VehicleUnavailable => (
            StatusCode::CONFLICT,
            "Vehicle unavailable",
            "The car is not available for rental (maintenance or retired).",
        ),
        K::CannotBook => (
            StatusCode::CONFLICT,
            "Cannot book",
            "The customer cannot book (no card on file, or the account is closed).",
        ),
        K::EmailUnconfirmed => (
            StatusCode::FORBIDDEN,
            "E-mail not confirmed",
            "Confirm the e-mail address with the code sent to it \
             (POST /v1/customers/me/email-confirmation) before booking.",
        ),
        K::VehicleBusy => (
            StatusCode::CONFLICT,
            "Vehicle busy",
            "The car is already reserved for part of that time.",
        ),
        K::CustomerBusy => (
            StatusCode::CONFLICT,
            "Customer busy",
            "The customer already has a reservation overlapping that time.",
        ),
        K::BatteryLow => (
            StatusCode::CONFLICT,
            "Battery too low",
            "The car's last reported charge is below the fleet's minimum (`battery_pct`, `min_battery_pct`), or its estimated range would not last the booking (`needed_km`, `available_km`); choose another car or a shorter time.",
        ),
        K::NoAccess => (
            StatusCode::CONFLICT,
            "No access",
            "The caller holds no reservation of this car open at this instant.",
        ),
        K::CarNotReturned => (
            StatusCode::CONFLICT,
            "Car not returned",
            "The reservation's window is open but the previous rental is still under way; try again later or book another car.",
        ),
        K::Moving => (
            StatusCode::CONFLICT,
            "Car moving",
            "The car is moving; it is not locked under a driver.",
        ),
        K::CommandInProgress => (
            StatusCode::CONFLICT,
            "Command in progress",
            "Another command to this car is waiting for the car; retry when it is answered.",
        ),
        K::CarTimeout => (
            StatusCode::GATEWAY_TIMEOUT,
            "The car did not answer",
            "The car did not confirm before the command expired; try again.",
        ),
        K::CarFailed => (
            StatusCode::BAD_GATEWAY,
            "The car could not do it",
            "The car answered that it could not carry out the command; `detail` says why.",
        ),
        K::CarMoving => (
            StatusCode::CONFLICT,
            "Car moving",
            "A rental cannot end while the car is moving; park it and finish again.",
        ),
        K::LockFailed => (
            StatusCode::CONFLICT,
            "Lock failed",
            "The car's unit refused to lock or did not acknowledge in time; the reservation stays `active`, so finish again (or call support).",
        ),
        K::PaymentDeclined => (
            StatusCode::PAYMENT_REQUIRED,
            "Payment declined",
            "The card was refused; a rejected booking's id is in `reservation_id`.",
        ),
        K::PaymentProvider => (
            StatusCode::BAD_GATEWAY,
            "Payment provider error",
            "The payment provider failed; retrying with the same Idempotency-Key is safe.",
        ),
        K::Timeout => (
            StatusCode::GATEWAY_TIMEOUT,
            "Timed out",
            "A service did not answer in time; retrying with the same Idempotency-Key is safe.",
        ),
        K::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable",
            "The server is busy or a service is down; `Retry-After` says when to try again.",
        ),
        K::NotLeader => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Not the leader",
            "In cluster mode this node is a follower: send the request to `leader_url`, or retry \
             here after `Retry-After` (this node takes over if the leader fails).",
        ),
        K::Internal => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "Something went wrong on the server; it has been logged with the request id.",
        ),
    };
    ProblemType {
        status,
        title,
        meaning,
    }
}

/// Whether answers of `kind` may carry the error's own message as `detail`. The others are
/// faults whose messages name internals (stores, actors, providers): they are logged and
/// answered with the problem type's meaning.
pub const fn detail_is_public(kind: ErrorKind) -> bool {
    !matches!(
        kind,
        ErrorKind::Internal
            | ErrorKind::Unavailable
            | ErrorKind::Timeout
            | ErrorKind::PaymentProvider
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_an_error_status() {
        for kind in ErrorKind::ALL {
            let status = problem_type(kind).status;
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn faults_are_5xx_and_refusals_4xx() {
        for kind in [
            ErrorKind::Internal,
            ErrorKind::Unavailable,
            ErrorKind::Timeout,
        ] {
            assert!(problem_type(kind).status.is_server_error());
            assert!(!detail_is_public(kind));
        }
        assert_eq!(
            problem_type(ErrorKind::CarNotReturned).status,
            StatusCode::CONFLICT
        );
        assert_eq!(
            problem_type_uri(ErrorKind::Invalid),
            "urn:ev-rental:problem:validation"
        );
    }
}
