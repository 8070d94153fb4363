//! A follower's stores: the leader's log applied to them in order, and the sequence applied so
//! far, kept beside them.
//!
//! The log is state-based (each entry holds the values its keys had after a flush), so applying
//! an entry twice in order is harmless: the applied sequence is saved after the stores are
//! flushed, and a crash between the two only replays a few entries.

use std::path::{Path, PathBuf};

use actors::system::{SERVICES, Stores};
use cluster::Entry;
use storage::{Batch, StorageError};

/// The log's entries that are not a store's batch: a new leader's first append, which fences
/// off any writer still appending from an older position.
pub const FENCE: &str = "_fence";

/// Why a follower could not apply the log.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// An entry could not be decoded or applied, or the stores could not flush.
    #[error("log entry {sequence} for store {store:?} could not be applied")]
    Apply {
        /// The entry's sequence.
        sequence: u64,
        /// Its store.
        store: String,
        /// What failed.
        #[source]
        source: StorageError,
    },
    /// The stores failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The key vault file could not be wiped.
    #[error("the customers' key vault could not be wiped")]
    Vault(#[from] actors::customers::VaultError),
    /// The applied sequence or the leader mark could not be read or written.
    #[error("cannot read or write {path}")]
    File {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

/// The files a node keeps beside its stores in cluster mode.
#[derive(Debug, Clone)]
pub struct NodeFiles {
    dir: PathBuf,
    data_dir: PathBuf,
}

impl NodeFiles {
    /// The files under `data_dir/cluster`.
    pub fn new(data_dir: &Path) -> Self {
        NodeFiles {
            dir: data_dir.join("cluster"),
            data_dir: data_dir.to_owned(),
        }
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FollowError + '_ {
        move |source| FollowError::File {
            path: path.to_owned(),
            source,
        }
    }

    fn applied_path(&self) -> PathBuf {
        self.dir.join("applied")
    }

    fn led_path(&self) -> PathBuf {
        self.dir.join("led")
    }

    /// The last sequence applied to the stores (0: none).
    pub fn applied(&self) -> Result<u64, FollowError> {
        let path = self.applied_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(text.trim().parse().unwrap_or(0)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(error) => Err(Self::io(&path)(error)),
        }
    }

    /// Records `sequence` as applied (after the stores were flushed).
    pub fn set_applied(&self, sequence: u64) -> Result<(), FollowError> {
        let path = self.applied_path();
        std::fs::create_dir_all(&self.dir).map_err(Self::io(&self.dir))?;
        let temporary = self.dir.join("applied.new");
        std::fs::write(&temporary, sequence.to_string()).map_err(Self::io(&temporary))?;
        std::fs::rename(&temporary, &path).map_err(Self::io(&path))
    }

    /// Marks the stores as written by this node as leader. A leader's stores may hold a flush
    /// the log never took (the process died between the two), so a node that led starts its
    /// next life from an empty data directory and the log.
    pub fn mark_led(&self) -> Result<(), FollowError> {
        std::fs::create_dir_all(&self.dir).map_err(Self::io(&self.dir))?;
        let path = self.led_path();
        std::fs::write(&path, b"").map_err(Self::io(&path))
    }

    /// Before following: if this node led, its stores are dropped so that the log rebuilds
    /// them, and its key vault is zeroed in place: a follower's file is not kept current, so a
    /// key erased by a later leader would otherwise outlive the erasure here. The next takeover
    /// restores the vault from its bucket. Answers whether they were.
    pub fn forget_if_led(&self) -> Result<bool, FollowError> {
        if !self.led_path().exists() {
            return Ok(false);
        }
        actors::customers::restore_vault(&self.data_dir, &[])?;
        for service in SERVICES {
            let path = self.data_dir.join(service);
            match std::fs::remove_dir_all(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(Self::io(&path)(error)),
            }
        }
        let applied = self.applied_path();
        match std::fs::remove_file(&applied) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(Self::io(&applied)(error)),
        }
        let led = self.led_path();
        std::fs::remove_file(&led).map_err(Self::io(&led))?;
        Ok(true)
    }
}

/// Applies one entry to its store (without flushing). Entries of stores this version does not
/// have, and fences, are skipped.
pub fn apply(stores: &Stores, entry: &Entry) -> Result<(), FollowError> {
    if entry.store == FENCE {
        return Ok(());
    }
    let Some(store) = stores.get(&entry.store) else {
        tracing::warn!(store = %entry.store, sequence = entry.sequence, "a log entry for an unknown store was skipped");
        return Ok(());
    };
    let failed = |source| FollowError::Apply {
        sequence: entry.sequence,
        store: entry.store.clone(),
        source,
    };
    let batch = Batch::decode(&entry.payload).map_err(failed)?;
    store.apply(&batch).map_err(failed)
}

/// Flushes every store, then records `sequence` as applied.
pub async fn checkpoint(
    stores: &Stores,
    files: &NodeFiles,
    sequence: u64,
) -> Result<(), FollowError> {
    for store in stores.all() {
        store.commit().await?;
    }
    files.set_applied(sequence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_applied_sequence_survives_and_a_node_that_led_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let files = NodeFiles::new(dir.path());
        assert_eq!(files.applied().unwrap(), 0);
        files.set_applied(42).unwrap();
        assert_eq!(NodeFiles::new(dir.path()).applied().unwrap(), 42);
        assert!(!files.forget_if_led().unwrap());
        std::fs::create_dir_all(dir.path().join("reservations")).unwrap();
        let vault = dir.path().join("customer_keys");
        std::fs::write(&vault, [7u8; 256]).unwrap();
        files.mark_led().unwrap();
        assert!(files.forget_if_led().unwrap());
        assert!(!dir.path().join("reservations").exists());
        let wiped = std::fs::read(&vault).unwrap();
        assert_eq!(wiped.len(), 256, "zeroed in place, not truncated");
        assert!(wiped.iter().all(|byte| *byte == 0));
        assert_eq!(files.applied().unwrap(), 0);
        assert!(!files.forget_if_led().unwrap());
    }
}
