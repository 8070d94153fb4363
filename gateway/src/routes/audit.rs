//! `GET /v1/audit`: the rental invariants checked across the services, for operators and for
//! the simulator run against a deployment.

use std::collections::BTreeMap;

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Admin;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

/// This resource's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit))
}

/// What the audit found; `violations` is empty when every invariant holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditDto {
    /// Reservations by status.
    pub reservations_by_status: BTreeMap<String, u64>,
    /// Charges in the ledger.
    pub charges: u64,
    /// Holds neither captured nor voided yet, each for a reservation still under way.
    pub open_holds: u64,
    /// Executed unlocks checked against their reservation's window.
    pub unlocks_checked: u64,
    /// Customers who owe money their card refused (a figure, not a violation).
    pub customers_with_outstanding: u64,
    /// What they owe together, in centavos.
    pub outstanding_cents: i64,
    /// Incidents by kind (`late_unlock_relocked`, `auto_end_not_locked`, `auto_end_moving`,
    /// `charge_refused`, `admin_forced_end`, `returned_without_position`, `payment_dispute`, `hold_cancelled_at_provider`): the system acting on
    /// its own, or told by the payment provider, where something outside it went wrong.
    pub incidents: BTreeMap<String, u64>,
    /// Operator refunds and the payment provider's events applied to charges, by kind
    /// (`operator_refund`, `provider_refund`, `hold_cancelled_at_provider`, `payment_dispute`).
    pub payment_events: BTreeMap<String, u64>,
    /// Rentals operators ended by force (`POST /v1/reservations/{id}/finish` with `force`),
    /// oldest first, with their reasons.
    pub forced_ends: Vec<ForcedEndDto>,
    /// Broken invariants, one sentence each.
    pub violations: Vec<String>,
}

/// A rental an operator ended by force.
#[derive(Debug, Serialize, ToSchema)]
pub struct ForcedEndDto {
    /// The reservation.
    pub reservation_id: uuid::Uuid,
    /// The car.
    pub vehicle_id: uuid::Uuid,
    /// When it was ended.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The operator's reason (and, when the car did not lock, why).
    pub reason: String,
}

impl From<actors::audit::SystemAudit> for AuditDto {
    fn from(audit: actors::audit::SystemAudit) -> Self {
        AuditDto {
            reservations_by_status: audit.reservations_by_status,
            charges: audit.charges,
            open_holds: audit.open_holds,
            unlocks_checked: audit.unlocks_checked,
            customers_with_outstanding: audit.customers_with_outstanding,
            outstanding_cents: audit.outstanding_cents,
            incidents: audit.incidents,
            payment_events: audit.payment_events,
            forced_ends: audit
                .forced_ends
                .into_iter()
                .map(|forced| ForcedEndDto {
                    reservation_id: forced.reservation_id.as_uuid(),
                    vehicle_id: forced.vehicle_id.as_uuid(),
                    at: forced.at,
                    reason: forced.reason,
                })
                .collect(),
            violations: audit.violations,
        }
    }
}

/// Checks, across the services, that no car is booked twice, every ledger balances (captured
/// never above held), no hold stays open on a finished reservation, every executed unlock fell
/// inside its renter's reservation window while no other rental held the car, no car was open
/// to two customers at once, and no rental is still under way past its automatic end (admin). It reads whole stores: run it for
/// audits, not on a tight schedule.
#[utoipa::path(
    get, path = "/v1/audit", tag = "operations", operation_id = "get_audit",
    responses((status = 200, body = AuditDto)),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn audit(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<ApiJson<AuditDto>, ApiError> {
    let report = actors::audit::audit(&state.services).await?;
    Ok(ApiJson(report.into()))
}
