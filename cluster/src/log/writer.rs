//! Appending to the log, fenced by the expected last sequence (see `crate::fenced`): a stale
//! leader cannot add to the log after its successor did.

use async_nats::HeaderMap;
use async_nats::jetstream::stream;

use actors::config::is_token;

use super::parts::{Part, part_size};
use crate::connect::Nats;
use crate::error::AppendError;
use crate::fenced::{Fenced, Turn};

/// The single writer of the log on the leader. `Send + Sync`: a store's committer thread
/// calls it through a runtime handle's `block_on`.
#[derive(Debug)]
pub struct LogWriter {
    fenced: Fenced,
    subject_prefix: String,
}

impl LogWriter {
    pub(super) fn new(
        nats: Nats,
        stream: stream::Stream,
        subject_prefix: String,
        last: u64,
    ) -> LogWriter {
        LogWriter {
            fenced: Fenced::new(nats, stream, last),
            subject_prefix,
        }
    }

    /// The sequence of the last message this writer wrote or learnt.
    pub async fn last_sequence(&self) -> u64 {
        self.fenced.last_sequence().await
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
        // One turn for every part: nothing of this writer comes between them.
        let mut turn = self.fenced.turn().await?;
        let size = part_size(self.fenced.nats().max_payload());
        if payload.len() <= size {
            return publish(&mut turn, &subject, None, payload).await;
        }
        let chunks: Vec<&[u8]> = payload.chunks(size).collect();
        let count = u32::try_from(chunks.len()).map_err(|source| AppendError::Unavailable {
            source: source.into(),
        })?;
        let group = turn.last() + 1;
        let mut sequence = turn.last();
        for (index, chunk) in (0..count).zip(chunks) {
            let part = Part {
                group,
                index,
                count,
            };
            sequence = publish(&mut turn, &subject, Some(part), chunk).await?;
        }
        Ok(sequence)
    }
}

async fn publish(
    turn: &mut Turn<'_>,
    subject: &str,
    part: Option<Part>,
    payload: &[u8],
) -> Result<u64, AppendError> {
    let mut headers = HeaderMap::new();
    if let Some(part) = part {
        part.write(&mut headers);
    }
    turn.publish(subject, headers, bytes::Bytes::copy_from_slice(payload))
        .await
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
