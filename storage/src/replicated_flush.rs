//! The replication step of a replicated store's flush, run by its committer thread after the
//! sled flush and before the durable mark advances.
//!
//! The values shipped are read after the flush, in one sled transaction over every tree
//! involved: sled runs a transaction's body under its global write lock, so a multi-tree
//! transaction of the service is seen whole or not at all, and a key written twice ships its
//! latest value once.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, OnceLock};

use sled::transaction::{TransactionError, TransactionalTree};

use crate::error::StorageError;
use crate::journal::{DirtyKeys, Journal};
use crate::replication::{Batch, Change, ReplicationError, Replicator};

/// Why a flush did not make its writes durable (and, for a replicated store, replicated).
#[derive(Debug, Clone)]
pub(crate) enum FlushError {
    Engine(sled::Error),
    Replication(ReplicationError),
}

impl FlushError {
    pub(crate) fn to_storage(&self, store: &str) -> StorageError {
        match self {
            FlushError::Engine(error) => StorageError::Engine(error.clone()),
            FlushError::Replication(error) => StorageError::Replication {
                store: store.to_owned(),
                source: error.clone(),
            },
        }
    }
}

/// What a replicated store's committer keeps to build and ship batches.
pub(crate) struct ReplicatedFlush {
    store: String,
    db: sled::Db,
    replicator: Arc<dyn Replicator>,
    /// Trees already opened by name, so a flush does not go through sled's tree registry for
    /// every dirty tree every time.
    trees: HashMap<Arc<str>, sled::Tree>,
    fenced: Arc<OnceLock<ReplicationError>>,
}

impl ReplicatedFlush {
    pub(crate) fn new(
        store: &str,
        db: sled::Db,
        replicator: Arc<dyn Replicator>,
        fenced: Arc<OnceLock<ReplicationError>>,
    ) -> Self {
        ReplicatedFlush {
            store: store.to_owned(),
            db,
            replicator,
            trees: HashMap::new(),
            fenced,
        }
    }

    /// Ships the current state of the `dirty` keys. On failure the keys go back into `journal`
    /// so that the next flush ships them again; a fenced store keeps its fence for good.
    pub(crate) fn replicate(
        &mut self,
        journal: &Journal,
        dirty: DirtyKeys,
    ) -> Result<(), FlushError> {
        if dirty.is_empty() {
            return Ok(());
        }
        let batch = match self.read(&dirty) {
            Ok(batch) => batch,
            Err(error) => {
                journal.restore(dirty);
                return Err(FlushError::Engine(error));
            }
        };
        match self.replicator.replicate(&batch) {
            Ok(()) => Ok(()),
            Err(error @ ReplicationError::Unavailable { .. }) => {
                tracing::warn!(store = %self.store, %error, keys = batch.changes.len(),
                    "replication failed; its keys are retried with the next flush");
                journal.restore(dirty);
                Err(FlushError::Replication(error))
            }
            Err(error @ ReplicationError::Fenced { .. }) => {
                tracing::error!(store = %self.store, %error,
                    "the replicated log fenced this store off: no commit is acknowledged any more");
                let _ = self.fenced.set(error.clone());
                Err(FlushError::Replication(error))
            }
        }
    }

    fn read(&mut self, dirty: &DirtyKeys) -> Result<Batch, sled::Error> {
        let mut trees = Vec::with_capacity(dirty.len());
        for name in dirty.keys() {
            trees.push(self.tree(name)?);
        }
        let changes = sled::Transactional::<Infallible>::transaction(
            trees.as_slice(),
            |views: &Vec<TransactionalTree>| {
                let mut changes = Vec::new();
                for ((name, keys), view) in dirty.iter().zip(views) {
                    for key in keys {
                        changes.push(Change {
                            tree: name.to_string(),
                            key: key.clone(),
                            value: view.get(key)?.map(|value| value.to_vec()),
                        });
                    }
                }
                Ok(changes)
            },
        )
        .map_err(|error| match error {
            TransactionError::Abort(never) => match never {},
            TransactionError::Storage(error) => error,
        })?;
        Ok(Batch {
            store: self.store.clone(),
            changes,
        })
    }

    fn tree(&mut self, name: &Arc<str>) -> Result<sled::Tree, sled::Error> {
        if let Some(tree) = self.trees.get(name) {
            return Ok(tree.clone());
        }
        let tree = self.db.open_tree(name.as_bytes())?;
        self.trees.insert(name.clone(), tree.clone());
        Ok(tree)
    }
}
