//! The storage error type: every failure a store can report, typed so callers can tell a
//! conflict (a user-facing 409) from corruption (an operator's problem) from a closed store.

use std::path::PathBuf;

use crate::codec::CodecError;
use crate::replication::ReplicationError;

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// sled reported an I/O or internal error.
    #[error("storage engine error: {0}")]
    Engine(#[from] sled::Error),

    /// The data directory could not be created or opened.
    #[error("cannot open store at {path}: {source}")]
    Open {
        /// The directory that was being opened.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },

    /// A stored record or key could not be decoded: the bytes on disk are not what this
    /// version of the code wrote. Reported, never panicked on, so one bad record cannot take
    /// down the service that reads it.
    #[error("corrupt record in table `{table}` at key {key}: {reason}")]
    Corrupt {
        /// The table (sled tree) holding the record.
        table: String,
        /// The raw key, hex-encoded.
        key: String,
        /// What the decoder said.
        reason: String,
    },

    /// A value could not be encoded (a type the codec does not support).
    #[error("cannot encode a value for table `{table}`: {reason}")]
    Encode {
        /// The table the value was meant for.
        table: String,
        /// What the encoder said.
        reason: String,
    },

    /// A unique index already maps this key to another record.
    #[error("`{index}` already holds this value")]
    Conflict {
        /// The unique index that refused the claim.
        index: String,
    },

    /// The store's committer has stopped: the store is shutting down.
    #[error("the store `{store}` is closed")]
    Closed {
        /// The store's name.
        store: String,
    },

    /// A table used inside a transaction was not named when the transaction was opened.
    #[error("table `{table}` is not part of this transaction")]
    NotInTransaction {
        /// The table that was asked for.
        table: String,
    },

    /// The replicated log did not take this store's writes: they are not acknowledged. Either
    /// the log was unavailable (a later commit retries them) or this node was deposed (every
    /// later commit of the store fails too).
    #[error("the store `{store}` could not replicate its writes: {source}")]
    Replication {
        /// The store's name.
        store: String,
        /// What the log answered.
        source: ReplicationError,
    },

    /// Bytes read from the replicated log are not a batch this version of the code wrote.
    #[error("undecodable replication batch: {source}")]
    Batch {
        /// What the decoder said.
        source: CodecError,
    },

    /// A replication batch meant for another store was applied to this one: the caller routed
    /// it wrongly, and applying it would mix two services' data.
    #[error("a batch of store `{batch_store}` cannot be applied to store `{store}`")]
    ForeignBatch {
        /// The store that was asked to apply it.
        store: String,
        /// The store the batch came from.
        batch_store: String,
    },
}

impl StorageError {
    /// Whether the failure comes from the replicated log being unreachable or having deposed
    /// this node, rather than from this store's own engine or data: callers answer it as a
    /// service that is unavailable, not as an internal fault.
    pub fn is_replication(&self) -> bool {
        matches!(self, StorageError::Replication { .. })
    }

    pub(crate) fn corrupt(table: &str, key: &[u8], reason: impl ToString) -> Self {
        StorageError::Corrupt {
            table: table.to_owned(),
            key: hex(key),
            reason: reason.to_string(),
        }
    }
}

/// Shorthand for results in this crate.
pub type StorageResult<T> = Result<T, StorageError>;

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}
