//! Liveness and readiness.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use crate::state::AppState;

/// `GET /healthz` and `GET /readyz`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up and serving HTTP; says nothing about the services behind it.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The actor system answers: traffic can be routed here.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Every service runs"), (status = 503, description = "A service is down"))
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
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
#[openapi(paths(healthz, readyz))]
pub struct HealthApi;
