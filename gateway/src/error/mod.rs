//! Every error the API answers, as `application/problem+json` (RFC 9457).
//!
//! Handlers return `Result<_, ApiError>` and use `?` on service calls: the `From` impls in
//! [`mapping`] are the only place where a domain refusal becomes a status code. Internal failures are
//! logged with the request id and answered with a generic message: no store paths, actor names
//! or stack traces leave the server.

mod mapping;

use std::collections::BTreeMap;

use actors::AskError;
use actors::StorageError;
use actors::billing::BillingError;
use actors::commands::CommandError;
use actors::customers::CustomersError;
use actors::domain::InvalidField;
use actors::location::LocationError;
use actors::reservations::{AccessDenied, ReservationsError};
use actors::vehicles::VehiclesError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer. Boxed: it travels in every handler's `Result`, and a small `Err` keeps
/// the happy path's return value small.
#[derive(Debug, Clone)]
pub struct ApiError(Box<Parts>);

#[derive(Debug, Clone)]
struct Parts {
    status: StatusCode,
    kind: &'static str,
    title: &'static str,
    detail: String,
    errors: Option<BTreeMap<String, String>>,
    retry_after_s: Option<u64>,
    extra: Option<serde_json::Value>,
}

/// The body of an error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened in this case.
    pub detail: String,
    /// Field-by-field reasons, for validation problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, String>>,
    /// Data the client can act on (e.g. the rejected fixes of a batch).
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    #[schema(value_type = Object)]
    pub extra: Option<serde_json::Value>,
}

impl ApiError {
    /// An error of `status`, kind and title, with a detail for this occurrence.
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError(Box::new(Parts {
            status,
            kind,
            title,
            detail: detail.into(),
            errors: None,
            retry_after_s: None,
            extra: None,
        }))
    }

    /// 400: the request cannot be understood.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    /// 401: no valid credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            detail,
        )
    }

    /// 403: authenticated, but this role may not do this.
    pub fn forbidden() -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            "this account may not use this resource",
        )
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// 409.
    pub fn conflict(kind: &'static str, detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, kind, "Conflict", detail)
    }

    /// 422 with one reason per field.
    pub fn invalid(fields: &[InvalidField]) -> Self {
        let errors = fields
            .iter()
            .map(|field| (field.field.to_owned(), field.reason.clone()))
            .collect();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid input",
            "some fields are invalid",
        )
        .with_errors(errors)
    }

    /// 429 with the seconds to wait.
    pub fn too_many_requests(retry_after_s: u64) -> Self {
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            "slow down and retry later",
        );
        error.0.retry_after_s = Some(retry_after_s.max(1));
        error
    }

    /// 503 with the seconds to wait.
    pub fn unavailable(detail: impl Into<String>, retry_after_s: u64) -> Self {
        let mut error = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        );
        error.0.retry_after_s = Some(retry_after_s);
        error
    }

    /// 500: logged in full, answered without internals.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "something went wrong on our side; it has been logged",
        )
    }

    /// Adds data for the client to the body.
    pub fn with_extra(mut self, extra: serde_json::Value) -> Self {
        self.0.extra = Some(extra);
        self
    }

    /// Adds field errors to the body.
    pub fn with_errors(mut self, errors: BTreeMap<String, String>) -> Self {
        self.0.errors = Some(errors);
        self
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let parts = *self.0;
        let body = Problem {
            kind: format!("urn:ev-rental:problem:{}", parts.kind),
            title: parts.title.to_owned(),
            status: parts.status.as_u16(),
            detail: parts.detail,
            errors: parts.errors,
            extra: parts.extra,
        };
        let mut response = (parts.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = parts.retry_after_s {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if parts.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

// ---- axum's own rejections -------------------------------------------------------------------

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as application/json",
            ),
            JsonRejection::BytesRejection(rejection)
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too-large",
                    "Payload too large",
                    "the body is larger than allowed",
                )
            }
            JsonRejection::JsonSyntaxError(error) => {
                ApiError::bad_request(format!("malformed JSON: {}", error.body_text()))
            }
            JsonRejection::JsonDataError(error) => ApiError::bad_request(error.body_text()),
            other => ApiError::bad_request(other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request(format!("invalid path parameter: {}", rejection.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(format!("invalid query: {}", rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(error: ApiError) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let response = error.into_response();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 16).await.unwrap();
        (
            parts.status,
            parts.headers,
            serde_json::from_slice(&bytes).unwrap(),
        )
    }

    #[tokio::test]
    async fn problems_carry_type_title_status_detail_and_field_errors() {
        let (status, headers, json) = body(ApiError::invalid(&[InvalidField {
            field: "cpf",
            reason: "CPF check digits do not match".into(),
        }]))
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(json["type"], "urn:ev-rental:problem:validation");
        assert_eq!(json["status"], 422);
        assert_eq!(json["errors"]["cpf"], "CPF check digits do not match");
    }

    #[tokio::test]
    async fn actor_failures_map_to_503_and_504_and_internals_stay_inside() {
        let (status, headers, _) = body(
            AskError::Unavailable {
                actor: "vehicle 1".into(),
            }
            .into(),
        )
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(headers.contains_key(header::RETRY_AFTER));
        let timeout = AskError::Timeout {
            actor: "vehicle 1".into(),
            timeout: std::time::Duration::from_secs(5),
        };
        assert_eq!(body(timeout.into()).await.0, StatusCode::GATEWAY_TIMEOUT);
        let (status, _, json) = body(
            StorageError::Closed {
                store: "/var/secret/path".into(),
            }
            .into(),
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!json.to_string().contains("secret"), "{json}");
    }

    #[tokio::test]
    async fn domain_refusals_get_their_status() {
        let cases: Vec<(ApiError, StatusCode)> = vec![
            (ReservationsError::VehicleBusy.into(), StatusCode::CONFLICT),
            (
                ReservationsError::PaymentDeclined {
                    reservation_id: actors::ids::ReservationId::new(),
                    reason: "card declined".into(),
                }
                .into(),
                StatusCode::PAYMENT_REQUIRED,
            ),
            (
                CommandError::UnitTimeout.into(),
                StatusCode::GATEWAY_TIMEOUT,
            ),
            (
                CustomersError::BadCredentials.into(),
                StatusCode::UNAUTHORIZED,
            ),
            (
                CustomersError::Conflict { field: "cpf" }.into(),
                StatusCode::CONFLICT,
            ),
            (VehiclesError::NotFound.into(), StatusCode::NOT_FOUND),
        ];
        for (error, expected) in cases {
            assert_eq!(error.status(), expected, "{error:?}");
        }
    }
}
