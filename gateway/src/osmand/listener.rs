//! The listener itself: binding, the one handler, and serving until the API drains.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actors::Config;
use actors::ids::VehicleId;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::parse::Reported;
use super::{MAX_BODY_BYTES, OsmAndError, count_fixes, count_rejected, json, parse};
use crate::error::ApiError;
use crate::state::AppState;

/// What the handler needs: the API's state and this listener's own concurrency permits.
#[derive(Clone)]
struct Listener {
    app: AppState,
    permits: Arc<Semaphore>,
}

/// Binds `fleet.osmand_bind`, or answers `None` when the listener is off.
pub async fn bind(config: &Config) -> std::io::Result<Option<TcpListener>> {
    match config.fleet.osmand_address() {
        Some(address) => TcpListener::bind(address).await.map(Some),
        None => Ok(None),
    }
}

/// The listener's routes: every path (trackers are configured with a bare `host:port`, and
/// Traccar ignores the path), with the access log and HTTP metrics of the API.
pub fn router(app: AppState) -> Router {
    let listener = Listener {
        permits: Arc::new(Semaphore::new(app.config.server.max_concurrent_requests)),
        app,
    };
    Router::new()
        .route("/", any(receive))
        .fallback(receive)
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .with_state(listener)
}

/// Serves `listener` until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    app: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    tracing::info!(%address, "OsmAnd listener ready");
    let service = router(app).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}

/// One request: 200 and an empty body, or the refusal as one line of text.
async fn receive(State(listener): State<Listener>, request: Request) -> Response {
    let outcome = match listener.permits.clone().try_acquire_owned() {
        Ok(_permit) => {
            let timeout = Duration::from_secs(listener.app.config.server.request_timeout_s);
            tokio::time::timeout(timeout, take(&listener.app, request))
                .await
                .unwrap_or(Err(OsmAndError::Timeout))
        }
        Err(_) => Err(OsmAndError::Busy),
    };
    match outcome {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => {
            count_rejected(&error);
            ApiError::from(error).into_plain_text()
        }
    }
}

/// Reads, resolves and records one request's fixes.
async fn take(app: &AppState, request: Request) -> Result<(), OsmAndError> {
    let reported = read(app, request).await?;
    let vehicle = app
        .services
        .vehicles
        .resolve_tracker(&reported.tracker_id)
        .await
        .map_err(OsmAndError::Vehicles)?
        .ok_or(OsmAndError::UnknownTracker)?;
    if let Err(wait) = app.limits.per_device.check(&vehicle.to_string()) {
        return Err(OsmAndError::RateLimited {
            retry_after_s: wait.as_secs() + 1,
        });
    }
    count_fixes("skipped_invalid", reported.invalid as u64);
    record(app, vehicle, reported).await
}

/// The request as a tracker id and fixes: JSON when it says so (as Traccar decides), else the
/// query form from the URL or, when the URL has none, from the body.
async fn read(app: &AppState, request: Request) -> Result<Reported, OsmAndError> {
    if !matches!(*request.method(), Method::GET | Method::POST) {
        return Err(OsmAndError::Method);
    }
    let headers = request.headers();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
        return Err(OsmAndError::TooLarge);
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("application/json"));
    let query = request.uri().query().unwrap_or_default().to_owned();
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| OsmAndError::TooLarge)?;
    let parsed = if is_json {
        json::from_json(&body)
    } else if !query.is_empty() {
        parse::from_query(query.as_bytes(), app.now())
    } else {
        parse::from_query(&body, app.now())
    };
    let reported = parsed.map_err(OsmAndError::Malformed)?;
    Ok(if app.config.fleet.osmand_battery_is_car {
        reported
    } else {
        reported.without_battery()
    })
}

async fn record(app: &AppState, vehicle: VehicleId, reported: Reported) -> Result<(), OsmAndError> {
    if reported.fixes.is_empty() {
        return Ok(());
    }
    let report = app
        .services
        .location
        .record_positions(vehicle, reported.fixes)
        .await
        .map_err(OsmAndError::Location)?;
    count_fixes("accepted", u64::from(report.accepted));
    count_fixes("duplicate", u64::from(report.duplicates));
    if report.rejected.is_empty() {
        return Ok(());
    }
    let reasons = report
        .rejected
        .iter()
        .flat_map(|rejected| &rejected.errors)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    Err(OsmAndError::Refused(reasons))
}
