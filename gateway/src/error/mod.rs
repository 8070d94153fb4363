//! Every error the API answers, as `application/problem+json` (RFC 9457).
//!
//! Handlers return `Result<_, ApiError>` and use `?` on service calls. Every error carries an
//! [`ErrorKind`] (the services' own vocabulary); [`catalog`] is the only place where a kind
//! becomes a status, a title and a problem type, and [`mapping`] only adds what a client can
//! act on (field errors, amounts, ids). Faults are logged with their whole `source()` chain and
//! the request id, and answered with a generic message: no store paths, actor names or stack
//! traces leave the server.

pub mod catalog;
mod mapping;

use std::collections::BTreeMap;

use actors::domain::InvalidField;
use actors::{ErrorKind, Kinded};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub use catalog::{PROBLEM_TYPE_PREFIX, ProblemType, problem_type, problem_type_uri};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// How long a client is told to wait after a 503 that did not say otherwise.
const UNAVAILABLE_RETRY_AFTER_S: u64 = 5;

/// An error answer. Boxed: it travels in every handler's `Result`, and a small `Err` keeps
/// the happy path's return value small.
#[derive(Debug, Clone)]
pub struct ApiError(Box<Parts>);

#[derive(Debug, Clone)]
struct Parts {
    kind: ErrorKind,
    detail: String,
    errors: Option<BTreeMap<String, String>>,
    retry_after_s: Option<u64>,
    extra: Option<serde_json::Value>,
    /// A status other than the catalog's, for the one kind the contract answers two ways
    /// (see [`ApiError::with_status`]).
    status: Option<StatusCode>,
}

/// The body of an error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:ev-rental:problem:` and the kind's code. The
    /// codes and their meanings are listed in the document's `x-problem-types`.
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
    /// An error of `kind` with a detail for this occurrence.
    pub fn of(kind: ErrorKind, detail: impl Into<String>) -> Self {
        let retry_after_s = (kind == ErrorKind::Unavailable).then_some(UNAVAILABLE_RETRY_AFTER_S);
        ApiError(Box::new(Parts {
            kind,
            detail: detail.into(),
            errors: None,
            retry_after_s,
            extra: None,
            status: None,
        }))
    }

    /// The answer to a service's error: its kind, and its message as the detail unless the
    /// kind is a fault (then the fault is logged with its causes and the detail stays
    /// generic).
    pub fn from_service(error: &impl Kinded) -> Self {
        let kind = error.kind();
        if catalog::detail_is_public(kind) {
            return ApiError::of(kind, error.to_string());
        }
        let causes = actors::error_kind::with_causes(error);
        if kind == ErrorKind::Internal {
            tracing::error!(error = %causes, "internal error");
        } else {
            tracing::warn!(error = %causes, %kind, "a service failed");
        }
        ApiError::of(kind, problem_type(kind).meaning)
    }

    /// 400: the request cannot be understood.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::of(ErrorKind::BadRequest, detail)
    }

    /// 401: no valid credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError::of(ErrorKind::Unauthenticated, detail)
    }

    /// 403: authenticated, but this role may not do this.
    pub fn forbidden() -> Self {
        ApiError::of(
            ErrorKind::Forbidden,
            "this account may not use this resource",
        )
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::of(ErrorKind::NotFound, detail)
    }

    /// 422 with one reason per field.
    pub fn invalid(fields: &[InvalidField]) -> Self {
        ApiError::of(ErrorKind::Invalid, "some fields are invalid").with_fields(fields)
    }

    /// 429 with the seconds to wait.
    pub fn too_many_requests(retry_after_s: u64) -> Self {
        ApiError::of(ErrorKind::RateLimited, "slow down and retry later")
            .with_retry_after(retry_after_s.max(1))
    }

    /// 503 with the seconds to wait.
    pub fn unavailable(detail: impl Into<String>, retry_after_s: u64) -> Self {
        ApiError::of(ErrorKind::Unavailable, detail).with_retry_after(retry_after_s)
    }

    /// 500: logged in full, answered without internals.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::of(
            ErrorKind::Internal,
            problem_type(ErrorKind::Internal).meaning,
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

    /// Adds one reason per invalid field.
    pub fn with_fields(self, fields: &[InvalidField]) -> Self {
        let errors = fields
            .iter()
            .map(|field| (field.field.to_owned(), field.reason.clone()))
            .collect();
        self.with_errors(errors)
    }

    /// Replaces the detail (when the error's own message says more than a client should
    /// know).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.0.detail = detail.into();
        self
    }

    /// Sets `Retry-After`.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.0.retry_after_s = Some(seconds);
        self
    }

    /// Answers with `status` instead of the catalog's. Only for a kind whose meaning (in the
    /// catalog, and so in `x-problem-types`) names both statuses: `outside-service-area` is a
    /// 422 for a point a client asked about and a 409 for a car that is where it is.
    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.0.status = Some(status);
        self
    }

    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.0
            .status
            .unwrap_or_else(|| problem_type(self.0.kind).status)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let parts = *self.0;
        let described = problem_type(parts.kind);
        let body = Problem {
            kind: problem_type_uri(parts.kind),
            title: described.title.to_owned(),
            status: status.as_u16(),
            detail: parts.detail,
            errors: parts.errors,
            extra: parts.extra,
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = parts.retry_after_s {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if parts.kind == ErrorKind::Unauthenticated {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl ApiError {
    /// The same answer as one line of `text/plain`: for the listeners of other protocols
    /// (OsmAnd), whose clients read a status and at most a line, never a problem document.
    pub fn into_plain_text(self) -> Response {
        let parts = *self.0;
        let status = problem_type(parts.kind).status;
        let mut response = (status, parts.detail).into_response();
        if let Some(seconds) = parts.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

// ---- axum's own rejections -------------------------------------------------------------------

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::of(
                ErrorKind::UnsupportedMediaType,
                "send the body as application/json",
            ),
            JsonRejection::BytesRejection(rejection)
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::of(ErrorKind::TooLarge, "the body is larger than allowed")
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
    use actors::AskError;
    use actors::StorageError;
    use actors::commands::CommandError;
    use actors::customers::CustomersError;
    use actors::reservations::ReservationsError;
    use actors::vehicles::VehiclesError;

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

    #[tokio::test]
    async fn a_replayed_refresh_token_is_answered_like_an_invalid_one() {
        let (status, _, reused) = body(CustomersError::RefreshTokenReused.into()).await;
        let (_, _, invalid) = body(CustomersError::InvalidRefreshToken.into()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            reused, invalid,
            "the client is not told the replay was detected"
        );
    }

    #[tokio::test]
    async fn what_a_client_acts_on_travels_with_the_problem() {
        let (status, _, owed) = body(
            ReservationsError::OutstandingBalance {
                outstanding_cents: 1_250,
            }
            .into(),
        )
        .await;
        assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(owed["type"], "urn:ev-rental:problem:outstanding-balance");
        assert_eq!(owed["outstanding_cents"], 1_250);
        let (_, _, taken) = body(CustomersError::Conflict { field: "cpf" }.into()).await;
        assert_eq!(taken["type"], "urn:ev-rental:problem:already-registered");
        assert_eq!(taken["errors"]["cpf"], "already registered");
    }

    #[tokio::test]
    async fn faults_keep_their_causes_in_the_log_not_in_the_answer() {
        let error = ReservationsError::Upstream {
            service: "billing",
            source: Box::new(AskError::Unavailable {
                actor: "charge 0190f5c2 at /var/lib/secret".into(),
            }),
        };
        let (status, headers, json) = body(error.into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::RETRY_AFTER], "5");
        assert!(!json.to_string().contains("secret"), "{json}");
    }
}
