//! Failures of an ask between actors, shared by every service's error type.
//!
//! Every ask has a timeout: an actor that does not answer in time is reported, never waited on
//! forever. A mailbox that is closed means the actor has stopped; both map to distinct HTTP
//! answers (503 and 504) in the gateway.

use std::time::Duration;

/// How long an ask between actors may wait before it counts as failed.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an ask did not get an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AskError {
    /// No entity with this id exists.
    #[error("no {kind} {id}")]
    NotFound {
        /// The entity kind (`vehicle`, `customer`, …).
        kind: &'static str,
        /// The id that was asked for.
        id: String,
    },
    /// The actor did not answer within its timeout.
    #[error("{actor} did not answer within {timeout:?}")]
    Timeout {
        /// Who was asked.
        actor: String,
        /// How long the ask waited.
        timeout: Duration,
    },
    /// The actor has stopped, or keeps failing and is held down by its supervisor.
    #[error("{actor} is unavailable")]
    Unavailable {
        /// Who was asked.
        actor: String,
    },
}
