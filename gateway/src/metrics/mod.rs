//! Prometheus metrics, named by Prometheus conventions (an `ev_rental_` prefix, `_total`
//! counters, base units in the name, HELP on every family): requests by route and status with
//! latency histograms (middleware), the domain's own counters (`actors::metrics`), and, at each
//! scrape, the actors, stores, process and build figures read where they are kept.

mod exposition;
mod process;

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use actors::FlushSnapshot;
use actors::entity::EntityStats;
use exposition::{Exposition, Type};

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
            describe();
            handle
        })
        .clone()
}

/// HTTP requests answered, by method, route template and status.
const HTTP_REQUESTS: &str = "ev_rental_http_requests_total";
/// Time to answer an HTTP request.
const HTTP_DURATION: &str = "ev_rental_http_request_duration_seconds";

fn describe() {
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route template and status"
    );
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Time to answer an HTTP request, by method and route template"
    );
    actors::metrics::describe();
    crate::osmand::describe_metrics();
}

/// The route template of a request (`/v1/vehicles/{id}`), never its raw path: raw paths would
/// make one time series per id.
pub fn route_of(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned())
}

/// Counts every request by method, route template and status, times it, and writes its access
/// line: one middleware, so the method, the route and the time are read once per request.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = route_of(&request);
    let request_id = crate::access_log::request_id(&request);
    let client = crate::access_log::client(&request);
    let response = next.run(request).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    crate::access_log::answered(crate::access_log::Answered {
        method: &method,
        route: &route,
        status,
        took,
        request_id: &request_id,
        client: &client,
    });
    metrics::counter!(HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route)
        .record(took.as_secs_f64());
    response
}

/// `GET /metrics`: Prometheus text.
pub async fn render(State(state): State<AppState>) -> Response {
    let mut text = Exposition::default();
    write_build_info(&mut text);
    write_entities(&mut text, &state);
    write_stores(&mut text, &state);
    process::write(&mut text);
    let mut body = state.metrics.render();
    body.push_str(&text.finish());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}

fn write_build_info(text: &mut Exposition) {
    const NAME: &str = "ev_rental_build_info";
    text.family(
        NAME,
        Type::Gauge,
        "Always 1; the labels say which build is running.",
    )
    .sample(
        NAME,
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            ("rust_version", env!("CARGO_PKG_RUST_VERSION")),
        ],
        1.0,
    );
}

/// A family read at scrape time: name, type, help and how to read its value from a source.
type Family<S> = (&'static str, Type, &'static str, fn(&S) -> f64);

fn write_entities(text: &mut Exposition, state: &AppState) {
    let services = &state.services;
    let mut kinds = vec![
        ("customer", services.customers.stats()),
        ("vehicle", services.vehicles.stats()),
        ("vehicle_tracker", services.location.stats()),
        ("vehicle_lock", services.locks.stats()),
        ("charge", services.billing.stats()),
    ];
    kinds.extend(services.reservations.stats());
    let families: [Family<EntityStats>; 5] = [
        (
            "ev_rental_entities_active",
            Type::Gauge,
            "Entities with a live actor now, by kind.",
            |stats| stats.active as f64,
        ),
        (
            "ev_rental_entity_activations_total",
            Type::Counter,
            "Entity actors started (first use, or again after passivation), by kind.",
            |stats| stats.activations as f64,
        ),
        (
            "ev_rental_entity_passivations_total",
            Type::Counter,
            "Entity actors stopped for being idle, by kind.",
            |stats| stats.passivations as f64,
        ),
        (
            "ev_rental_entity_failures_total",
            Type::Counter,
            "Entity actors that failed (error or panic), by kind.",
            |stats| stats.failures as f64,
        ),
        (
            "ev_rental_entity_restarts_total",
            Type::Counter,
            "Failed entity actors restarted by their supervisor, by kind.",
            |stats| stats.restarts as f64,
        ),
    ];
    write_families(text, &families, "kind", &kinds);
}

fn write_stores(text: &mut Exposition, state: &AppState) {
    let stores: Vec<_> = state
        .system
        .stores()
        .all()
        .iter()
        .map(|store| (store.name().to_owned(), store.flush_stats()))
        .collect();
    let families: [Family<FlushSnapshot>; 4] = [
        (
            "ev_rental_store_flushes_total",
            Type::Counter,
            "Durable flushes (group commits) of each store.",
            |flush| flush.flushes as f64,
        ),
        (
            "ev_rental_store_writes_total",
            Type::Counter,
            "Writes made durable by those flushes, per store.",
            |flush| flush.writes as f64,
        ),
        (
            "ev_rental_store_flush_seconds_total",
            Type::Counter,
            "Time spent flushing each store to disk.",
            |flush| flush.total_micros as f64 / 1e6,
        ),
        (
            "ev_rental_store_flush_max_seconds",
            Type::Gauge,
            "Longest single flush of each store since start.",
            |flush| flush.max_micros as f64 / 1e6,
        ),
    ];
    write_families(text, &families, "store", &stores);
}

/// Each family, with one sample per source labelled `label`.
fn write_families<S>(
    text: &mut Exposition,
    families: &[Family<S>],
    label: &str,
    sources: &[(impl AsRef<str>, S)],
) {
    for (name, kind, help, read) in families {
        text.family(name, *kind, help);
        for (source, figures) in sources {
            text.sample(name, &[(label, source.as_ref())], read(figures));
        }
    }
}
