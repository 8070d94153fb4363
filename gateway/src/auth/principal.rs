//! Extractors for authenticated callers.

use actors::customers::{Principal, Role};
use actors::ids::CustomerId;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::state::AppState;

/// The bearer token of a request, if it has one.
pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|token| !token.is_empty())
}

/// The bearer token of a request, or 401 saying how to send one.
fn required_bearer(parts: &Parts) -> Result<&str, ApiError> {
    bearer(parts).ok_or_else(|| {
        ApiError::unauthorized("send an access token: Authorization: Bearer <token>")
    })
}

/// Any authenticated customer or admin.
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = required_bearer(parts)?;
        state.auth.verify(token).map(Caller)
    }
}

/// The login session a customer's access token was issued in (none for tokens issued
/// outside a session).
#[derive(Debug, Clone, Copy)]
pub struct CustomerSession {
    /// The customer.
    pub customer: CustomerId,
    /// The session (refresh family).
    pub session: Option<uuid::Uuid>,
}

impl FromRequestParts<AppState> for CustomerSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = required_bearer(parts)?;
        let (principal, session) = state.auth.verify_session(token)?;
        match principal.role {
            Role::Customer => Ok(CustomerSession {
                customer: CustomerId(principal.subject),
                session,
            }),
            Role::Admin => Err(ApiError::forbidden()),
        }
    }
}

/// An authenticated customer; an admin token is 403.
#[derive(Debug, Clone, Copy)]
pub struct Customer(pub CustomerId);

impl FromRequestParts<AppState> for Customer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        match principal.role {
            Role::Customer => Ok(Customer(CustomerId(principal.subject))),
            Role::Admin => Err(ApiError::forbidden()),
        }
    }
}

/// An admin setting up two-factor authentication: a normal admin token or a setup-only one
/// (see [`crate::auth::AuthKeys::issue_setup`]); a customer token is 403.
#[derive(Debug, Clone, Copy)]
pub struct AdminSettingUp(pub Principal);

impl FromRequestParts<AppState> for AdminSettingUp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = required_bearer(parts)?;
        let principal = state.auth.verify_for_setup(token)?;
        match principal.role {
            Role::Admin => Ok(AdminSettingUp(principal)),
            Role::Customer => Err(ApiError::forbidden()),
        }
    }
}

/// An authenticated admin; a customer token is 403.
#[derive(Debug, Clone, Copy)]
pub struct Admin(pub Principal);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        match principal.role {
            Role::Admin => Ok(Admin(principal)),
            Role::Customer => Err(ApiError::forbidden()),
        }
    }
}
