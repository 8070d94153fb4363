//! `GET /v1/events`: the domain events as Server-Sent Events, from the reports service's
//! durable log.
//!
//! A stream subscribes to the live broadcast first, then replays the log after the resume
//! point up to its durable end, then forwards live events whose sequence is above the last
//! one sent: nothing between the replay and the live part is lost or sent twice. A live event
//! that does not follow the last one sent (the stream fell behind and the broadcast dropped
//! some: `Lagged`) sends the stream back to the log, which has them all.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use actors::reports::{Logged, ReportsHandle};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Admin;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Events read from the log per step of a replay.
const REPLAY_BATCH: usize = 256;
/// Most prefixes one `types` filter may list.
const MAX_PREFIXES: usize = 32;
/// How often an idle stream looks whether the server is shutting down (it then ends, so that
/// shutdown does not wait on streams that never finish).
const DRAIN_CHECK: Duration = Duration::from_secs(1);

/// This resource's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// One message of the stream, as a client's SSE parser hands it over.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StreamedEvent {
    /// The event's place in the log: what `Last-Event-ID` or `after` resume from.
    #[schema(pattern = "^[0-9]{1,20}$")]
    pub id: String,
    /// The event's type (`reservation.confirmed`, …).
    pub event: String,
    /// The event as JSON: `{id, type, occurred_at, source, reservation_id?, customer_id?,
    /// vehicle_id?, data}`.
    pub data: String,
}

/// Where to resume and what to send.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Resume after this event id (the `id:` of an event received); `Last-Event-ID` wins when
    /// both are given. Without either, the stream starts with the next event.
    #[param(value_type = Option<String>, pattern = "^[0-9]{1,20}$", example = "42")]
    pub after: Option<String>,
    /// Comma-separated prefixes of the event types to send, e.g. `reservation.,vehicle.`.
    #[param(value_type = Option<String>, pattern = "^[a-z0-9_.]{1,64}(,[a-z0-9_.]{1,64})*$", example = "reservation.,rental.")]
    pub types: Option<String>,
}

/// Parses an event id sent back by a client.
pub fn parse_sequence(text: &str, field: &str) -> Result<u64, ApiError> {
    let digits = !text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| text.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| ApiError::bad_request(format!("{field} must be an event id (digits)")))
}

/// The event types a stream sends: every one, or those starting with one of the prefixes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeFilter(Vec<String>);

impl TypeFilter {
    /// Parses `types`: comma-separated prefixes of lower-case letters, digits, `_` and `.`.
    pub fn parse(text: &str) -> Result<TypeFilter, ApiError> {
        let prefixes: Vec<String> = text.split(',').map(str::to_owned).collect();
        let well_formed = |prefix: &String| {
            (1..=64).contains(&prefix.len())
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
        };
        if prefixes.len() > MAX_PREFIXES || !prefixes.iter().all(well_formed) {
            return Err(ApiError::bad_request(format!(
                "types must be up to {MAX_PREFIXES} comma-separated prefixes of event types \
                 (a-z, 0-9, `_`, `.`), e.g. reservation.,vehicle."
            )));
        }
        Ok(TypeFilter(prefixes))
    }

    /// Whether events of `type_name` pass.
    pub fn admits(&self, type_name: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|prefix| type_name.starts_with(prefix))
    }
}

/// Streams the domain events (admin) as Server-Sent Events: `id:` the event's sequence in the
/// log, `event:` its type, `data:` its JSON (`{id, type, occurred_at, source, reservation_id?,
/// customer_id?, vehicle_id?, data}`), with keep-alive comments while idle. Resume with the
/// `Last-Event-ID` header (what `EventSource` sends on reconnection) or `?after=`: the log
/// holds `events.retention_days` of events, older ones are not replayed.
#[utoipa::path(
    get, path = "/v1/events", tag = "operations",
    operation_id = "stream_events",
    params(
        EventsQuery,
        ("Last-Event-ID" = Option<String>, Header, nullable = false, pattern = r"^[0-9]{1,20}$", description = "Resume after this event id"),
    ),
    responses(
        (status = 200, description = "The event stream: one message per event", content_type = "text/event-stream", body = StreamedEvent),
        (status = 400, description = "Malformed `after`, `Last-Event-ID` or `types`", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn events(
    State(state): State<AppState>,
    _admin: Admin,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let header = headers
        .get("last-event-id")
        .map(|value| {
            value
                .to_str()
                .map_err(|_| ApiError::bad_request("Last-Event-ID must be an event id (digits)"))
        })
        .transpose()?
        .filter(|text| !text.is_empty());
    // Both are checked when both come; the header wins.
    let after = query
        .after
        .as_deref()
        .map(|after| parse_sequence(after, "after"))
        .transpose()?;
    let after = match header {
        Some(header) => Some(parse_sequence(header, "Last-Event-ID")?),
        None => after,
    };
    let filter = match query.types.as_deref() {
        Some(types) => TypeFilter::parse(types)?,
        None => TypeFilter::default(),
    };
    let reports = state.services.reports.clone();
    // Subscribe before reading where the log ends: every later event is then in one or the
    // other.
    let live = reports.live();
    let end = reports.last_sequence();
    let cursor = Cursor {
        reports,
        live,
        // An id beyond the log (from another server's log, say) would skip every event.
        last: after.unwrap_or(end).min(end),
        catching_up: after.is_some(),
        backlog: VecDeque::new(),
        filter,
        state: state.clone(),
    };
    let keep_alive = Duration::from_secs(state.config.events.keep_alive_s);
    let stream = futures_util::stream::unfold(cursor, |mut cursor| async move {
        let event = cursor.next().await?;
        Some((Ok(event), cursor))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(keep_alive)))
}

/// One stream's position.
struct Cursor {
    reports: ReportsHandle,
    live: Receiver<Arc<Logged>>,
    /// The last sequence handled (sent, or filtered out).
    last: u64,
    /// The log has events after `last` that the broadcast will not bring.
    catching_up: bool,
    backlog: VecDeque<Arc<Logged>>,
    filter: TypeFilter,
    state: AppState,
}

impl Cursor {
    /// The next event to send; `None` ends the stream (shutdown, or a log that cannot be
    /// read: the client reconnects with its `Last-Event-ID`).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(logged) = self.backlog.pop_front() {
                if logged.sequence <= self.last {
                    continue;
                }
                self.last = logged.sequence;
                if self.filter.admits(logged.event.type_name()) {
                    return Some(sse_event(&logged));
                }
                continue;
            }
            if self.catching_up {
                match self.reports.read_after(self.last, REPLAY_BATCH) {
                    Ok(batch) if batch.is_empty() => self.catching_up = false,
                    Ok(batch) => self.backlog.extend(
                        batch
                            .into_iter()
                            .map(|(sequence, event)| Arc::new(Logged::new(sequence, event))),
                    ),
                    Err(error) => {
                        tracing::warn!(%error, "event stream ended: the log cannot be read");
                        return None;
                    }
                }
                continue;
            }
            if self.state.is_draining() {
                return None;
            }
            match tokio::time::timeout(DRAIN_CHECK, self.live.recv()).await {
                Err(_) => {}
                Ok(Ok(logged)) => {
                    if logged.sequence == self.last + 1 {
                        self.backlog.push_back(logged);
                    } else if logged.sequence > self.last {
                        self.catching_up = true;
                    }
                }
                Ok(Err(RecvError::Lagged(_))) => self.catching_up = true,
                Ok(Err(RecvError::Closed)) => return None,
            }
        }
    }
}

fn sse_event(logged: &Logged) -> Event {
    Event::default()
        .id(logged.sequence.to_string())
        .event(logged.event.type_name())
        .data(logged.json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_filter_types_and_malformed_ones_are_refused() {
        let filter = TypeFilter::parse("reservation.,vehicle.").unwrap();
        assert!(filter.admits("reservation.confirmed"));
        assert!(filter.admits("vehicle.moved"));
        assert!(!filter.admits("charge.captured"));
        assert!(TypeFilter::default().admits("charge.captured"));
        for bad in ["", "reservation.,", "Reservation.", "a b", &"x".repeat(65)] {
            assert!(TypeFilter::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn an_event_id_is_digits_only() {
        assert_eq!(parse_sequence("42", "after").unwrap(), 42);
        for bad in ["", "-1", "+1", "4 2", "1e3", "99999999999999999999999"] {
            assert!(parse_sequence(bad, "after").is_err(), "{bad:?} accepted");
        }
    }
}
