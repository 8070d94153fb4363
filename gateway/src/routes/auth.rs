//! Tokens: log in with e-mail and password, rotate the refresh token, log out.
//!
//! Log-ins are limited per client address and, counting failures only, per account, in a way
//! that flooding an account with wrong passwords cannot lock its owner out: the policy is
//! written down in [`crate::login_limit`].

use std::fmt;

use actors::customers::{CustomersError, IssuedRefresh, Principal};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::client_addr::ClientAddr;
use crate::error::{ApiError, Problem};
use crate::extract::ApiJson;
use crate::redact::Redacted;
use crate::state::AppState;

/// This resource's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(token))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .merge(super::totp::router())
}

/// Log-in credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "maria@example.com", "password": "s3nha-segura"}))]
pub struct Credentials {
    /// The account's e-mail.
    pub email: String,
    /// Its password.
    pub password: String,
    /// For an administrator with two-factor authentication on: the authenticator app's
    /// current code, or one of the recovery codes.
    #[serde(default)]
    pub totp_code: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .field("password", &Redacted)
            .field("totp_code", &self.totp_code.as_ref().map(|_| Redacted))
            .finish()
    }
}

/// A refresh token to rotate or revoke.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last token answer.
    pub refresh_token: String,
}

impl fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshRequest")
            .field("refresh_token", &Redacted)
            .finish()
    }
}

/// A token pair.
#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    /// Bearer token for the API; short-lived.
    pub access_token: String,
    /// One-use token for `POST /v1/auth/refresh`; using one twice revokes the session.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &Redacted)
            .field("refresh_token", &Redacted)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

async fn pair(
    state: &AppState,
    principal: Principal,
    session: IssuedRefresh,
) -> Result<TokenPair, ApiError> {
    let access = state
        .auth
        .issue(principal, Some(session.family), state.now())?;
    Ok(TokenPair {
        access_token: access.token,
        refresh_token: session.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
    })
}

/// Log in.
#[utoipa::path(
    post, path = "/v1/auth/token", tag = "auth", operation_id = "log_in",
    request_body = Credentials,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Wrong e-mail or password (or one-time code); `totp-required` when an administrator with two-factor authentication sent no code", body = Problem),
        (status = 403, description = "`totp-setup-required`: the administrator must set up two-factor authentication first; the answer's `setup_token` opens `/v1/auth/totp/setup` and `/confirm` only", body = Problem),
    ),
    extensions(("x-rate-limit" = json!("from this address, or from an address that failed to log in to this account too often")))
)]
pub async fn token(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(credentials): ApiJson<Credentials>,
) -> Result<ApiJson<TokenPair>, ApiError> {
    let limits = &state.limits.login;
    let account = credentials.email.trim().to_lowercase();
    let address = client.limit_key();
    if let Err(wait) = limits.admit(&account, &address) {
        return Err(ApiError::too_many_requests(wait.as_secs() + 1));
    }
    let login = state
        .services
        .customers
        .login(
            &credentials.email,
            &credentials.password,
            credentials.totp_code.as_deref(),
        )
        .await;
    let principal = match login {
        Ok(principal) => {
            limits.succeeded(&account, &address);
            principal
        }
        Err(CustomersError::TotpSetupRequired(admin)) => {
            limits.succeeded(&account, &address);
            let setup = state.auth.issue_setup(admin, state.now())?;
            return Err(
                ApiError::from(CustomersError::TotpSetupRequired(admin)).with_extra(
                    serde_json::json!({
                        "setup_token": setup.token,
                        "expires_in": setup.expires_in,
                    }),
                ),
            );
        }
        Err(error) => {
            // Only a wrong password (or code) counts against the account; a fault of ours
            // does not.
            if matches!(error, CustomersError::BadCredentials) {
                limits.failed(&account, &address);
            }
            return Err(error.into());
        }
    };
    let session = state
        .services
        .customers
        .start_session(principal, state.auth.refresh_ttl)
        .await?;
    Ok(ApiJson(pair(&state, principal, session).await?))
}

/// Exchange a refresh token for a new pair.
#[utoipa::path(
    post, path = "/v1/auth/refresh", tag = "auth", operation_id = "refresh_tokens",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair; the presented refresh token stops working", body = TokenPair),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Unknown, expired or reused refresh token (reuse revokes the session)", body = Problem),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<ApiJson<TokenPair>, ApiError> {
    let (principal, next) = state
        .services
        .customers
        .rotate_session(&request.refresh_token, state.auth.refresh_ttl)
        .await?;
    Ok(ApiJson(pair(&state, principal, next).await?))
}

/// End the session of a refresh token.
#[utoipa::path(
    post, path = "/v1/auth/logout", tag = "auth", operation_id = "log_out",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "The session is over (also when it already was)"),
        (status = 400, description = "Malformed body", body = Problem),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .customers
        .end_session(&request.refresh_token)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_password_or_a_token() {
        let credentials = Credentials {
            email: "maria@example.com".into(),
            password: "s3nha-secreta-42".into(),
            totp_code: Some("123456".into()),
        };
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("s3nha-secreta-42"), "{shown}");
        assert!(!shown.contains("123456"), "{shown}");
        assert!(shown.contains("maria@example.com") && shown.contains("<redacted>"));
        let request = RefreshRequest {
            refresh_token: "rt-0123456789abcdef".into(),
        };
        assert!(!format!("{request:?}").contains("rt-0123456789abcdef"));
        let pair = TokenPair {
            access_token: "eyJ.access.token".into(),
            refresh_token: "rt-0123456789abcdef".into(),
            token_type: "Bearer",
            expires_in: 900,
        };
        let shown = format!("{pair:?}");
        assert!(
            !shown.contains("eyJ.access.token") && !shown.contains("rt-0123456789abcdef"),
            "{shown}"
        );
    }
}
