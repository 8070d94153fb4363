//! One line per request at `info`, under the `access` target: method, route template, status,
//! latency and request id. The route template, not the raw path, so that ids (and anything a
//! client puts in a path) stay out of the log; the request id ties the line to the handler's
//! own log lines and to the client's `x-request-id`.
//!
//! `RUST_LOG=info,access=warn` silences it where a proxy already logs requests.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::RequestId;

/// Logs the request once it is answered.
pub async fn log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = crate::metrics::route_of(&request);
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let response = next.run(request).await;
    tracing::info!(
        target: "access",
        %method,
        route,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1e3,
        request_id,
        "request answered"
    );
    response
}
