//! The vault with a replica: what reaches it, in which order, and what a failure leaves.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::data_keys::{DataKey, DataKeys};
use super::key_vault::{KeyVault, SLOT_BYTES};
use super::replica::{SlotBytes, VaultReplica, VaultReplicaError, restore_vault};
use super::{VAULT_FILE, VaultError};

/// A replica in memory that records every call and the vault file's slot at that moment.
#[derive(Default)]
struct Fake {
    slots: Mutex<BTreeMap<u64, SlotBytes>>,
    calls: Mutex<Vec<String>>,
    fail: Mutex<bool>,
    file: Mutex<Option<std::path::PathBuf>>,
}

impl Fake {
    fn local_slot_is_zero(&self, slot: u64) -> bool {
        let Some(path) = self.file.lock().unwrap().clone() else {
            return true;
        };
        let content = std::fs::read(path).unwrap();
        content
            .get(slot as usize * SLOT_BYTES..(slot as usize + 1) * SLOT_BYTES)
            .is_none_or(|bytes| bytes.iter().all(|byte| *byte == 0))
    }

    /// Records a call with the vault file's slot as it is now; fails it when told to.
    fn called(&self, operation: &str, slot: u64) -> Result<(), VaultReplicaError> {
        let local = if self.local_slot_is_zero(slot) {
            "empty"
        } else {
            "used"
        };
        self.calls
            .lock()
            .unwrap()
            .push(format!("{operation} {slot} (local {local})"));
        if *self.fail.lock().unwrap() {
            return Err(VaultReplicaError::TimedOut { timeout_ms: 5 });
        }
        Ok(())
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl VaultReplica for Fake {
    fn put(&self, slot: u64, bytes: &SlotBytes) -> Result<(), VaultReplicaError> {
        self.called("put", slot)?;
        self.slots.lock().unwrap().insert(slot, *bytes);
        Ok(())
    }

    fn erase(&self, slot: u64) -> Result<(), VaultReplicaError> {
        self.called("erase", slot)?;
        self.slots.lock().unwrap().remove(&slot);
        Ok(())
    }

    fn all(&self) -> Result<Vec<(u64, SlotBytes)>, VaultReplicaError> {
        Ok(self
            .slots
            .lock()
            .unwrap()
            .iter()
            .map(|(slot, bytes)| (*slot, *bytes))
            .collect())
    }
}

fn keys() -> DataKeys {
    DataKeys {
        current: DataKey::from_bytes(&[7; 32]),
        previous: Vec::new(),
    }
}

fn vault_with_fake() -> (tempfile::TempDir, Arc<Fake>, KeyVault) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(VAULT_FILE);
    let fake = Arc::new(Fake::default());
    *fake.file.lock().unwrap() = Some(path.clone());
    let vault = KeyVault::open(&path, Some(fake.clone())).unwrap();
    (dir, fake, vault)
}

#[test]
fn a_stored_key_reaches_the_replica_before_the_file_and_is_erased_there_before_zeroing() {
    let (dir, fake, vault) = vault_with_fake();
    let keys = keys();
    let ana = vault.store(&[1; 16], &[0xAA; 32], &keys.current).unwrap();
    let file = std::fs::read(dir.path().join(VAULT_FILE)).unwrap();
    assert_eq!(
        fake.all().unwrap(),
        vec![(ana, file[..SLOT_BYTES].try_into().unwrap())],
        "the replica holds the very bytes of the file's slot"
    );

    vault.destroy(ana, &[1; 16]).unwrap();
    assert!(fake.all().unwrap().is_empty());
    assert_eq!(
        fake.calls(),
        vec![
            format!("put {ana} (local empty)"),
            format!("erase {ana} (local used)"),
        ]
    );
    // Another owner's destroy touches neither copy.
    let bruno = vault.store(&[2; 16], &[0xBB; 32], &keys.current).unwrap();
    vault.destroy(bruno, &[9; 16]).unwrap();
    assert_eq!(fake.all().unwrap().len(), 1);
}

#[test]
fn a_failed_put_fails_the_store_and_leaves_no_slot_used() {
    let (dir, fake, vault) = vault_with_fake();
    let keys = keys();
    *fake.fail.lock().unwrap() = true;
    let refused = vault.store(&[1; 16], &[0xAA; 32], &keys.current);
    assert!(matches!(
        refused,
        Err(VaultError::Replica(VaultReplicaError::TimedOut { .. }))
    ));
    assert!(vault.used().is_empty());
    let file = std::fs::read(dir.path().join(VAULT_FILE)).unwrap();
    assert!(file.iter().all(|byte| *byte == 0));

    // The index that failed is the next one handed out.
    *fake.fail.lock().unwrap() = false;
    let ana = vault.store(&[1; 16], &[0xAA; 32], &keys.current).unwrap();
    assert_eq!(ana, 0);
    assert_eq!(vault.used().len(), 1);
}

#[test]
fn a_failed_erase_keeps_the_slot_used_so_its_index_is_not_reused() {
    let (_dir, fake, vault) = vault_with_fake();
    let keys = keys();
    let ana = vault.store(&[1; 16], &[0xAA; 32], &keys.current).unwrap();
    *fake.fail.lock().unwrap() = true;
    assert!(vault.destroy(ana, &[1; 16]).is_err());
    assert_eq!(vault.key(ana, &[1; 16], &keys).unwrap(), [0xAA; 32]);
    *fake.fail.lock().unwrap() = false;
    let bruno = vault.store(&[2; 16], &[0xBB; 32], &keys.current).unwrap();
    assert_ne!(bruno, ana);
    vault.destroy(ana, &[1; 16]).unwrap();
    assert_eq!(
        fake.all()
            .unwrap()
            .into_iter()
            .map(|(slot, _)| slot)
            .collect::<Vec<_>>(),
        vec![bruno]
    );
}

#[test]
fn a_rewrap_replicates_the_new_wrapping() {
    let (_dir, fake, vault) = vault_with_fake();
    let old = keys();
    let slot = vault.store(&[1; 16], &[0xAA; 32], &old.current).unwrap();
    let before = fake.all().unwrap();
    let rotated = DataKeys {
        current: DataKey::from_bytes(&[8; 32]),
        previous: vec![old.current.clone()],
    };
    vault.rewrap(slot, &[1; 16], &rotated).unwrap();
    let after = fake.all().unwrap();
    assert_eq!(after.len(), 1);
    assert_ne!(before, after);
}

#[test]
fn a_restored_vault_holds_exactly_the_replicas_slots() {
    let (dir, fake, vault) = vault_with_fake();
    let keys = keys();
    let ana = vault.store(&[1; 16], &[0xAA; 32], &keys.current).unwrap();
    let bruno = vault.store(&[2; 16], &[0xBB; 32], &keys.current).unwrap();
    drop(vault);
    let replicated = fake.all().unwrap();

    // Another node's file: a slot the replica no longer has, and none of the replica's.
    let other = tempfile::tempdir().unwrap();
    let stale = KeyVault::open(&other.path().join(VAULT_FILE), None).unwrap();
    for owner in 5..9u8 {
        stale
            .store(&[owner; 16], &[owner; 32], &keys.current)
            .unwrap();
    }
    drop(stale);
    let restored = restore_vault(other.path(), &replicated).unwrap();
    assert_eq!(restored.written, 2);
    assert_eq!(restored.zeroed, 2, "slots 2 and 3 of the stale file");
    let restored_file = std::fs::read(other.path().join(VAULT_FILE)).unwrap();
    let source_file = std::fs::read(dir.path().join(VAULT_FILE)).unwrap();
    assert_eq!(
        restored_file.len(),
        4 * SLOT_BYTES,
        "zeroed in place, not truncated"
    );
    assert_eq!(restored_file[..source_file.len()], source_file[..]);
    assert!(
        restored_file[source_file.len()..]
            .iter()
            .all(|byte| *byte == 0)
    );
    let reopened = KeyVault::open(&other.path().join(VAULT_FILE), None).unwrap();
    assert_eq!(reopened.key(ana, &[1; 16], &keys).unwrap(), [0xAA; 32]);
    assert_eq!(reopened.key(bruno, &[2; 16], &keys).unwrap(), [0xBB; 32]);
    assert_eq!(reopened.used().len(), 2);

    // Restoring from an empty replica leaves no key on disk.
    drop(reopened);
    let wiped = restore_vault(other.path(), &[]).unwrap();
    assert_eq!(wiped.zeroed, 2);
    let file = std::fs::read(other.path().join(VAULT_FILE)).unwrap();
    assert!(file.iter().all(|byte| *byte == 0));
}

/// A replica whose put waits until the test lets it go.
struct Gated {
    entered: Mutex<Option<std::sync::mpsc::Sender<()>>>,
    release: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl VaultReplica for Gated {
    fn put(&self, _slot: u64, _bytes: &SlotBytes) -> Result<(), VaultReplicaError> {
        if let Some(entered) = self.entered.lock().unwrap().take() {
            entered.send(()).unwrap();
        }
        self.release
            .lock()
            .unwrap()
            .recv_timeout(std::time::Duration::from_secs(30))
            .map_err(|_| VaultReplicaError::TimedOut { timeout_ms: 30_000 })
    }

    fn erase(&self, _slot: u64) -> Result<(), VaultReplicaError> {
        Ok(())
    }

    fn all(&self) -> Result<Vec<(u64, SlotBytes)>, VaultReplicaError> {
        Ok(Vec::new())
    }
}

#[test]
fn keys_are_read_while_a_put_waits_for_the_replica() {
    let dir = tempfile::tempdir().unwrap();
    let (entered, has_entered) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel();
    let gated = Arc::new(Gated {
        entered: Mutex::new(None),
        release: Mutex::new(released),
    });
    let vault =
        Arc::new(KeyVault::open(&dir.path().join(VAULT_FILE), Some(gated.clone())).unwrap());
    let keys = keys();
    release.send(()).unwrap();
    let ana = vault.store(&[1; 16], &[0xAA; 32], &keys.current).unwrap();
    *gated.entered.lock().unwrap() = Some(entered);

    let storing = {
        let vault = vault.clone();
        let current = keys.current.clone();
        std::thread::spawn(move || vault.store(&[2; 16], &[0xBB; 32], &current))
    };
    has_entered.recv().unwrap();
    // The put is in flight: the vault's lock must be free for readers.
    assert_eq!(vault.key(ana, &[1; 16], &keys).unwrap(), [0xAA; 32]);
    release.send(()).unwrap();
    let bruno = storing.join().unwrap().unwrap();
    assert_ne!(bruno, ana);
    assert_eq!(vault.key(bruno, &[2; 16], &keys).unwrap(), [0xBB; 32]);
}
