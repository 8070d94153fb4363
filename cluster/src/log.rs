//! The replicated log: one JetStream stream holding every store's commits in one order.
//!
//! Retention: limits with no limit at all (no age, count or size), and `discard: new`, so that
//! JetStream never drops an entry some node may not have applied yet; should an operator set a
//! limit, appends are refused rather than old entries silently lost. Deleting single messages
//! is denied (a hole would be a lost commit); purging stays allowed for a later compaction
//! behind snapshots.

mod assemble;
mod parts;
mod reader;
mod writer;

use actors::config::ClusterConfig;
use async_nats::jetstream::stream::{self, DiscardPolicy, RetentionPolicy, StorageType};
use bytes::Bytes;

use crate::connect::{Nats, REQUEST_TIMEOUT};
use crate::error::ClusterError;

pub use reader::LogReader;
pub use writer::LogWriter;

/// One store's commit, as read back from the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its stream sequence (of its last part when it was split): the position a follower has
    /// applied up to.
    pub sequence: u64,
    /// The store it belongs to.
    pub store: String,
    /// The bytes appended.
    pub payload: Bytes,
}

/// The log of one deployment (`cluster.name`).
#[derive(Clone, Debug)]
pub struct Log {
    nats: Nats,
    stream: stream::Stream,
    /// `<name>.wal.`, followed by the store's name.
    subject_prefix: String,
}

impl Log {
    /// Creates the stream `<name>-wal` on subjects `<name>.wal.>`, or finds it, and checks
    /// that an existing one keeps everything on file with as many copies as configured.
    pub async fn open(nats: &Nats, config: &ClusterConfig) -> Result<Log, ClusterError> {
        let name = format!("{}-wal", config.name);
        let wanted = stream::Config {
            name: name.clone(),
            description: Some("every store's commits, in the order they were acknowledged".into()),
            subjects: vec![format!("{}.wal.>", config.name)],
            storage: StorageType::File,
            num_replicas: config.stream_replicas as usize,
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::New,
            max_bytes: -1,
            max_messages: -1,
            max_messages_per_subject: -1,
            max_age: std::time::Duration::ZERO,
            deny_delete: true,
            ..stream::Config::default()
        };
        let action = "create or find the log's stream";
        let mut stream =
            tokio::time::timeout(REQUEST_TIMEOUT, nats.jetstream.get_or_create_stream(wanted))
                .await
                .map_err(|_| ClusterError::TimedOut { action })?
                .map_err(|source| ClusterError::nats(action, source))?;
        let info = tokio::time::timeout(REQUEST_TIMEOUT, stream.info())
            .await
            .map_err(|_| ClusterError::TimedOut { action })?
            .map_err(|source| ClusterError::nats(action, source))?;
        check_settings(&info.config, config.stream_replicas as usize)?;
        Ok(Log {
            nats: nats.clone(),
            stream,
            subject_prefix: format!("{}.wal.", config.name),
        })
    }

    /// The sequence of the last message in the log (0 when empty): a new leader reads up to it
    /// before it serves.
    pub async fn last_sequence(&self) -> Result<u64, ClusterError> {
        let action = "read the log's last sequence";
        let info = tokio::time::timeout(REQUEST_TIMEOUT, self.stream.get_info())
            .await
            .map_err(|_| ClusterError::TimedOut { action })?
            .map_err(|source| ClusterError::nats(action, source))?;
        Ok(info.state.last_sequence)
    }

    /// Reads every entry after sequence `after`, then follows new ones as they are appended.
    pub async fn read_from(&self, after: u64) -> Result<LogReader, ClusterError> {
        LogReader::open(&self.stream, &self.subject_prefix, after).await
    }

    /// A writer for a leader that has applied the log up to `last_sequence` (a reader's
    /// [`LogReader::consumed`] once it reached [`Log::last_sequence`]). Its first append is
    /// refused if anything was appended after that.
    pub fn writer_at(&self, last_sequence: u64) -> LogWriter {
        LogWriter::new(
            self.nats.clone(),
            self.stream.clone(),
            self.subject_prefix.clone(),
            last_sequence,
        )
    }
}

/// An existing stream made by hand or by an older version must still keep every entry.
fn check_settings(found: &stream::Config, replicas: usize) -> Result<(), ClusterError> {
    crate::stream_settings::check(found, replicas, |found| {
        if found.retention != RetentionPolicy::Limits {
            Some("its retention drops entries once consumed".to_owned())
        } else if !found.max_age.is_zero() || found.max_messages > 0 || found.max_bytes > 0 {
            Some("it has an age, count or size limit".to_owned())
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safe() -> stream::Config {
        stream::Config {
            name: "evr-wal".into(),
            storage: StorageType::File,
            num_replicas: 3,
            max_messages: -1,
            max_bytes: -1,
            ..stream::Config::default()
        }
    }

    #[test]
    fn a_stream_that_could_drop_entries_is_refused() {
        assert!(check_settings(&safe(), 3).is_ok());
        let aged = stream::Config {
            max_age: std::time::Duration::from_secs(3600),
            ..safe()
        };
        assert!(check_settings(&aged, 3).is_err());
        let memory = stream::Config {
            storage: StorageType::Memory,
            ..safe()
        };
        assert!(check_settings(&memory, 3).is_err());
        assert!(check_settings(&safe(), 5).is_err());
        let work_queue = stream::Config {
            retention: RetentionPolicy::WorkQueue,
            ..safe()
        };
        assert!(check_settings(&work_queue, 3).is_err());
    }
}
