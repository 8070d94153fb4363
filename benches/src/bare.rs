//! The baseline server of the HTTP benchmarks: axum with no state, no layers and no store,
//! answering the same routes as the real server with answers of the same shape.
//!
//! Measured beside the real server in the same run and with the same client, it shows what
//! HTTP, JSON and the load generator cost on their own on this machine, so the ratio to it is
//! the share of the machine the service keeps for itself. It parses the body into a JSON tree
//! (the real server parses into typed values, which is no dearer), so a baseline that skips
//! reading the body cannot make the ratio look worse than it is.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Json, Path};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Starts the bare server on 127.0.0.1 with a free port, in a background task of the current
/// runtime, and returns its address. It runs until the runtime stops.
pub async fn spawn() -> SocketAddr {
    let app = Router::new()
        .route("/v1/units/{vehicle_id}/positions", post(positions))
        .route("/v1/reservations", post(reservations));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("bare server") });
    address
}

/// Like the real route: one fix or an array, every fix "accepted".
async fn positions(
    Path(_vehicle): Path<String>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let fixes = body.as_array().map_or(1, Vec::len);
    let answer = json!({"accepted": fixes, "duplicates": 0, "flagged": 0});
    (StatusCode::ACCEPTED, Json(answer))
}

/// Like the real route: the booking echoed as confirmed, with a hold.
async fn reservations(Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let answer = json!({
        "id": "0198f3c2-0000-7000-8000-000000000000",
        "vehicle_id": body["vehicle_id"],
        "customer_id": "0198f3c2-0000-7000-8000-000000000001",
        "start_at": body["start_at"],
        "end_at": body["end_at"],
        "status": "confirmed",
        "hold": {"amount_cents": 6000, "currency": "BRL"},
    });
    (StatusCode::CREATED, Json(answer))
}
