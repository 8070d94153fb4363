//! Prometheus metrics: requests by route and status with latency histograms (middleware), and,
//! at each scrape, the actor and store gauges read from the system.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide registry (the `metrics` facade has one global recorder; several apps in one
/// process, as in tests, share it).
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "a metrics recorder was already installed; /metrics may be incomplete"
                );
            }
            handle
        })
        .clone()
}

/// Counts every request by method, route template and status, and times it.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: Prometheus text.
pub async fn render(State(state): State<AppState>) -> Response {
    let services = &state.services;
    let mut kinds = vec![
        ("customer", services.customers.stats()),
        ("vehicle", services.vehicles.stats()),
        ("vehicle_tracker", services.location.stats()),
        ("vehicle_lock", services.locks.stats()),
        ("charge", services.billing.stats()),
    ];
    kinds.extend(services.reservations.stats());
    for (kind, stats) in kinds {
        metrics::gauge!("entity_actors_active", "kind" => kind).set(stats.active as f64);
        metrics::gauge!("entity_activations_total", "kind" => kind).set(stats.activations as f64);
        metrics::gauge!("entity_passivations_total", "kind" => kind).set(stats.passivations as f64);
        metrics::gauge!("entity_failures_total", "kind" => kind).set(stats.failures as f64);
        metrics::gauge!("entity_restarts_total", "kind" => kind).set(stats.restarts as f64);
    }
    for store in state.system.stores().all() {
        let flush = store.flush_stats();
        let name = store.name().to_owned();
        metrics::gauge!("store_flushes_total", "store" => name.clone()).set(flush.flushes as f64);
        metrics::gauge!("store_flush_seconds_total", "store" => name.clone())
            .set(flush.total_micros as f64 / 1e6);
        metrics::gauge!("store_flush_seconds_max", "store" => name.clone())
            .set(flush.max_micros as f64 / 1e6);
        metrics::gauge!("store_writes_total", "store" => name).set(flush.writes as f64);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
        .into_response()
}
