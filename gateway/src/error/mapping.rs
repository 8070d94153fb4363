//! Each service error becomes an answer of its kind ([`super::catalog`] decides status and
//! type); what is added here is only what a client can act on: the invalid fields, the amount
//! owed, the rejected booking's id.

use std::collections::BTreeMap;

use actors::audit::AuditError;
use actors::billing::BillingError;
use actors::commands::CommandError;
use actors::customers::CustomersError;
use actors::location::LocationError;
use actors::reports::ReportsError;
use actors::reservations::{ErasureError, ReservationsError};
use actors::vehicles::{BatteryRefusal, VehiclesError};
use actors::{AskError, StorageError};

use super::ApiError;
use crate::osmand::OsmAndError;

/// Errors whose answer is their kind and message, nothing more.
macro_rules! plain {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for ApiError {
            fn from(error: $error) -> Self {
                ApiError::from_service(&error)
            }
        }
    )*};
}

plain!(
    AskError,
    StorageError,
    AuditError,
    CommandError,
    BillingError
);

impl From<ErasureError> for ApiError {
    fn from(error: ErasureError) -> Self {
        match error {
            ErasureError::Customers(error) => error.into(),
            other => ApiError::from_service(&other),
        }
    }
}

impl From<CustomersError> for ApiError {
    fn from(error: CustomersError) -> Self {
        let answer = ApiError::from_service(&error);
        match &error {
            CustomersError::Invalid(fields) => ApiError::invalid(fields),
            CustomersError::Conflict { field } => answer.with_errors(already_registered(field)),
            // One answer for both, so that a replay is not told it was detected.
            CustomersError::InvalidRefreshToken | CustomersError::RefreshTokenReused => {
                answer.with_detail("the refresh token is not valid; log in again")
            }
            CustomersError::OutstandingBalance { outstanding_cents } => {
                answer.with_extra(serde_json::json!({ "outstanding_cents": outstanding_cents }))
            }
            CustomersError::ConfirmationRateLimited { retry_after_s } => {
                answer.with_retry_after((*retry_after_s).max(1))
            }
            _ => answer,
        }
    }
}

impl From<VehiclesError> for ApiError {
    fn from(error: VehiclesError) -> Self {
        let answer = ApiError::from_service(&error);
        match &error {
            VehiclesError::Invalid(fields) => ApiError::invalid(fields),
            VehiclesError::Conflict { field } => answer.with_errors(already_registered(field)),
            _ => answer,
        }
    }
}

impl From<LocationError> for ApiError {
    fn from(error: LocationError) -> Self {
        let answer = ApiError::from_service(&error);
        match &error {
            LocationError::Invalid(fields) => ApiError::invalid(fields),
            _ => answer,
        }
    }
}

impl From<ReservationsError> for ApiError {
    fn from(error: ReservationsError) -> Self {
        let answer = ApiError::from_service(&error);
        match &error {
            ReservationsError::Invalid(fields) => ApiError::invalid(fields),
            ReservationsError::PaymentDeclined { reservation_id, .. } => {
                answer.with_extra(serde_json::json!({ "reservation_id": reservation_id }))
            }
            ReservationsError::OutstandingBalance { outstanding_cents } => answer
                .with_detail(format!(
                    "{outstanding_cents} centavos from an earlier rental are unpaid; pay them \
                     (POST /v1/customers/me/balance/pay) before booking"
                ))
                .with_extra(serde_json::json!({ "outstanding_cents": outstanding_cents })),
            ReservationsError::OutsideServiceArea { distance_m } => answer
                .with_status(axum::http::StatusCode::CONFLICT)
                .with_extra(serde_json::json!({ "distance_m": distance_m })),
            ReservationsError::CarMoving { speed_kmh } => {
                answer.with_extra(serde_json::json!({ "speed_kmh": speed_kmh }))
            }
            ReservationsError::BatteryLow(refusal) => answer.with_extra(battery_figures(refusal)),
            _ => answer,
        }
    }
}

impl From<ReportsError> for ApiError {
    fn from(error: ReportsError) -> Self {
        match &error {
            ReportsError::Invalid(fields) => ApiError::invalid(fields),
            _ => ApiError::from_service(&error),
        }
    }
}

impl From<OsmAndError> for ApiError {
    fn from(error: OsmAndError) -> Self {
        match error {
            OsmAndError::Vehicles(error) => error.into(),
            OsmAndError::Location(error) => error.into(),
            OsmAndError::RateLimited { retry_after_s } => {
                ApiError::too_many_requests(retry_after_s)
            }
            other => ApiError::from_service(&other),
        }
    }
}

/// The figures of a `battery-low` refusal, so that an app can say how much shorter to book.
fn battery_figures(refusal: &BatteryRefusal) -> serde_json::Value {
    match *refusal {
        BatteryRefusal::BelowMinimum {
            battery_pct,
            min_battery_pct,
        } => serde_json::json!({ "battery_pct": battery_pct, "min_battery_pct": min_battery_pct }),
        BatteryRefusal::NotEnoughRange {
            needed_km,
            available_km,
        } => serde_json::json!({ "needed_km": needed_km, "available_km": available_km }),
    }
}

fn already_registered(field: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(field.to_owned(), "already registered".to_owned())])
}
