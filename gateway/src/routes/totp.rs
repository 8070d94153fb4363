//! Two-factor authentication for administrators: setting up the authenticator app and turning
//! the second factor on. Logging in with a code is `POST /v1/auth/token` (`totp_code`).

use actors::customers::TotpSetup;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AdminSettingUp;
use crate::error::{ApiError, Problem};
use crate::extract::ApiJson;
use crate::redact::Redacted;
use crate::state::AppState;

/// This resource's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(setup))
        .routes(routes!(confirm))
}

/// What the authenticator app needs, shown once.
#[derive(Serialize, ToSchema)]
pub struct TotpSetupDto {
    /// `otpauth://totp/…`, usually shown to the phone as a QR code.
    pub otpauth_uri: String,
    /// Ten single-use codes for when the phone is lost; keep them offline.
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for TotpSetupDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpSetupDto")
            .field("otpauth_uri", &Redacted)
            .field("recovery_codes", &Redacted)
            .finish()
    }
}

impl From<TotpSetup> for TotpSetupDto {
    fn from(setup: TotpSetup) -> Self {
        TotpSetupDto {
            otpauth_uri: setup.otpauth_uri,
            recovery_codes: setup.recovery_codes,
        }
    }
}

/// A code from the authenticator app.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// Six digits.
    #[schema(pattern = "^[0-9]{6}$", example = "492039")]
    pub code: String,
}

impl std::fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpCode").field("code", &Redacted).finish()
    }
}

/// Start two-factor setup.
///
/// A new secret and new recovery codes each time, until a code confirms one; refused once two-factor authentication is on.
#[utoipa::path(
    post, path = "/v1/auth/totp/setup", tag = "auth", operation_id = "set_up_totp",
    responses(
        (status = 200, description = "The secret for the app and the recovery codes, shown once", body = TotpSetupDto),
        (status = 409, description = "Two-factor authentication is already on (`invalid-state`)", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn setup(
    State(state): State<AppState>,
    AdminSettingUp(admin): AdminSettingUp,
) -> Result<ApiJson<TotpSetupDto>, ApiError> {
    let setup = state.services.customers.totp_setup(admin).await?;
    Ok(ApiJson(setup.into()))
}

/// Turn two-factor authentication on with a code from the app just set up.
///
/// From then on, this administrator's log-ins need `totp_code`.
#[utoipa::path(
    post, path = "/v1/auth/totp/confirm", tag = "auth", operation_id = "confirm_totp",
    request_body = TotpCode,
    responses(
        (status = 204, description = "Two-factor authentication is on"),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 409, description = "No setup to confirm, or already on (`invalid-state`)", body = Problem),
        (status = 422, description = "The code does not match", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn confirm(
    State(state): State<AppState>,
    AdminSettingUp(admin): AdminSettingUp,
    ApiJson(body): ApiJson<TotpCode>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .customers
        .totp_confirm(admin, &body.code)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
