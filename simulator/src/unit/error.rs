//! What can go wrong in a unit, and which of it is fatal.

use std::time::Duration;

use tokio_tungstenite::tungstenite;

/// A unit's errors. Only [`UnitError::InvalidToken`] stops the unit by itself: every other
/// failure is logged and retried, because a car in a tunnel must come back on its own.
#[derive(Debug, thiserror::Error)]
pub enum UnitError {
    /// The server answered 401 (on a position report or on the WebSocket upgrade). Retrying
    /// cannot help, so the unit stops and an operator must issue a new device token.
    #[error("the server refused the device token (401); the unit stopped")]
    InvalidToken,
    /// A position report could not be delivered (connection refused, timeout, …); retried.
    #[error("HTTP request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The server answered a position report with a status the unit cannot act on.
    #[error("the server answered {status}: {body}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The start of the answer's body, for the log.
        body: String,
    },
    /// The WebSocket could not be opened or broke; reopened with backoff. Boxed because
    /// tungstenite's error is large and would bloat every `Result` of this module.
    #[error("WebSocket failed: {0}")]
    WebSocket(Box<tungstenite::Error>),
    /// A frame from the server could not be understood: logged and ignored, the connection
    /// stays up.
    #[error("unreadable frame: {0}")]
    Protocol(String),
    /// The settings given to [`UnitClient::spawn`](super::UnitClient::spawn) cannot work.
    #[error("invalid unit configuration: {0}")]
    Config(String),
    /// The backlog file could not be opened or read at start.
    #[error("position backlog file {path}: {source}")]
    BacklogFile {
        /// The file.
        path: std::path::PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The unit was shut down (by [`UnitHandle::shutdown`](super::UnitHandle::shutdown) or by
    /// dropping its handle).
    #[error("the unit has been shut down")]
    Stopped,
    /// [`UnitHandle::wait_connected`](super::UnitHandle::wait_connected) gave up.
    #[error("not connected after {0:?}")]
    Timeout(Duration),
}

impl From<tungstenite::Error> for UnitError {
    fn from(error: tungstenite::Error) -> Self {
        UnitError::WebSocket(Box::new(error))
    }
}
