//! The router: every resource's routes merged once here, and the layers every request crosses.
//!
//! A route is declared in one place: its handler's `#[utoipa::path]`, registered with
//! `routes!` in its resource's `router()`. [`routes::api::api`] merges those routers; the served router and
//! the OpenAPI document are both split from it (see [`routes::ops::split`]).
//!
//! From the outside in: a request id (generated or propagated), a tracing span carrying it,
//! the client's address (see [`crate::client_addr`]), metrics with the access log, panic-to-500, load shedding in front of a concurrency limit (503 with
//! `Retry-After` instead of an unbounded queue), a request timeout, and the body size limit
//! applied by the JSON extractor (413).

use std::time::Duration;

use actors::ErrorKind;
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::routes;
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route of the API with its layers.
pub fn router(state: AppState) -> Router {
    let server = &state.config.server;
    // axum clones a layer into every route, so the limit must share its permits across clones
    // (a plain `concurrency_limit` would give each route a limit of its own).
    let limits = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(overloaded))
        .load_shed()
        .layer(GlobalConcurrencyLimitLayer::new(
            server.max_concurrent_requests,
        ))
        .timeout(Duration::from_secs(server.request_timeout_s));
    let (api, document) = routes::ops::split(routes::api::api());
    api.merge(routes::ops::router(document))
        .merge(routes::console::pages())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(server.max_body_bytes))
        .layer(limits)
        .layer(CatchPanicLayer::custom(panicked))
        .layer(axum::middleware::from_fn(crate::metrics::track))
        // Outside the access log, which names the client it found.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::client_addr::remember,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = request
                    .extensions()
                    .get::<RequestId>()
                    .and_then(|id| id.header_value().to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such resource")
}

async fn method_not_allowed() -> ApiError {
    ApiError::of(
        ErrorKind::MethodNotAllowed,
        "this resource does not support that method",
    )
}

async fn overloaded(error: tower::BoxError) -> Response {
    if error.is::<tower::timeout::error::Elapsed>() {
        return ApiError::of(ErrorKind::Timeout, "the request took too long").into_response();
    }
    if error.is::<tower::load_shed::error::Overloaded>() {
        return ApiError::unavailable("the server is busy; retry shortly", 1).into_response();
    }
    ApiError::internal(&error).into_response()
}

fn panicked(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal(&"a request handler panicked").into_response()
}
