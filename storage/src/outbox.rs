//! The transactional outbox of one store: events written in the same transaction as the change
//! that caused them, read back in order by a relay, removed once delivered.
//!
//! Each store has exactly one outbox (one tree, one sequence), made when the store opens, so
//! every writer of a service appends to the same sequence without having to be handed it. The
//! sequence is taken inside the transaction: a closure that sled runs twice only wastes a
//! number, and events of one entity (whose changes its actor serialises) always get increasing
//! numbers. Two entities' transactions may commit out of number order; the relay removes what it
//! delivered instead of keeping a cursor, so an event that commits behind a higher number is
//! found on the next pass rather than skipped.
//!
//! The outbox holds values already encoded with the codec: this crate knows nothing of what an
//! event is.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use crate::commit::WriteClock;
use crate::error::{StorageError, StorageResult};
use crate::table::Table;
use crate::transaction::{Tx, TxMember, TxOpError};

/// The outbox of one store. Cheap to clone; every clone shares the sequence and the wake-up.
#[derive(Clone)]
pub struct Outbox {
    table: Table<u64, Vec<u8>>,
    shared: Arc<Shared>,
}

struct Shared {
    next: AtomicU64,
    /// Set by an append, cleared when the relay reads: a commit only wakes the relay when
    /// something was appended since it last looked.
    dirty: AtomicBool,
    wake: Notify,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("table", &self.table.name())
            .finish()
    }
}

impl Outbox {
    pub(crate) fn open(tree: sled::Tree, clock: Arc<WriteClock>) -> StorageResult<Self> {
        let table: Table<u64, Vec<u8>> = Table::new(tree, "outbox", clock);
        let next = match table.iter().next_back() {
            Some(entry) => entry?.0 + 1,
            None => 1,
        };
        let dirty = !table.is_empty();
        Ok(Outbox {
            table,
            shared: Arc::new(Shared {
                next: AtomicU64::new(next),
                dirty: AtomicBool::new(dirty),
                wake: Notify::new(),
            }),
        })
    }

    /// The outbox as a member of a transaction: list it among the members of the
    /// [`Store::transaction`](crate::Store::transaction) that calls [`Outbox::append`].
    pub fn member(&self) -> &dyn TxMember {
        &self.table
    }

    /// Appends `event` inside a running transaction; it lands if and only if the
    /// transaction commits. Answers the event's sequence number in this store.
    pub fn append<V: Serialize>(&self, tx: &Tx<'_>, event: &V) -> Result<u64, TxOpError> {
        let bytes = crate::codec::encode(event).map_err(|source| StorageError::Encode {
            table: "outbox".into(),
            reason: source.to_string(),
        })?;
        let sequence = self.shared.next.fetch_add(1, Ordering::Relaxed);
        tx.table(&self.table)?.insert(&sequence, &bytes)?;
        self.shared.dirty.store(true, Ordering::Release);
        Ok(sequence)
    }

    /// Appends events outside any transaction (a change that is itself a single write made
    /// just before, where losing the event with the change is what a crash would do anyway).
    pub fn append_alone<V: Serialize>(&self, event: &V) -> StorageResult<u64> {
        let bytes = crate::codec::encode(event).map_err(|source| StorageError::Encode {
            table: "outbox".into(),
            reason: source.to_string(),
        })?;
        let sequence = self.shared.next.fetch_add(1, Ordering::Relaxed);
        self.table.insert(&sequence, &bytes)?;
        self.shared.dirty.store(true, Ordering::Release);
        self.wake();
        Ok(sequence)
    }

    /// Up to `limit` events in sequence order, decoded. An undecodable event is an error
    /// naming its sequence, never skipped silently.
    pub fn peek<V: DeserializeOwned>(&self, limit: usize) -> StorageResult<Vec<(u64, V)>> {
        self.shared.dirty.store(false, Ordering::Release);
        let mut events = Vec::new();
        for entry in self.table.iter().take(limit) {
            let (sequence, bytes) = entry?;
            let event = crate::codec::decode(&bytes).map_err(|source| StorageError::Corrupt {
                table: "outbox".into(),
                key: sequence.to_string(),
                reason: source.to_string(),
            })?;
            events.push((sequence, event));
        }
        Ok(events)
    }

    /// Removes delivered events. Not made durable here: an event removed in memory and then
    /// lost to a crash is delivered again, which subscribers expect (they deduplicate).
    pub fn remove(&self, sequences: &[u64]) -> StorageResult<()> {
        for sequence in sequences {
            self.table.remove(sequence)?;
        }
        Ok(())
    }

    /// Keeps the sequence ahead of an event written by a replicated batch (`key` is its raw
    /// key), so that a follower that takes over numbers its own events after the leader's.
    pub(crate) fn observe_applied(&self, key: &[u8]) {
        if let Ok(sequence) = <u64 as crate::key::Key>::from_key_bytes(key) {
            self.shared
                .next
                .fetch_max(sequence.saturating_add(1), Ordering::Relaxed);
        }
    }

    /// Events waiting (walks the tree: for metrics and tests).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no event waits.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Wakes the relay waiting in [`Outbox::woken`] (a permit is kept if none waits).
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// Wakes the relay if something was appended since it last read.
    pub(crate) fn wake_if_dirty(&self) {
        if self.shared.dirty.load(Ordering::Acquire) {
            self.wake();
        }
    }

    /// Resolves at the next [`Outbox::wake`] (at once if one came while nobody waited).
    pub async fn woken(&self) {
        self.shared.wake.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use crate::transaction::TxAbort;
    use crate::{StorageConfig, Store};

    fn open(dir: &std::path::Path) -> Store {
        let config = StorageConfig {
            data_dir: dir.to_owned(),
            ..StorageConfig::default()
        };
        Store::open(&config, "service").unwrap()
    }

    #[test]
    fn an_event_lands_with_its_transaction_and_not_with_an_aborted_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let records = store.table::<u64, String>("records").unwrap();
        let outbox = store.outbox().clone();
        store
            .transaction(&[&records, outbox.member()], |tx| {
                tx.table(&records)?.insert(&1, &"one".to_owned())?;
                outbox.append(tx, &"record.created 1".to_owned())?;
                Ok::<_, TxAbort<()>>(())
            })
            .unwrap();
        let aborted = store.transaction(&[&records, outbox.member()], |tx| {
            tx.table(&records)?.insert(&2, &"two".to_owned())?;
            outbox.append(tx, &"record.created 2".to_owned())?;
            Err::<(), _>(TxAbort::abort("refused"))
        });
        assert!(aborted.is_err());
        let events: Vec<(u64, String)> = outbox.peek(10).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].1, "record.created 1");
        assert_eq!(records.get(&2).unwrap(), None);
    }

    #[test]
    fn sequence_order_is_kept_removal_is_selective_and_numbers_continue_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let last = {
            let store = open(dir.path());
            let outbox = store.outbox();
            for n in 0..5u32 {
                outbox.append_alone(&n).unwrap();
            }
            let events: Vec<(u64, u32)> = outbox.peek(3).unwrap();
            assert_eq!(
                events.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
                vec![0, 1, 2]
            );
            let sequences: Vec<u64> = events.iter().map(|(sequence, _)| *sequence).collect();
            outbox.remove(&sequences[..2]).unwrap();
            let rest: Vec<(u64, u32)> = outbox.peek(10).unwrap();
            assert_eq!(
                rest.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
                vec![2, 3, 4]
            );
            store.close().unwrap();
            rest.last().unwrap().0
        };
        let store = open(dir.path());
        let next = store.outbox().append_alone(&9u32).unwrap();
        assert!(next > last, "{next} must follow {last}");
        assert_eq!(store.outbox().len(), 4);
    }

    #[tokio::test]
    async fn a_commit_after_an_append_wakes_the_relay() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let records = store.table::<u64, u64>("records").unwrap();
        let outbox = store.outbox().clone();
        store
            .transaction(&[&records, outbox.member()], |tx| {
                outbox.append(tx, &7u64)?;
                Ok::<_, TxAbort<()>>(())
            })
            .unwrap();
        store.commit().await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), outbox.woken())
            .await
            .expect("the commit woke the outbox");
    }
}
