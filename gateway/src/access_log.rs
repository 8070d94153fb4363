//! One line per request at `info`, under the `access` target: method, route template, status,
//! latency and request id. The route template, not the raw path, so that ids (and anything a
//! client puts in a path) stay out of the log; the request id ties the line to the handler's
//! own log lines and to the client's `x-request-id`. Written by [`crate::metrics::track`],
//! which already reads the method, the route and the time of every request.
//!
//! `RUST_LOG=info,access=warn` silences it where a proxy already logs requests.

use std::time::Duration;

use axum::extract::Request;
use tower_http::request_id::RequestId;

/// The request's id as the client sees it in `x-request-id` (`-` when there is none).
pub fn request_id(request: &Request) -> String {
    request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

/// Logs one answered request.
pub fn answered(method: &str, route: &str, status: u16, took: Duration, request_id: &str) {
    tracing::info!(
        target: "access",
        method,
        route,
        status,
        latency_ms = took.as_secs_f64() * 1e3,
        request_id,
        "request answered"
    );
}
