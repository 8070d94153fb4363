//! `GET /v1/billing/reconciliation`: a day's ledger against the payment provider's records.

use actors::billing::{Amounts, Difference, DifferenceKind, Reconciliation};
use axum::extract::State;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Admin;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

/// This resource's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(reconciliation))
}

/// Which day to reconcile.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The UTC day, `YYYY-MM-DD`.
    #[param(value_type = String, format = Date, example = "2026-12-01")]
    pub date: NaiveDate,
}

/// The amounts of one payment as one side sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct AmountsDto {
    /// Authorized (a hold) or sold, in centavos.
    pub authorized_cents: i64,
    /// Taken.
    pub captured_cents: i64,
    /// Returned.
    pub refunded_cents: i64,
    /// Whether the whole authorization was given back.
    pub voided: bool,
}

impl From<Amounts> for AmountsDto {
    fn from(amounts: Amounts) -> Self {
        AmountsDto {
            authorized_cents: amounts.authorized_cents,
            captured_cents: amounts.captured_cents,
            refunded_cents: amounts.refunded_cents,
            voided: amounts.voided,
        }
    }
}

/// One payment on which the ledger and the provider disagree.
#[derive(Debug, Serialize, ToSchema)]
pub struct DifferenceDto {
    /// The provider's reference of the payment.
    pub reference: String,
    /// The reservation whose charge names it, if any.
    #[schema(format = Uuid)]
    pub reservation_id: Option<String>,
    /// `missing_at_provider`, `missing_in_ledger` or `amounts_differ`.
    pub kind: &'static str,
    /// What the ledger says.
    pub ledger: Option<AmountsDto>,
    /// What the provider says.
    pub provider: Option<AmountsDto>,
}

impl From<Difference> for DifferenceDto {
    fn from(difference: Difference) -> Self {
        DifferenceDto {
            reference: difference.reference,
            reservation_id: difference.reservation_id.map(|id| id.to_string()),
            kind: match difference.kind {
                DifferenceKind::MissingAtProvider => "missing_at_provider",
                DifferenceKind::MissingInLedger => "missing_in_ledger",
                DifferenceKind::AmountsDiffer => "amounts_differ",
            },
            ledger: difference.ledger.map(AmountsDto::from),
            provider: difference.provider.map(AmountsDto::from),
        }
    }
}

/// A day's reconciliation; `differences` is empty when the two sides agree.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReconciliationDto {
    /// The UTC day.
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// Whether the provider could list its payments; when false nothing was compared.
    pub provider_listed: bool,
    /// Payments on which both sides agree.
    pub matched: usize,
    /// The disagreements, by reference.
    pub differences: Vec<DifferenceDto>,
}

impl From<Reconciliation> for ReconciliationDto {
    fn from(day: Reconciliation) -> Self {
        ReconciliationDto {
            date: day.date,
            provider_listed: day.provider_listed,
            matched: day.matched,
            differences: day.differences.into_iter().map(Into::into).collect(),
        }
    }
}

/// Compares the payments the ledger opened on a UTC day (holds and sales) with the payment
/// provider's records of them, amount by amount, and lists the provider's payments of that day
/// no charge names (admin). Reads every charge: a daily question, not a tight loop.
#[utoipa::path(
    get, path = "/v1/billing/reconciliation", tag = "operations",
    operation_id = "reconcile_payments",
    params(DayQuery),
    responses(
        (status = 200, body = ReconciliationDto),
        (status = 400, description = "Missing or malformed date", body = Problem),
        (status = 502, description = "The payment provider failed (`payment-provider`)", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn reconciliation(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<DayQuery>,
) -> Result<ApiJson<ReconciliationDto>, ApiError> {
    let day = state.services.billing.reconcile(query.date).await?;
    Ok(ApiJson(day.into()))
}
