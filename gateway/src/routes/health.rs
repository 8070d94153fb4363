//! Liveness and readiness.

use actors::billing::CircuitState;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;

/// `GET /healthz` and `GET /readyz`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// The services all answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// Always `ready`.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// Whether the payment provider answers. `unavailable` while the circuit breaker around it
    /// is open (it failed repeatedly; calls fail fast until a probe after the cool-down
    /// succeeds): bookings then answer 503 with `Retry-After` and captures wait for their
    /// background retry, but everything else is served, so the instance stays ready (200).
    pub payment_provider: PaymentProviderStatus,
}

/// Whether the payment provider answers, as the circuit breaker around it sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentProviderStatus {
    /// Calls go through.
    Available,
    /// The circuit is open (or half-open, waiting for a probe to succeed).
    Unavailable,
}

/// Liveness, and the services' clock: a client driving a deployment whose clock is
/// accelerated for a load test (`server.clock_speedup`) reads here what time it is there.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
    /// The services' current time.
    pub time: DateTime<Utc>,
    /// Simulated seconds per real second of that clock; 1 in production.
    pub clock_speedup: u32,
}

/// The process is up and serving HTTP; says nothing about the services behind it.
#[utoipa::path(
    get, path = "/healthz", tag = "operations", operation_id = "get_health",
    responses((status = 200, description = "Alive", body = Health))
)]
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    let clock = state.system.clock();
    Json(Health {
        status: "ok",
        time: clock.now(),
        clock_speedup: clock.speedup(),
    })
}

/// The actor system answers: traffic can be routed here. When it does not, the answer is a
/// problem like every other error (503 `unavailable`), so probes and clients read one format;
/// from the moment shutdown starts it is not ready either, while it still serves requests.
#[utoipa::path(
    get, path = "/readyz", tag = "operations", operation_id = "get_readiness",
    responses((status = 200, description = "Every service runs", body = Readiness))
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Readiness>, ApiError> {
    if state.is_draining() {
        return Err(ApiError::unavailable(
            "the server is shutting down; use another instance",
            1,
        ));
    }
    match state.system.ready().await {
        Ok(()) => {
            let payment_provider = match state.system.services().billing.provider_circuit() {
                CircuitState::Closed => PaymentProviderStatus::Available,
                CircuitState::Open | CircuitState::HalfOpen => PaymentProviderStatus::Unavailable,
            };
            Ok(Json(Readiness {
                status: "ready",
                payment_provider,
            }))
        }
        Err(error) => {
            tracing::warn!(%error, "not ready");
            Err(ApiError::unavailable("a service is not running", 1))
        }
    }
}
