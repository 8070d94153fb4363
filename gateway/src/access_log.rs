//! One line per request at `info`, under the `access` target: method, route template, status,
//! latency, request id and client address (behind a trusted proxy, the client it forwarded
//! for: see [`crate::client_addr`]). The route template, not the raw path, so that ids (and anything a
//! client puts in a path) stay out of the log; the request id ties the line to the handler's
//! own log lines and to the client's `x-request-id`. Written by [`crate::metrics::track`],
//! which already reads the method, the route and the time of every request.
//!
//! `RUST_LOG=info,access=warn` silences it where a proxy already logs requests.

use std::time::Duration;

use axum::extract::Request;
use tower_http::request_id::RequestId;

use crate::client_addr::ClientAddr;

/// The request's id as the client sees it in `x-request-id` (`-` when there is none).
pub fn request_id(request: &Request) -> String {
    request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

/// The request's client address (`-` when none was worked out).
pub fn client(request: &Request) -> String {
    request
        .extensions()
        .get::<ClientAddr>()
        .map_or_else(|| "-".to_owned(), |client| client.0.to_string())
}

/// One answered request: what the access line tells.
pub struct Answered<'a> {
    /// The method.
    pub method: &'a str,
    /// The route template.
    pub route: &'a str,
    /// The status answered.
    pub status: u16,
    /// How long it took.
    pub took: Duration,
    /// The request id.
    pub request_id: &'a str,
    /// The client address.
    pub client: &'a str,
}

/// Logs one answered request.
pub fn answered(line: Answered<'_>) {
    tracing::info!(
        target: "access",
        method = line.method,
        route = line.route,
        status = line.status,
        latency_ms = line.took.as_secs_f64() * 1e3,
        request_id = line.request_id,
        client = line.client,
        "request answered"
    );
}
