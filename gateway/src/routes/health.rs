//! Liveness and readiness.

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
        Ok(()) => Ok(Json(Readiness { status: "ready" })),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            Err(ApiError::unavailable("a service is not running", 1))
        }
    }
}
