//! Replication hooks: what a store hands to a replicated log before it acknowledges a durable
//! commit, and the types a follower applies from that log.
//!
//! The log is state-based: a batch carries the value each written key has when the committer
//! reads it after its flush, not the operations that produced it. Two writes to one key racing a
//! flush therefore converge on whatever the store holds, and applying the batches in log order
//! to an empty store rebuilds the leader's contents. The transport (NATS JetStream in cluster
//! mode) lives behind [`Replicator`]; this crate knows nothing of it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::codec::{self, FORMAT_V1};
use crate::error::{StorageError, StorageResult};

/// One key's state after a flush: its value, or None when it was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The sled tree (table, index or outbox) holding the key.
    pub tree: String,
    /// The raw key bytes.
    pub key: Vec<u8>,
    /// The raw value bytes, or None when the key no longer exists.
    pub value: Option<Vec<u8>>,
}

/// What one flush of one store changed, in the order the log must apply it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// The store's name: a follower refuses a batch meant for another store.
    pub store: String,
    /// Every key written since the previous batch, each once, with its current state.
    pub changes: Vec<Change>,
}

impl Batch {
    /// The batch as log bytes: the codec's format byte, then bincode 2's standard encoding of
    /// the batch through serde, the same layout [`codec::encode`] produces.
    ///
    /// Written by hand rather than through bincode so that encoding cannot fail (every field is
    /// a string, bytes or an option of bytes); the tests check the bytes against bincode's own.
    pub fn encode(&self) -> Vec<u8> {
        let size = self.store.len()
            + self
                .changes
                .iter()
                .map(|change| {
                    change.tree.len() + change.key.len() + change.value.as_ref().map_or(0, Vec::len)
                })
                .sum::<usize>()
            + 16 * (self.changes.len() + 1);
        let mut out = Vec::with_capacity(size);
        out.push(FORMAT_V1);
        put_bytes(&mut out, self.store.as_bytes());
        put_length(&mut out, self.changes.len());
        for change in &self.changes {
            put_bytes(&mut out, change.tree.as_bytes());
            put_bytes(&mut out, &change.key);
            match &change.value {
                None => out.push(0),
                Some(value) => {
                    out.push(1);
                    put_bytes(&mut out, value);
                }
            }
        }
        out
    }

    /// Reads bytes written by [`Batch::encode`]; anything else is a [`StorageError::Batch`].
    pub fn decode(bytes: &[u8]) -> StorageResult<Batch> {
        codec::decode(bytes).map_err(|source| StorageError::Batch { source })
    }

    /// Whether the batch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// bincode's variable-length integer (its `standard()` configuration): one byte below 251,
/// otherwise a marker byte and the little-endian integer of the smallest width that holds it.
fn put_length(out: &mut Vec<u8>, length: usize) {
    let length = length as u64;
    if length < 251 {
        out.push(length as u8);
    } else if let Ok(short) = u16::try_from(length) {
        out.push(251);
        out.extend_from_slice(&short.to_le_bytes());
    } else if let Ok(word) = u32::try_from(length) {
        out.push(252);
        out.extend_from_slice(&word.to_le_bytes());
    } else {
        out.push(253);
        out.extend_from_slice(&length.to_le_bytes());
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_length(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// The replicated log as the store's committer sees it.
pub trait Replicator: Send + Sync + 'static {
    /// Blocks until the replicated log holds `batch`, or fails. Called only from the store's
    /// committer thread, one batch at a time, in order.
    ///
    /// It must return within a bounded time (a network wait with a timeout, reported as
    /// [`ReplicationError::Unavailable`]): every durable commit of the store waits behind it.
    fn replicate(&self, batch: &Batch) -> Result<(), ReplicationError>;
}

/// Why the replicated log did not take a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicationError {
    /// Another writer owns the log now (this node was deposed): nothing may be acknowledged any
    /// more.
    #[error("the replicated log refused the write: {reason}")]
    Fenced {
        /// What the log answered.
        reason: String,
    },
    /// The log could not be reached or did not answer in time; the batch may be retried.
    #[error("the replicated log is unavailable: {reason}")]
    Unavailable {
        /// What went wrong.
        reason: String,
    },
}

/// The replicator a store hands its batches to, if any; carried in
/// [`StorageConfig`](crate::StorageConfig) so that every store of a system, opened from the same
/// configuration, replicates through the same log. Empty by default (single-node mode).
#[derive(Clone, Default)]
pub struct ReplicatorSlot(pub Option<Arc<dyn Replicator>>);

impl ReplicatorSlot {
    /// A slot holding `replicator`.
    pub fn new(replicator: Arc<dyn Replicator>) -> Self {
        ReplicatorSlot(Some(replicator))
    }

    /// The replicator, if one is set.
    pub fn get(&self) -> Option<&Arc<dyn Replicator>> {
        self.0.as_ref()
    }

    /// Whether a replicator is set.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }
}

impl std::fmt::Debug for ReplicatorSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_set() {
            "ReplicatorSlot(set)"
        } else {
            "ReplicatorSlot(unset)"
        })
    }
}

/// Two slots are equal when both are empty or both hold the very same replicator.
impl PartialEq for ReplicatorSlot {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(mine), Some(theirs)) => Arc::ptr_eq(mine, theirs),
            _ => false,
        }
    }
}

impl Eq for ReplicatorSlot {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct Nothing;
    impl Replicator for Nothing {
        fn replicate(&self, _batch: &Batch) -> Result<(), ReplicationError> {
            Ok(())
        }
    }

    fn change() -> impl Strategy<Value = Change> {
        (
            "[a-z_]{0,12}",
            prop::collection::vec(any::<u8>(), 0..40),
            prop::option::of(prop::collection::vec(any::<u8>(), 0..400)),
        )
            .prop_map(|(tree, key, value)| Change { tree, key, value })
    }

    proptest! {
        #[test]
        fn encoding_is_bincodes_own_and_round_trips(
            store in ".{0,8}",
            changes in prop::collection::vec(change(), 0..300),
        ) {
            let batch = Batch { store, changes };
            let bytes = batch.encode();
            prop_assert_eq!(&bytes, &codec::encode(&batch).unwrap());
            prop_assert_eq!(Batch::decode(&bytes).unwrap(), batch);
        }
    }

    #[test]
    fn long_values_use_the_wide_length_forms() {
        for length in [250usize, 251, 65_535, 65_536] {
            let batch = Batch {
                store: "s".into(),
                changes: vec![Change {
                    tree: "t".into(),
                    key: vec![7; 3],
                    value: Some(vec![1; length]),
                }],
            };
            assert_eq!(batch.encode(), codec::encode(&batch).unwrap(), "{length}");
        }
    }

    #[test]
    fn garbage_is_a_typed_error() {
        assert!(matches!(
            Batch::decode(&[FORMAT_V1, 3, b'a']),
            Err(StorageError::Batch { .. })
        ));
        assert!(matches!(
            Batch::decode(&[]),
            Err(StorageError::Batch { .. })
        ));
    }

    #[test]
    fn slots_compare_by_identity_and_print_whether_set() {
        let one: Arc<dyn Replicator> = Arc::new(Nothing);
        let other: Arc<dyn Replicator> = Arc::new(Nothing);
        assert_eq!(ReplicatorSlot::default(), ReplicatorSlot(None));
        assert_eq!(
            ReplicatorSlot::new(one.clone()),
            ReplicatorSlot::new(one.clone())
        );
        assert_ne!(ReplicatorSlot::new(one.clone()), ReplicatorSlot::new(other));
        assert_ne!(ReplicatorSlot::new(one.clone()), ReplicatorSlot::default());
        assert_eq!(
            format!("{:?}", ReplicatorSlot::new(one)),
            "ReplicatorSlot(set)"
        );
        assert_eq!(
            format!("{:?}", ReplicatorSlot::default()),
            "ReplicatorSlot(unset)"
        );
    }
}
