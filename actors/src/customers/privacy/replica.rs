//! The key vault's copy outside this node, in cluster mode.
//!
//! The stores reach a new leader through the replicated log, but the log keeps every entry and
//! denies deletes: a customer key written there could never be destroyed. The vault's slots
//! therefore go to a replica of their own ([`VaultReplica`], a JetStream key-value bucket in
//! the `cluster` crate) that can erase one slot for good, and a node that takes over makes its
//! vault file equal to the replica ([`restore_vault`]) before its services start.

use std::path::Path;
use std::sync::Arc;

use super::key_vault::{SLOT_BYTES, write_slot};
use super::{VAULT_FILE, VaultError};

/// One slot as the vault writes it: already wrapped by the data key.
pub type SlotBytes = [u8; SLOT_BYTES];

/// Why the replica did not confirm a write or a read.
#[derive(Debug, thiserror::Error)]
pub enum VaultReplicaError {
    /// The replica did not answer in time: the write may or may not have happened.
    #[error("the key vault's replica did not answer within {timeout_ms} ms")]
    TimedOut {
        /// How long was waited.
        timeout_ms: u64,
    },
    /// The replica refused or failed.
    #[error("the key vault's replica failed to {action}")]
    Failed {
        /// What was being done.
        action: &'static str,
        /// The replica's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// This node no longer leads: another node's vault is the one written now.
    #[error("this node no longer leads; the key vault's replica is not written")]
    NotLeader,
}

/// Where the vault's slots are kept beside the local file. Blocking: the vault calls it from
/// its blocking writes (`privacy::blocking`), never from an async worker.
pub trait VaultReplica: Send + Sync + 'static {
    /// Stores `bytes` as slot `slot`, durably when it returns `Ok`.
    fn put(&self, slot: u64, bytes: &SlotBytes) -> Result<(), VaultReplicaError>;
    /// Removes every stored copy of slot `slot`; a slot not stored is no error.
    fn erase(&self, slot: u64) -> Result<(), VaultReplicaError>;
    /// Every stored slot.
    fn all(&self) -> Result<Vec<(u64, SlotBytes)>, VaultReplicaError>;
}

/// The replica a system's vault writes through, if any; carried in the configuration
/// (`auth.vault_replica`, never read from a file) like the stores' replicator, so that every
/// way a system starts passes it without a new argument. Empty in single-node mode.
#[derive(Clone, Default)]
pub struct VaultReplicaSlot(pub Option<Arc<dyn VaultReplica>>);

impl VaultReplicaSlot {
    /// A slot holding `replica`.
    pub fn new(replica: Arc<dyn VaultReplica>) -> Self {
        VaultReplicaSlot(Some(replica))
    }

    /// The replica, if one is set.
    pub fn get(&self) -> Option<&Arc<dyn VaultReplica>> {
        self.0.as_ref()
    }
}

impl std::fmt::Debug for VaultReplicaSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "VaultReplicaSlot(set)"
        } else {
            "VaultReplicaSlot(unset)"
        })
    }
}

/// Two slots are equal when both are empty or both hold the very same replica.
impl PartialEq for VaultReplicaSlot {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(mine), Some(theirs)) => Arc::ptr_eq(mine, theirs),
            _ => false,
        }
    }
}

impl Eq for VaultReplicaSlot {}

/// What [`restore_vault`] changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Restored {
    /// Slots written from the replica.
    pub written: usize,
    /// Local slots the replica does not hold, zeroed.
    pub zeroed: usize,
}

/// Makes the vault file in `data_dir` hold exactly `slots`: each written at its index, every
/// other slot of the file overwritten with zeros in place, then `fdatasync`. Zeroing rather than
/// truncating or replacing the file keeps the vault's rule that a key leaves the disk only by
/// being overwritten where it was. Blocking; run before the customers service opens the vault.
pub fn restore_vault(data_dir: &Path, slots: &[(u64, SlotBytes)]) -> Result<Restored, VaultError> {
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join(VAULT_FILE);
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&path)?;
    let content = std::fs::read(&path)?;
    let wanted: std::collections::HashMap<u64, &SlotBytes> =
        slots.iter().map(|(index, bytes)| (*index, bytes)).collect();
    let mut restored = Restored::default();
    let empty = [0u8; SLOT_BYTES];
    for (index, chunk) in content.chunks(SLOT_BYTES).enumerate() {
        let index = index as u64;
        if wanted.contains_key(&index) || chunk.iter().all(|byte| *byte == 0) {
            continue;
        }
        write_slot(&file, index, &empty, false)?;
        restored.zeroed += 1;
    }
    for (index, bytes) in &wanted {
        let at = *index as usize * SLOT_BYTES;
        if content.get(at..at + SLOT_BYTES) == Some(&bytes[..]) {
            continue;
        }
        write_slot(&file, *index, bytes, false)?;
        restored.written += 1;
    }
    file.sync_data()?;
    Ok(restored)
}
