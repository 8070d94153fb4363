//! What can go wrong talking to the NATS cluster.

/// A failure of the connection, the lease or the log reader.
///
/// NATS errors are kept whole as the source (each async-nats call has its own error type), so
/// that a log line shows the server's own reason.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The credentials file could not be read.
    #[error("cannot read the NATS credentials file {path}")]
    Credentials {
        /// The configured path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No server of `cluster.nats_urls` accepted the connection.
    #[error("cannot connect to NATS at {urls}")]
    Connect {
        /// The configured servers.
        urls: String,
        /// Why.
        #[source]
        source: async_nats::ConnectError,
    },
    /// The connection was not established in time (the client keeps trying in the background,
    /// but start-up does not wait forever).
    #[error("no NATS server of {urls} answered within {timeout_ms} ms")]
    ConnectTimeout {
        /// The configured servers.
        urls: String,
        /// How long was waited.
        timeout_ms: u64,
    },
    /// A JetStream request failed (creating the bucket or the stream, reading the lease, a
    /// consumer).
    #[error("NATS JetStream: cannot {action}")]
    Nats {
        /// What was being done.
        action: &'static str,
        /// The client's error.
        #[source]
        source: async_nats::Error,
    },
    /// A JetStream request got no answer in time.
    #[error("NATS JetStream: no answer in time to {action}")]
    TimedOut {
        /// What was being done.
        action: &'static str,
    },
    /// The stream exists with settings that would lose entries or hold fewer copies.
    #[error("the stream {stream} exists with unsafe settings: {reason}")]
    StreamSettings {
        /// The stream's name.
        stream: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The lease's value is not a holder written by this program.
    #[error("the lease's value is not a holder")]
    HolderDecode {
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The key vault's bucket did not take a write: another node took it over (fenced), or
    /// JetStream did not confirm it.
    #[error("the key vault's bucket did not take the write to {action}")]
    VaultWrite {
        /// What was being done.
        action: &'static str,
        /// Why.
        #[source]
        source: AppendError,
    },
    /// A log message lacks a header a chunked entry needs, or carries a wrong one.
    #[error("log message {sequence} is malformed: {reason}")]
    Malformed {
        /// Its stream sequence.
        sequence: u64,
        /// What is wrong.
        reason: &'static str,
    },
}

impl ClusterError {
    pub(crate) fn nats(action: &'static str, source: impl Into<async_nats::Error>) -> ClusterError {
        ClusterError::Nats {
            action,
            source: source.into(),
        }
    }
}

/// Why an append was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another writer appended since this one last did: this node is no longer the leader (or
    /// never caught up) and must not acknowledge anything more. JetStream's answer 10071, wrong
    /// last sequence.
    #[error("fenced: the log's last sequence is no longer {expected}")]
    Fenced {
        /// The last sequence this writer expected.
        expected: u64,
        /// The server's refusal, when there was one.
        #[source]
        source: Option<async_nats::Error>,
    },
    /// JetStream did not confirm the append (timeout, no responders, lost connection, quorum
    /// lost). The entry may or may not be in the log: the caller must not acknowledge it.
    #[error("the log is unavailable")]
    Unavailable {
        /// The client's error.
        #[source]
        source: async_nats::Error,
    },
    /// A store's name must be one NATS subject token.
    #[error("{store:?} cannot name a store in the log (letters, digits, '-' and '_' only)")]
    InvalidStore {
        /// The name given.
        store: String,
    },
}
