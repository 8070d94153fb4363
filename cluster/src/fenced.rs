//! Publishing to a stream as its single writer, fenced by the expected last sequence. The log
//! and the key vault's bucket are both written this way by the leader.
//!
//! Every message carries `Nats-Expected-Last-Sequence` = the last sequence this writer wrote
//! or learnt, so JetStream refuses it (10071, wrong last sequence) when anyone else published
//! in between: a stale leader cannot add to a stream after its successor did. Publishes are
//! serialised by a mutex (a [`Turn`] holds it) so that the expectation is exact.
//!
//! A publish whose answer was lost (timeout, broken connection, the caller gave up) may or may
//! not be in the stream. Its message id is remembered, and the next turn first looks at the
//! sequence it would have taken: ours, and the writer moves past it; someone else's, and the
//! writer is fenced; nothing, and the writer goes on from where it was.

use std::time::{SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::stream::{self, LastRawMessageErrorKind};
use bytes::Bytes;
use tokio::sync::{Mutex, MutexGuard};

use crate::connect::{Nats, REQUEST_TIMEOUT};
use crate::error::AppendError;

const EXPECTED_LAST_SEQUENCE: &str = "Nats-Expected-Last-Sequence";
const MESSAGE_ID: &str = "Nats-Msg-Id";

/// The single writer of one stream. `Send + Sync`: a store's committer thread and the key
/// vault's blocking threads call it through a runtime handle's `block_on`.
pub(crate) struct Fenced {
    nats: Nats,
    stream: stream::Stream,
    /// Unique to this writer, so that a message id names one publish of one writer.
    id_prefix: String,
    state: Mutex<State>,
}

impl std::fmt::Debug for Fenced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fenced")
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

/// The writer's mutex, held across one or more publishes that must follow each other.
pub(crate) struct Turn<'a> {
    fenced: &'a Fenced,
    state: MutexGuard<'a, State>,
}

impl Fenced {
    /// A writer that has read `stream` up to `last` (its last sequence then): its first publish
    /// is refused if anything was published after that.
    pub(crate) fn new(nats: Nats, stream: stream::Stream, last: u64) -> Fenced {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        Fenced {
            id_prefix: format!("{}-{started:x}", nats.node_id),
            nats,
            stream,
            state: Mutex::new(State {
                last,
                published: 0,
                unresolved: None,
            }),
        }
    }

    pub(crate) fn nats(&self) -> &Nats {
        &self.nats
    }

    /// The sequence of the last message this writer wrote or learnt.
    pub(crate) async fn last_sequence(&self) -> u64 {
        self.state.lock().await.last
    }

    /// Waits for the writer, then settles a publish whose answer was lost.
    pub(crate) async fn turn(&self) -> Result<Turn<'_>, AppendError> {
        let mut turn = Turn {
            fenced: self,
            state: self.state.lock().await,
        };
        turn.resolve().await?;
        Ok(turn)
    }
}

impl Turn<'_> {
    /// The sequence of the last message the writer wrote or learnt.
    pub(crate) fn last(&self) -> u64 {
        self.state.last
    }

    /// Publishes `payload` on `subject` with `headers` (to which the fencing headers are added)
    /// and returns its sequence once JetStream has stored it on a quorum of its replicas.
    pub(crate) async fn publish(
        &mut self,
        subject: &str,
        mut headers: HeaderMap,
        payload: Bytes,
    ) -> Result<u64, AppendError> {
        let state = &mut *self.state;
        state.published += 1;
        let id = format!("{}-{}", self.fenced.id_prefix, state.published);
        headers.insert(EXPECTED_LAST_SEQUENCE, state.last.to_string().as_str());
        headers.insert(MESSAGE_ID, id.as_str());
        let expected = state.last;
        let sent = self
            .fenced
            .nats
            .jetstream
            .publish_with_headers(subject.to_owned(), headers, payload)
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
    async fn resolve(&mut self) -> Result<(), AppendError> {
        let state = &mut *self.state;
        let Some((sequence, id)) = state.unresolved.clone() else {
            return Ok(());
        };
        let found = tokio::time::timeout(
            REQUEST_TIMEOUT,
            self.fenced.stream.get_raw_message(sequence),
        )
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

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn a_writer_can_be_shared_with_blocking_threads() {
        assert_send_sync::<Fenced>();
    }
}
