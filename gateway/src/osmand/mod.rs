//! The OsmAnd protocol listener: positions from off-the-shelf trackers (Traccar Client on a
//! phone left in the car, OsmAnd-style GPS units) that cannot speak our own protocol.
//!
//! A second HTTP listener on `fleet.osmand_bind` (off when empty; trackers default to port
//! 5055), started and drained with the API. It takes what Traccar's OsmAnd decoder takes:
//! GET or POST with the query form in the URL or as a form body ([`parse`]), or Traccar Client
//! 9's JSON ([`json`]). Every fix then goes through `LocationHandle::record_positions`, the
//! same path as our own units' fixes: deduplication by time, plausibility, history, latest.
//!
//! - **Identity**: the protocol has no credential; the tracker's `id` is looked up among the
//!   cars' `tracker_id`s (an admin sets one per car, long enough not to be guessed). An
//!   unknown id is 400, as Traccar answers it. Serve the listener through a TLS proxy with an
//!   allow-list: the id travels in every request.
//! - **Answers**: 200 with an empty body when the fixes were taken (duplicates included: a
//!   tracker re-sending after a lost answer must not loop), 400 with a one-line `text/plain`
//!   reason otherwise. Trackers retry anything but 200, so refusals are for requests that can
//!   never succeed.
//! - **`valid=false`**: answered 200 and not recorded. The tracker says it has no satellite
//!   fix, so the position is stale or made up and must not move the car; refusing it would
//!   only make the tracker re-send it forever. Counted as `skipped_invalid`.
//! - **Limits**: a body of at most [`MAX_BODY_BYTES`], at most [`parse::MAX_PARAMETERS`]
//!   parameters, the API's per-device rate limit (per car) and request timeout, and at most
//!   `server.max_concurrent_requests` requests at once (503 past that, never a queue).

pub mod json;
mod listener;
pub mod parse;
#[cfg(test)]
mod tests;

use actors::location::LocationError;
use actors::vehicles::VehiclesError;
use actors::{ErrorKind, Kinded};

pub use listener::{bind, router, serve};

/// Largest request body, in bytes: one JSON location is under 1 KB, so this holds a
/// `batchSync` batch of several dozen.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why an OsmAnd request was not taken. Mapped to an answer in `crate::error` like every
/// other error of the gateway.
#[derive(Debug, thiserror::Error)]
pub enum OsmAndError {
    /// The method is neither GET nor POST.
    #[error("use GET or POST")]
    Method,
    /// The body is over [`MAX_BODY_BYTES`] (or could not be read whole).
    #[error("the body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// The request is not a fix: every bad field is named.
    #[error("malformed: {0}")]
    Malformed(parse::Malformed),
    /// No car has this tracker id (or its car is retired).
    #[error("unknown id")]
    UnknownTracker,
    /// The car's fixes come too fast.
    #[error("too many requests")]
    RateLimited {
        /// Seconds to wait.
        retry_after_s: u64,
    },
    /// The location service refused the fix (outside -90..90, speed beyond 400 km/h, a clock
    /// more than 2 minutes ahead, …).
    #[error("refused: {0}")]
    Refused(String),
    /// Too many requests at once on this listener.
    #[error("the listener is busy; retry shortly")]
    Busy,
    /// The request took longer than `server.request_timeout_s`.
    #[error("the request took too long")]
    Timeout,
    /// The vehicles service failed while resolving the tracker id.
    #[error("the vehicles service failed")]
    Vehicles(#[source] VehiclesError),
    /// The location service failed.
    #[error("the location service failed")]
    Location(#[source] LocationError),
}

impl OsmAndError {
    /// The `reason` label of `ev_rental_osmand_rejected_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            OsmAndError::Method | OsmAndError::Malformed(_) => "malformed",
            OsmAndError::TooLarge => "too_large",
            OsmAndError::UnknownTracker => "unknown_id",
            OsmAndError::RateLimited { .. } => "rate_limited",
            OsmAndError::Refused(_) => "refused",
            OsmAndError::Busy => "busy",
            OsmAndError::Timeout => "timeout",
            OsmAndError::Vehicles(_) | OsmAndError::Location(_) => "failed",
        }
    }
}

impl Kinded for OsmAndError {
    fn kind(&self) -> ErrorKind {
        match self {
            OsmAndError::Method => ErrorKind::MethodNotAllowed,
            OsmAndError::TooLarge => ErrorKind::TooLarge,
            // Traccar answers an unknown id 400 too; 404 would tell a prober nothing more.
            OsmAndError::Malformed(_) | OsmAndError::UnknownTracker | OsmAndError::Refused(_) => {
                ErrorKind::BadRequest
            }
            OsmAndError::RateLimited { .. } => ErrorKind::RateLimited,
            OsmAndError::Busy => ErrorKind::Unavailable,
            OsmAndError::Timeout => ErrorKind::Timeout,
            OsmAndError::Vehicles(error) => error.kind(),
            OsmAndError::Location(error) => error.kind(),
        }
    }
}

/// Requests refused, by reason.
pub const REJECTED: &str = "ev_rental_osmand_rejected_total";
/// Fixes received through the listener, by outcome.
pub const FIXES: &str = "ev_rental_osmand_fixes_total";

/// Registers the listener's metric families (called with the others at start).
pub fn describe_metrics() {
    metrics::describe_counter!(
        REJECTED,
        "OsmAnd requests refused, by reason (unknown_id, malformed, refused, too_large, \
         rate_limited, busy, timeout, failed)"
    );
    metrics::describe_counter!(
        FIXES,
        "Fixes received on the OsmAnd listener, by outcome (accepted, duplicate, \
         skipped_invalid)"
    );
}

fn count_rejected(error: &OsmAndError) {
    metrics::counter!(REJECTED, "reason" => error.reason()).increment(1);
}

fn count_fixes(outcome: &'static str, fixes: u64) {
    if fixes > 0 {
        metrics::counter!(FIXES, "outcome" => outcome).increment(fixes);
    }
}
