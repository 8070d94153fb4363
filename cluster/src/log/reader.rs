//! Following the log: an ordered consumer from a given sequence, its messages joined into
//! entries.
//!
//! The ordered consumer is ephemeral and kept in memory on one server; the client recreates it
//! from the last sequence it delivered when that server goes or a gap or missed heartbeat shows,
//! so a reader survives the loss of a server. Waiting for the next entry has no end by design
//! (a follower waits for the leader's next commit); the consumer's heartbeats detect a dead
//! connection.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use async_nats::jetstream::stream;
use futures_util::Stream;

use super::Entry;
use super::assemble::Assembler;
use super::parts::Part;
use crate::connect::REQUEST_TIMEOUT;
use crate::error::ClusterError;

/// The entries of the log after a sequence, in order, then new ones as they come.
pub struct LogReader {
    messages: Pin<Box<pull::Ordered>>,
    subject_prefix: String,
    assembler: Assembler,
    consumed: u64,
}

impl std::fmt::Debug for LogReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogReader")
            .field("consumed", &self.consumed)
            .finish_non_exhaustive()
    }
}

impl LogReader {
    pub(super) async fn open(
        stream: &stream::Stream,
        subject_prefix: &str,
        after: u64,
    ) -> Result<LogReader, ClusterError> {
        let action = "open a reader of the log";
        let config = pull::OrderedConfig {
            filter_subject: format!("{subject_prefix}>"),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: after + 1,
            },
            ..pull::OrderedConfig::default()
        };
        let consumer = tokio::time::timeout(REQUEST_TIMEOUT, stream.create_consumer(config))
            .await
            .map_err(|_| ClusterError::TimedOut { action })?
            .map_err(|source| ClusterError::nats(action, source))?;
        let messages = tokio::time::timeout(REQUEST_TIMEOUT, consumer.messages())
            .await
            .map_err(|_| ClusterError::TimedOut { action })?
            .map_err(|source| ClusterError::nats(action, source))?;
        Ok(LogReader {
            messages: Box::pin(messages),
            subject_prefix: subject_prefix.to_owned(),
            assembler: Assembler::default(),
            consumed: after,
        })
    }

    /// The sequence of the last message read, part or whole. Once it reaches the log's last
    /// sequence the reader has caught up, even when the log ends with the parts of an entry
    /// whose writer stopped mid-way (those are never yielded).
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// How many incomplete groups of parts were dropped so far.
    pub fn discarded(&self) -> u64 {
        self.assembler.discarded()
    }

    fn take(
        &mut self,
        message: async_nats::jetstream::Message,
    ) -> Result<Option<Entry>, ClusterError> {
        let sequence = message
            .info()
            .map_err(|source| ClusterError::nats("read a log message's sequence", source))?
            .stream_sequence;
        self.consumed = sequence;
        let store = message
            .subject
            .as_str()
            .strip_prefix(&self.subject_prefix)
            .filter(|store| !store.contains('.'))
            .ok_or(ClusterError::Malformed {
                sequence,
                reason: "a subject naming no store",
            })?
            .to_owned();
        let part = Part::read(sequence, message.headers.as_ref())?;
        Ok(self
            .assembler
            .push(sequence, &store, part, message.payload.clone()))
    }
}

impl Stream for LogReader {
    type Item = Result<Entry, ClusterError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let message = match self.messages.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(source))) => {
                    return Poll::Ready(Some(Err(ClusterError::nats("read the log", source))));
                }
                Poll::Ready(Some(Ok(message))) => message,
            };
            match self.take(message) {
                Ok(None) => continue,
                Ok(Some(entry)) => return Poll::Ready(Some(Ok(entry))),
                Err(error) => return Poll::Ready(Some(Err(error))),
            }
        }
    }
}
