//! Confirming the caller's e-mail address with the code e-mailed to it, and asking for a new
//! code.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::CustomerDto;
use crate::auth::Customer;
use crate::error::{ApiError, Problem};
use crate::extract::ApiJson;
use crate::redact::Redacted;
use crate::state::AppState;

/// This resource's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(confirm_email))
        .routes(routes!(resend_confirmation))
}

/// The code from the confirmation e-mail.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmationCode {
    /// The six digits.
    #[schema(pattern = "^[0-9]{6}$", example = "048213")]
    pub code: String,
}

impl std::fmt::Debug for ConfirmationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfirmationCode")
            .field("code", &Redacted)
            .finish()
    }
}

/// Confirm the e-mail address.
///
/// The code confirms the address waiting for confirmation: a new account's (which becomes
/// `active` and may book), or a changed one (which becomes the login and the contact).
#[utoipa::path(
    post, path = "/v1/customers/me/email-confirmation", tag = "customers",
    operation_id = "confirm_email",
    request_body = ConfirmationCode,
    responses(
        (status = 200, description = "Confirmed; the profile", body = CustomerDto),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 404, description = "The account was erased", body = Problem),
        (status = 409, description = "Nothing waits for confirmation (`invalid-state`), or the changed address was registered by someone else meanwhile (`already-registered`)", body = Problem),
        (status = 422, description = "Not six digits, a wrong or expired code, or too many wrong tries (ask for a new code)", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["customer"])))
)]
pub async fn confirm_email(
    State(state): State<AppState>,
    Customer(id): Customer,
    ApiJson(body): ApiJson<ConfirmationCode>,
) -> Result<ApiJson<CustomerDto>, ApiError> {
    Ok(ApiJson(
        state
            .services
            .customers
            .confirm_email(id, &body.code)
            .await?
            .into(),
    ))
}

/// Send a new confirmation code.
///
/// The previous code stops working. At most one a minute and five an hour.
#[utoipa::path(
    post, path = "/v1/customers/me/email-confirmation/resend", tag = "customers",
    operation_id = "resend_email_confirmation",
    responses(
        (status = 200, description = "A new code was sent; the profile", body = CustomerDto),
        (status = 404, description = "The account was erased", body = Problem),
        (status = 409, description = "Nothing waits for confirmation (`invalid-state`)", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(
        ("x-roles" = json!(["customer"])),
        ("x-rate-limit" = json!("per customer: one code a minute, five an hour (429 with `Retry-After`)"))
    )
)]
pub async fn resend_confirmation(
    State(state): State<AppState>,
    Customer(id): Customer,
) -> Result<ApiJson<CustomerDto>, ApiError> {
    Ok(ApiJson(
        state
            .services
            .customers
            .resend_confirmation(id)
            .await?
            .into(),
    ))
}
