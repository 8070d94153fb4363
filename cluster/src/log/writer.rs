//! Appending to the log, fenced by the expected last sequence.
//!
//! Every message carries `Nats-Expected-Last-Sequence` = the last sequence this writer wrote
//! or learnt, so JetStream refuses it (10071, wrong last sequence) when anyone else appended
//! in between: a stale leader cannot add to the log after its successor did. Appends are
//! serialised by a mutex so that the expectation is exact.
//!
//! An append whose answer was lost (timeout, broken connection, the caller gave up) may or may
//! not be in the log. Its message id is remembered, and the next append first looks at the
//! sequence it would have taken: ours, and the writer moves past it; someone else's, and the
//! writer is fenced; nothing, and the writer goes on from where it was.

use std::time::{SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::stream::{self, LastRawMessageErrorKind};
use tokio::sync::Mutex;

use actors::config::is_token;

use super::parts::{Part, part_size};
use crate::connect::{Nats, REQUEST_TIMEOUT};
use crate::error::AppendError;

const EXPECTED_LAST_SEQUENCE: &str = "Nats-Expected-Last-Sequence";
const MESSAGE_ID: &str = "Nats-Msg-Id";

/// The single writer of the log on the leader. `Send + Sync`: a store's committer thread
/// calls it through a runtime handle's `block_on`.
pub struct LogWriter {
    nats: Nats,
    stream: stream::Stream,
    subject_prefix: String,
    /// Unique to this writer, so that a message id names one publish of one writer.
    id_prefix: String,
    state: Mutex<State>,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogWriter")
            .field("id_prefix", &self.id_prefix)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct State {
    last: u64,
    published: u64,
    /// A publish whose outcome is not known: the sequence it would have and its message id.
    unresolved: Option<(u64, String)>,
}

impl LogWriter {
    pub(super) fn new(
        nats: Nats,
        stream: stream::Stream,
        subject_prefix: String,
        last: u64,
    ) -> LogWriter {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        LogWriter {
            id_prefix: format!("{}-{started:x}", nats.node_id),
            nats,
            stream,
            subject_prefix,
            state: Mutex::new(State {
                last,
                published: 0,
                unresolved: None,
            }),
        }
    }

    /// The sequence of the last message this writer wrote or learnt.
    pub async fn last_sequence(&self) -> u64 {
        self.state.lock().await.last
    }

    /// Appends one commit of `store` and returns its sequence once JetStream has stored it on
    /// a quorum of its replicas. Only then may the commit be acknowledged.
    pub async fn append(&self, store: &str, payload: &[u8]) -> Result<u64, AppendError> {
        if !is_token(store) {
            return Err(AppendError::InvalidStore {
                store: store.to_owned(),
            });
        }
        let subject = format!("{}{store}", self.subject_prefix);
        let mut state = self.state.lock().await;
        self.resolve(&mut state).await?;
        let size = part_size(self.nats.max_payload());
        if payload.len() <= size {
            return self.publish(&mut state, &subject, None, payload).await;
        }
        let chunks: Vec<&[u8]> = payload.chunks(size).collect();
        let count = u32::try_from(chunks.len()).map_err(|source| AppendError::Unavailable {
            source: source.into(),
        })?;
        let group = state.last + 1;
        let mut sequence = state.last;
        for (index, chunk) in (0..count).zip(chunks) {
            let part = Part {
                group,
                index,
                count,
            };
            sequence = self
                .publish(&mut state, &subject, Some(part), chunk)
                .await?;
        }
        Ok(sequence)
    }

    async fn publish(
        &self,
        state: &mut State,
        subject: &str,
        part: Option<Part>,
        payload: &[u8],
    ) -> Result<u64, AppendError> {
        state.published += 1;
        let id = format!("{}-{}", self.id_prefix, state.published);
        let mut headers = HeaderMap::new();
        headers.insert(EXPECTED_LAST_SEQUENCE, state.last.to_string().as_str());
        headers.insert(MESSAGE_ID, id.as_str());
        if let Some(part) = part {
            part.write(&mut headers);
        }
        let expected = state.last;
        let sent = self
            .nats
            .jetstream
            .publish_with_headers(
                subject.to_owned(),
                headers,
                bytes::Bytes::copy_from_slice(payload),
            )
            .await
            .map_err(|source| AppendError::Unavailable {
                source: source.into(),
            })?;
        // From here the message may be stored whatever happens to this call.
        state.unresolved = Some((expected + 1, id));
        let acked = tokio::time::timeout(REQUEST_TIMEOUT, sent)
            .await
            .map_err(|elapsed| AppendError::Unavailable {
                source: elapsed.into(),
            })?;
        match acked {
            Ok(ack) => {
                state.unresolved = None;
                state.last = ack.sequence;
                Ok(ack.sequence)
            }
            Err(error) if error.kind() == PublishErrorKind::WrongLastSequence => {
                state.unresolved = None;
                Err(AppendError::Fenced {
                    expected,
                    source: Some(error.into()),
                })
            }
            Err(error) => Err(AppendError::Unavailable {
                source: error.into(),
            }),
        }
    }

    /// Settles a publish whose answer was lost, by looking at the sequence it would have.
    async fn resolve(&self, state: &mut State) -> Result<(), AppendError> {
        let Some((sequence, id)) = state.unresolved.clone() else {
            return Ok(());
        };
        let found = tokio::time::timeout(REQUEST_TIMEOUT, self.stream.get_raw_message(sequence))
            .await
            .map_err(|elapsed| AppendError::Unavailable {
                source: elapsed.into(),
            })?;
        match found {
            Ok(message) => {
                let ours = message
                    .headers
                    .get(MESSAGE_ID)
                    .is_some_and(|value| value.as_str() == id);
                if !ours {
                    return Err(AppendError::Fenced {
                        expected: state.last,
                        source: None,
                    });
                }
                state.last = sequence;
            }
            Err(error) if matches!(error.kind(), LastRawMessageErrorKind::NoMessageFound) => {}
            Err(error) => {
                return Err(AppendError::Unavailable {
                    source: error.into(),
                });
            }
        }
        state.unresolved = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_name_is_one_subject_token() {
        assert!(is_token("rentals"));
        assert!(is_token("car_events-2"));
        for bad in ["", "a.b", "a b", "*", ">", "ü"] {
            assert!(!is_token(bad), "{bad:?}");
        }
    }

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn a_writer_can_be_shared_with_a_committer_thread() {
        assert_send_sync::<LogWriter>();
    }
}
