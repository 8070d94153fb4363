//! Liveness and readiness.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::state::AppState;

/// `GET /healthz` and `GET /readyz`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
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
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    let clock = state.system.clock();
    Json(Health {
        status: "ok",
        time: clock.now(),
        clock_speedup: clock.speedup(),
    })
}

/// The actor system answers: traffic can be routed here.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Every service runs"), (status = 503, description = "A service is down, or the server is shutting down"))
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if state.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "draining" })),
        );
    }
    match state.system.ready().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable" })),
            )
        }
    }
}

/// The OpenAPI part of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(paths(healthz, readyz), components(schemas(Health)))]
pub struct HealthApi;
