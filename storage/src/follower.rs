//! The follower's side of replication: applying batches read from the replicated log, and a
//! full copy of a store's contents to compare a follower with its leader.

use std::collections::BTreeMap;
use std::convert::Infallible;

use sled::transaction::{TransactionError, TransactionalTree};

use crate::error::{StorageError, StorageResult};
use crate::replication::{Batch, Change};
use crate::store::Store;

/// Every tree of a store that holds anything, by name, with its raw keys and values.
pub type Snapshot = BTreeMap<String, BTreeMap<Vec<u8>, Vec<u8>>>;

/// The tree sled keeps for itself in every `Db`; no table of this crate ever writes it.
const SLED_DEFAULT_TREE: &[u8] = b"__sled__default";

impl Store {
    /// Applies a batch from the replicated log, all of its changes or none, opening the trees
    /// it names. The changes are not noted for replication (they come from the log) and are
    /// not flushed here: the caller's next [`Store::commit`] or [`Store::commit_blocking`]
    /// makes them durable, so a follower can apply several batches per flush.
    pub fn apply(&self, batch: &Batch) -> StorageResult<()> {
        if batch.store != self.inner.name {
            return Err(StorageError::ForeignBatch {
                store: self.inner.name.clone(),
                batch_store: batch.store.clone(),
            });
        }
        let mut by_tree: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
        for change in &batch.changes {
            by_tree.entry(&change.tree).or_default().push(change);
        }
        if by_tree.is_empty() {
            return Ok(());
        }
        let mut trees = Vec::with_capacity(by_tree.len());
        for name in by_tree.keys() {
            trees.push(self.inner.db.open_tree(name)?);
        }
        sled::Transactional::<Infallible>::transaction(
            trees.as_slice(),
            |views: &Vec<TransactionalTree>| {
                for (changes, view) in by_tree.values().zip(views) {
                    for change in changes {
                        match &change.value {
                            Some(value) => view.insert(change.key.as_slice(), value.as_slice())?,
                            None => view.remove(change.key.as_slice())?,
                        };
                    }
                }
                Ok(())
            },
        )
        .map_err(|error| match error {
            TransactionError::Abort(never) => match never {},
            TransactionError::Storage(error) => StorageError::Engine(error),
        })?;
        if let Some(events) = by_tree.get("outbox") {
            for change in events.iter().filter(|change| change.value.is_some()) {
                self.inner.outbox.observe_applied(&change.key);
            }
        }
        self.inner.clock.tick();
        Ok(())
    }

    /// Every non-empty tree of the store with its raw contents. Walks everything: for tests and
    /// for checking that a follower matches its leader, not for serving requests.
    pub fn snapshot(&self) -> StorageResult<Snapshot> {
        let mut snapshot = Snapshot::new();
        for name in self.inner.db.tree_names() {
            if name == SLED_DEFAULT_TREE {
                continue;
            }
            let tree = self.inner.db.open_tree(&name)?;
            let mut contents = BTreeMap::new();
            for entry in tree.iter() {
                let (key, value) = entry?;
                contents.insert(key.to_vec(), value.to_vec());
            }
            if !contents.is_empty() {
                snapshot.insert(String::from_utf8_lossy(&name).into_owned(), contents);
            }
        }
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StorageConfig;

    fn open(dir: &std::path::Path, name: &str) -> Store {
        let config = StorageConfig {
            data_dir: dir.to_owned(),
            ..StorageConfig::default()
        };
        Store::open(&config, name).unwrap()
    }

    fn change(tree: &str, key: &[u8], value: Option<&[u8]>) -> Change {
        Change {
            tree: tree.into(),
            key: key.to_vec(),
            value: value.map(<[u8]>::to_vec),
        }
    }

    #[test]
    fn a_batch_lands_whole_is_flushed_by_the_next_commit_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), "service");
        let batch = Batch {
            store: "service".into(),
            changes: vec![
                change("people", b"1", Some(b"ana")),
                change("people", b"2", Some(b"bia")),
                change("by_email", b"ana@x", Some(b"1")),
                change("people", b"2", None),
            ],
        };
        let before = store.flush_stats().writes;
        store.apply(&batch).unwrap();
        assert!(store.flush_stats().writes > before, "the clock moved");
        store.commit_blocking().unwrap();
        store.close().unwrap();
        drop(store);

        let store = open(dir.path(), "service");
        let snapshot = store.snapshot().unwrap();
        assert_eq!(
            snapshot,
            Snapshot::from([
                (
                    "people".to_owned(),
                    BTreeMap::from([(b"1".to_vec(), b"ana".to_vec())])
                ),
                (
                    "by_email".to_owned(),
                    BTreeMap::from([(b"ana@x".to_vec(), b"1".to_vec())])
                ),
            ])
        );
    }

    #[test]
    fn a_batch_of_another_store_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), "billing");
        let batch = Batch {
            store: "customers".into(),
            changes: vec![change("people", b"1", Some(b"ana"))],
        };
        let refused = store.apply(&batch).unwrap_err();
        assert!(
            matches!(&refused, StorageError::ForeignBatch { store, batch_store }
                if store == "billing" && batch_store == "customers"),
            "{refused}"
        );
        assert!(store.snapshot().unwrap().is_empty());
    }

    #[test]
    fn applied_events_move_the_outbox_sequence_past_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), "service");
        let event = crate::codec::encode(&"leader's event").unwrap();
        let sequence = crate::Key::to_key_bytes(&41u64);
        store
            .apply(&Batch {
                store: "service".into(),
                changes: vec![change("outbox", &sequence, Some(&event))],
            })
            .unwrap();
        let next = store.outbox().append_alone(&"follower's event").unwrap();
        assert_eq!(next, 42);
    }
}
