//! The one table from each service's errors to HTTP statuses.

use super::*;

impl From<AskError> for ApiError {
    fn from(error: AskError) -> Self {
        match error {
            AskError::NotFound { kind, .. } => ApiError::not_found(format!("no such {kind}")),
            AskError::Timeout { .. } => {
                tracing::warn!(%error, "ask timed out");
                ApiError::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "timeout",
                    "Timed out",
                    "the service did not answer in time",
                )
            }
            AskError::Unavailable { .. } => {
                tracing::warn!(%error, "actor unavailable");
                ApiError::unavailable("the service is not available right now", 5)
            }
        }
    }
}

impl From<actors::audit::AuditError> for ApiError {
    fn from(error: actors::audit::AuditError) -> Self {
        ApiError::internal(&error)
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        ApiError::internal(&error)
    }
}

impl From<CustomersError> for ApiError {
    fn from(error: CustomersError) -> Self {
        match error {
            CustomersError::Invalid(fields) => ApiError::invalid(&fields),
            CustomersError::Conflict { field } => ApiError::conflict(
                "already-registered",
                format!("the {field} is already registered"),
            )
            .with_errors(BTreeMap::from([(
                field.to_owned(),
                "already registered".to_owned(),
            )])),
            CustomersError::NotFound | CustomersError::Erased => {
                ApiError::not_found("no such customer")
            }
            CustomersError::BadCredentials => ApiError::unauthorized("wrong e-mail or password"),
            CustomersError::InvalidRefreshToken | CustomersError::RefreshTokenReused => {
                ApiError::unauthorized("the refresh token is not valid; log in again")
            }
            CustomersError::OpenReservation => ApiError::conflict(
                "open-reservation",
                "finish or cancel your open reservations first",
            ),
            CustomersError::NoCard => ApiError::conflict("no-card", "add a card first"),
            CustomersError::OutstandingBalance { outstanding_cents } => ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "outstanding-balance",
                "Outstanding balance",
                format!(
                    "the card refused {outstanding_cents} centavos; update the card and try again"
                ),
            )
            .with_extra(serde_json::json!({ "outstanding_cents": outstanding_cents })),
            CustomersError::Billing(error) => error.into(),
            CustomersError::Ask(error) => error.into(),
            CustomersError::Storage(error) => error.into(),
            other => ApiError::internal(&other),
        }
    }
}

impl From<VehiclesError> for ApiError {
    fn from(error: VehiclesError) -> Self {
        match error {
            VehiclesError::Invalid(fields) => ApiError::invalid(&fields),
            VehiclesError::NotFound => ApiError::not_found("no such vehicle"),
            VehiclesError::Conflict { field } => ApiError::conflict(
                "already-registered",
                format!("the {field} is already registered"),
            )
            .with_errors(BTreeMap::from([(
                field.to_owned(),
                "already registered".to_owned(),
            )])),
            VehiclesError::Retired => ApiError::conflict("retired", "the vehicle is retired"),
            VehiclesError::OpenReservations => {
                ApiError::conflict("open-reservations", "the vehicle has open reservations")
            }
            VehiclesError::OutsideServiceArea => outside_service_area(),
            VehiclesError::Location(error) => error.into(),
            VehiclesError::Ask(error) => error.into(),
            VehiclesError::Storage(error) => error.into(),
        }
    }
}

fn outside_service_area() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "outside-service-area",
        "Outside the service area",
        "ev-rental operates in Florianópolis (the island and the continental districts)",
    )
}

impl From<LocationError> for ApiError {
    fn from(error: LocationError) -> Self {
        match error {
            LocationError::Invalid(fields) => ApiError::invalid(&fields),
            LocationError::BatchTooLarge { size, max } => ApiError::bad_request(format!(
                "a batch holds at most {max} fixes; this one has {size}"
            )),
            LocationError::OutsideServiceArea => outside_service_area(),
            LocationError::Ask(error) => error.into(),
            LocationError::Storage(error) => error.into(),
        }
    }
}

impl From<BillingError> for ApiError {
    fn from(error: BillingError) -> Self {
        match error {
            BillingError::Declined { reason } => payment_required(reason),
            BillingError::InsufficientFunds => payment_required("insufficient funds".into()),
            BillingError::NotFound => ApiError::not_found("no charge for this reservation"),
            BillingError::Ask(error) => error.into(),
            BillingError::Storage(error) => error.into(),
            BillingError::Provider(_) => {
                tracing::warn!(%error, "payment provider failed");
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "payment-provider",
                    "Payment provider error",
                    "the payment provider failed; try again",
                )
            }
            other => ApiError::internal(&other),
        }
    }
}

fn payment_required(reason: String) -> ApiError {
    ApiError::new(
        StatusCode::PAYMENT_REQUIRED,
        "payment-declined",
        "Payment declined",
        format!("the card hold was declined: {reason}"),
    )
}

impl From<ReservationsError> for ApiError {
    fn from(error: ReservationsError) -> Self {
        match error {
            ReservationsError::Invalid(fields) => ApiError::invalid(&fields),
            ReservationsError::IdempotencyMismatch => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-mismatch",
                "Idempotency key reused",
                "this Idempotency-Key was used with a different request",
            ),
            ReservationsError::NotFound => ApiError::not_found("no such reservation"),
            ReservationsError::VehicleUnavailable => ApiError::conflict(
                "vehicle-unavailable",
                "the vehicle is not available for rental",
            ),
            ReservationsError::CustomerCannotBook(reason) => {
                ApiError::conflict("cannot-book", reason)
            }
            ReservationsError::VehicleBusy => ApiError::conflict(
                "vehicle-busy",
                "the vehicle is already reserved for part of that time",
            ),
            ReservationsError::CustomerBusy => ApiError::conflict(
                "customer-busy",
                "you already have a reservation overlapping that time",
            ),
            ReservationsError::PaymentDeclined {
                reservation_id,
                reason,
            } => payment_required(reason)
                .with_extra(serde_json::json!({ "reservation_id": reservation_id })),
            ReservationsError::InvalidState { .. } => {
                ApiError::conflict("invalid-state", error.to_string())
            }
            ReservationsError::Access(AccessDenied::CarNotReturned) => ApiError::conflict(
                "car-not-returned",
                "the car is not back yet: the previous renter's rental is still under way; \
                 try again later or book another car",
            ),
            ReservationsError::Access(denied) => {
                ApiError::conflict("no-access", denied.to_string())
            }
            ReservationsError::OutstandingBalance { outstanding_cents } => ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "outstanding-balance",
                "Outstanding balance",
                format!(
                    "{outstanding_cents} centavos from an earlier rental are unpaid; pay them \
                     (POST /v1/customers/me/balance/pay) before booking"
                ),
            )
            .with_extra(serde_json::json!({ "outstanding_cents": outstanding_cents })),
            ReservationsError::Command(error) => error.into(),
            ReservationsError::Upstream { .. } => {
                tracing::warn!(%error, "upstream service failed");
                ApiError::unavailable("a service needed for this is not available; try again", 5)
            }
            ReservationsError::Ask(error) => error.into(),
            ReservationsError::Storage(error) => error.into(),
        }
    }
}

impl From<CommandError> for ApiError {
    fn from(error: CommandError) -> Self {
        match error {
            CommandError::Moving => ApiError::conflict("moving", "the car is moving"),
            CommandError::CommandInProgress | CommandError::StaleFence { .. } => {
                ApiError::conflict(
                    "command-in-progress",
                    "another command to this car is in progress",
                )
            }
            CommandError::UnitTimeout => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "car-timeout",
                "The car did not answer",
                "the car did not confirm in time; try again",
            ),
            CommandError::UnitFailed(reason) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "car-failed",
                "The car could not do it",
                reason,
            ),
            CommandError::UnknownCommand(_) => ApiError::not_found("no such command"),
            CommandError::Location(_) => {
                tracing::warn!(%error, "upstream service failed");
                ApiError::unavailable("a service needed for this is not available; try again", 5)
            }
            CommandError::Ask(error) => error.into(),
            CommandError::Storage(error) => error.into(),
        }
    }
}
