//! The key vault: every customer's own key, wrapped by the data key, in a file of fixed-size
//! slots beside the customers store.
//!
//! Why not a sled table: sled is log-structured, so a removed value stays in its segment file
//! until the segment is rewritten, at a time sled chooses. A key "deleted" there could be read
//! back from the disk, and with it every personal field it encrypted. Here a slot is
//! overwritten in place (`pwrite` at its offset, then `fdatasync`) with zeros: once
//! [`KeyVault::destroy`] returns, the file holds no copy of the key, and the personal data
//! sealed with it, wherever sled still keeps old versions, cannot be opened by anyone
//! (crypto-shredding). The file system may still keep the freed blocks of an earlier *file*,
//! never of this one, which is rewritten only in place.
//!
//! Slots are written before the customer record naming them is committed, and destroyed after
//! the erasure is; a crash between the two leaves a slot no record uses, which the start-up
//! sweep (`sweep.rs`) destroys. Writes are rare (registration, erasure, rotation) and hold a
//! mutex for one `pwrite` and one `fdatasync` (never across a request to the replica); reads
//! are from the in-memory copy.
//!
//! In cluster mode each write goes to the [`VaultReplica`] first, then to the file:
//! - a store is replicated before it returns, so a customer record naming the slot (committed
//!   afterwards) never reaches a new leader without its key; a failed put leaves the slot free
//!   and the store failed;
//! - a destroy erases the replica's copy before zeroing the local slot. The replica's copy is
//!   the one that outlives this node; zeroing first and then failing to erase would leave the
//!   slot free here (handed to the next customer) while the bucket still holds the destroyed
//!   key, and nothing on this node would remember to erase it. Erasing first, a failure leaves
//!   the slot used in both places, and the start-up sweep destroys it again; a crash between
//!   the two leaves the key in this node's file only, which this node, having led, zeroes when
//!   it starts again and rebuilds from the replica before it leads. When `destroy` returns,
//!   neither copy exists.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

use std::sync::Arc;

use super::data_keys::{DataKey, DataKeys, KEY_BYTES, KeyId, NONCE_BYTES, TAG_BYTES};
use super::replica::{VaultReplica, VaultReplicaError};

/// Bytes per slot: state, data-key id, owner, nonce, wrapped key, padding.
pub(crate) const SLOT_BYTES: usize = 128;

const USED: u8 = 1;
const OWNER_BYTES: usize = 16;
const ID_AT: usize = 1;
const OWNER_AT: usize = ID_AT + 8;
const NONCE_AT: usize = OWNER_AT + OWNER_BYTES;
const SEALED_AT: usize = NONCE_AT + NONCE_BYTES;
const SEALED_END: usize = SEALED_AT + KEY_BYTES + TAG_BYTES;

/// Why the vault could not serve a key.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Reading or writing the vault file failed.
    #[error("the key vault file failed")]
    Io(#[from] std::io::Error),
    /// The slot is empty or belongs to someone else: the key was destroyed (erasure).
    #[error("no key in slot {0}")]
    NoKey(u64),
    /// No configured data key opens the slot (a rotation dropped a key too early).
    #[error("no configured data key opens slot {0}")]
    UnknownDataKey(u64),
    /// The vault's replica (cluster mode) did not confirm a write: the slot is unchanged here.
    #[error("the key vault's replica failed")]
    Replica(#[from] VaultReplicaError),
}

struct Slots {
    file: File,
    bytes: Vec<[u8; SLOT_BYTES]>,
    free: Vec<u64>,
}

/// The vault file and its in-memory copy (128 bytes per customer ever registered and not
/// erased, plus free slots for reuse).
pub(crate) struct KeyVault {
    slots: Mutex<Slots>,
    replica: Option<Arc<dyn VaultReplica>>,
}

impl std::fmt::Debug for KeyVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyVault").finish_non_exhaustive()
    }
}

impl KeyVault {
    /// Opens (or creates, owner-only) the vault at `path`. A torn last slot (crash during an
    /// append) is ignored: its record was never committed.
    pub(crate) fn open(
        path: &Path,
        replica: Option<Arc<dyn VaultReplica>>,
    ) -> Result<KeyVault, VaultError> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path)?;
        let content = std::fs::read(path)?;
        let mut bytes = Vec::with_capacity(content.len() / SLOT_BYTES);
        let mut free = Vec::new();
        for (index, chunk) in content.chunks_exact(SLOT_BYTES).enumerate() {
            let mut slot = [0u8; SLOT_BYTES];
            slot.copy_from_slice(chunk);
            if slot[0] != USED {
                free.push(index as u64);
            }
            bytes.push(slot);
        }
        free.reverse();
        Ok(KeyVault {
            slots: Mutex::new(Slots { file, bytes, free }),
            replica,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        // A panic while holding the lock leaves the memory as the file was before the write
        // that failed, or after it: both are whole slots, so the data stays usable.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores `key` for `owner` wrapped by the current data key; durable when it returns.
    pub(crate) fn store(
        &self,
        owner: &[u8; OWNER_BYTES],
        key: &[u8; KEY_BYTES],
        data_key: &DataKey,
    ) -> Result<u64, VaultError> {
        let slot = encode(owner, key, data_key);
        // The index is reserved (neither free nor used) and the lock released while the replica
        // is written: readers take the lock on async workers, and a worker blocked behind a
        // network round trip could stall the very runtime that answers it.
        let index = {
            let mut slots = self.lock();
            match slots.free.pop() {
                Some(index) => index,
                None => {
                    slots.bytes.push([0u8; SLOT_BYTES]);
                    slots.bytes.len() as u64 - 1
                }
            }
        };
        let written = self.replicate(index, &slot).and_then(|()| {
            let mut slots = self.lock();
            write_slot(&slots.file, index, &slot, true)?;
            slots.bytes[index as usize] = slot;
            Ok(())
        });
        if let Err(error) = written {
            self.lock().free.push(index);
            return Err(error);
        }
        Ok(index)
    }

    /// The key in slot `index`, if it is `owner`'s.
    pub(crate) fn key(
        &self,
        index: u64,
        owner: &[u8; OWNER_BYTES],
        keys: &DataKeys,
    ) -> Result<[u8; KEY_BYTES], VaultError> {
        let slot = self
            .lock()
            .bytes
            .get(index as usize)
            .copied()
            .ok_or(VaultError::NoKey(index))?;
        if slot[0] != USED || slot[OWNER_AT..NONCE_AT] != owner[..] {
            return Err(VaultError::NoKey(index));
        }
        let data_key = keys
            .by_id(slot_key_id(&slot))
            .ok_or(VaultError::UnknownDataKey(index))?;
        let mut nonce = [0u8; NONCE_BYTES];
        nonce.copy_from_slice(&slot[NONCE_AT..SEALED_AT]);
        data_key
            .unwrap(&nonce, &slot[SEALED_AT..SEALED_END], owner)
            .ok_or(VaultError::UnknownDataKey(index))
    }

    /// Overwrites slot `index` with zeros if it is `owner`'s, durably; the slot is reused
    /// afterwards. Destroying an empty or foreign slot does nothing.
    pub(crate) fn destroy(&self, index: u64, owner: &[u8; OWNER_BYTES]) -> Result<(), VaultError> {
        if !self.owns(index, owner) {
            return Ok(());
        }
        // Without the lock, as in `store`; the slot stays used meanwhile, so it is not reused.
        if let Some(replica) = &self.replica {
            replica.erase(index)?;
        }
        let mut slots = self.lock();
        // Checked again: a concurrent destroy of the same slot may have zeroed it already.
        if !owned(&slots, index, owner) {
            return Ok(());
        }
        let empty = [0u8; SLOT_BYTES];
        write_slot(&slots.file, index, &empty, true)?;
        slots.bytes[index as usize] = empty;
        slots.free.push(index);
        Ok(())
    }

    fn owns(&self, index: u64, owner: &[u8; OWNER_BYTES]) -> bool {
        owned(&self.lock(), index, owner)
    }

    /// Wraps slot `index`'s key again by the current data key, in place.
    pub(crate) fn rewrap(
        &self,
        index: u64,
        owner: &[u8; OWNER_BYTES],
        keys: &DataKeys,
    ) -> Result<(), VaultError> {
        let key = self.key(index, owner, keys)?;
        let slot = encode(owner, &key, &keys.current);
        self.replicate(index, &slot)?;
        let mut slots = self.lock();
        write_slot(&slots.file, index, &slot, true)?;
        slots.bytes[index as usize] = slot;
        Ok(())
    }

    fn replicate(&self, index: u64, slot: &[u8; SLOT_BYTES]) -> Result<(), VaultError> {
        match &self.replica {
            Some(replica) => Ok(replica.put(index, slot)?),
            None => Ok(()),
        }
    }

    /// Every used slot: its index, owner and the id of the data key that wrapped it.
    pub(crate) fn used(&self) -> Vec<(u64, [u8; OWNER_BYTES], KeyId)> {
        self.lock()
            .bytes
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot[0] == USED)
            .map(|(index, slot)| {
                let mut owner = [0u8; OWNER_BYTES];
                owner.copy_from_slice(&slot[OWNER_AT..NONCE_AT]);
                (index as u64, owner, slot_key_id(slot))
            })
            .collect()
    }
}

fn owned(slots: &Slots, index: u64, owner: &[u8; OWNER_BYTES]) -> bool {
    slots
        .bytes
        .get(index as usize)
        .is_some_and(|slot| slot[0] == USED && slot[OWNER_AT..NONCE_AT] == owner[..])
}

fn slot_key_id(slot: &[u8; SLOT_BYTES]) -> KeyId {
    let mut id = [0u8; 8];
    id.copy_from_slice(&slot[ID_AT..OWNER_AT]);
    id
}

fn encode(
    owner: &[u8; OWNER_BYTES],
    key: &[u8; KEY_BYTES],
    data_key: &DataKey,
) -> [u8; SLOT_BYTES] {
    let (nonce, sealed) = data_key.wrap(key, owner);
    let mut slot = [0u8; SLOT_BYTES];
    slot[0] = USED;
    slot[ID_AT..OWNER_AT].copy_from_slice(&data_key.id());
    slot[OWNER_AT..NONCE_AT].copy_from_slice(owner);
    slot[NONCE_AT..SEALED_AT].copy_from_slice(&nonce);
    slot[SEALED_AT..SEALED_END].copy_from_slice(&sealed);
    slot
}

/// Overwrites slot `index` in place; `sync`: with its `fdatasync` (a caller writing many slots
/// syncs once after them).
pub(super) fn write_slot(
    file: &File,
    index: u64,
    slot: &[u8; SLOT_BYTES],
    sync: bool,
) -> std::io::Result<()> {
    file.write_all_at(slot, index * SLOT_BYTES as u64)?;
    if sync {
        file.sync_data()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> DataKeys {
        DataKeys {
            current: DataKey::from_bytes(&[byte; 32]),
            previous: Vec::new(),
        }
    }

    #[test]
    fn a_destroyed_key_leaves_no_byte_of_it_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault");
        let keys = keys(1);
        let vault = KeyVault::open(&path, None).unwrap();
        let ana = vault.store(&[1; 16], &[0xAA; 32], &keys.current).unwrap();
        let bruno = vault.store(&[2; 16], &[0xBB; 32], &keys.current).unwrap();
        assert_eq!(vault.key(ana, &[1; 16], &keys).unwrap(), [0xAA; 32]);
        assert!(
            vault.key(ana, &[2; 16], &keys).is_err(),
            "another owner's slot"
        );
        let before = std::fs::read(&path).unwrap();
        let ana_slot = &before[ana as usize * SLOT_BYTES..][..SLOT_BYTES];
        assert!(ana_slot.iter().any(|byte| *byte != 0));

        vault.destroy(ana, &[1; 16]).unwrap();
        let after = std::fs::read(&path).unwrap();
        assert!(
            after[ana as usize * SLOT_BYTES..][..SLOT_BYTES]
                .iter()
                .all(|b| *b == 0)
        );
        assert!(matches!(
            vault.key(ana, &[1; 16], &keys),
            Err(VaultError::NoKey(_))
        ));

        // A reopened vault agrees, and reuses the freed slot.
        drop(vault);
        let vault = KeyVault::open(&path, None).unwrap();
        assert_eq!(vault.key(bruno, &[2; 16], &keys).unwrap(), [0xBB; 32]);
        assert_eq!(
            vault.store(&[3; 16], &[0xCC; 32], &keys.current).unwrap(),
            ana
        );
        assert_eq!(vault.used().len(), 2);
    }

    #[test]
    fn rewrapping_moves_a_slot_to_the_current_data_key() {
        let dir = tempfile::tempdir().unwrap();
        let vault = KeyVault::open(&dir.path().join("vault"), None).unwrap();
        let old = keys(1);
        let slot = vault.store(&[1; 16], &[0xAA; 32], &old.current).unwrap();
        let rotated = DataKeys {
            current: DataKey::from_bytes(&[2; 32]),
            previous: vec![old.current.clone()],
        };
        vault.rewrap(slot, &[1; 16], &rotated).unwrap();
        assert_eq!(vault.used()[0].2, rotated.current.id());
        assert!(matches!(
            vault.key(slot, &[1; 16], &old),
            Err(VaultError::UnknownDataKey(_))
        ));
        assert_eq!(vault.key(slot, &[1; 16], &keys(2)).unwrap(), [0xAA; 32]);
    }
}
