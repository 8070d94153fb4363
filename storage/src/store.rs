//! A store: one service's own sled `Db`, its typed tables and its committer.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::commit::{CommitTiming, Committer, WriteClock};
use crate::config::StorageConfig;
use crate::error::{StorageError, StorageResult};
use crate::index::UniqueIndex;
use crate::key::Key;
use crate::outbox::Outbox;
use crate::stats::{FlushSnapshot, FlushStats};
use crate::table::Table;
use crate::transaction::{self, Tx, TxAbort, TxError, TxMember};

/// One service's database. Cheap to clone; the database closes when the last clone is dropped
/// or [`Store::close`] is called.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) name: String,
    path: PathBuf,
    pub(crate) db: sled::Db,
    pub(crate) clock: Arc<WriteClock>,
    stats: Arc<FlushStats>,
    committer: Committer,
    pub(crate) outbox: Outbox,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("name", &self.inner.name)
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the store `name` under `config.data_dir/name`. With a
    /// replicator in `config`, every durable commit (and every periodic flush) of the store is
    /// replicated through it before it is acknowledged.
    pub fn open(config: &StorageConfig, name: &str) -> StorageResult<Self> {
        let path = config.data_dir.join(name);
        std::fs::create_dir_all(&path).map_err(|source| StorageError::Open {
            path: path.clone(),
            source,
        })?;
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(config.cache_capacity_mb.saturating_mul(1024 * 1024))
            .mode(sled::Mode::HighThroughput)
            // The committer owns every flush of this Db (see `commit`): sled's own flusher
            // thread is turned off so that no flush ever runs beside the committer's.
            .flush_every_ms(None)
            .open()?;
        let replicator = config.replicator.get().cloned();
        let clock = Arc::new(WriteClock::new(replicator.is_some()));
        let stats = Arc::new(FlushStats::default());
        let timing = CommitTiming {
            lazy_every: Duration::from_millis(config.flush_every_ms.max(1)),
            window: Duration::from_micros(config.commit_window_us),
        };
        let committer = Committer::start(
            name,
            db.clone(),
            clock.clone(),
            stats.clone(),
            timing,
            replicator,
        )?;
        let outbox = Outbox::open(db.open_tree("outbox")?, clock.clone())?;
        tracing::debug!(store = name, path = %path.display(), recovered = db.was_recovered(), "store opened");
        Ok(Store {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                path,
                db,
                clock,
                stats,
                committer,
                outbox,
            }),
        })
    }

    /// The store's name (the service it belongs to).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The directory holding the store's files.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Opens the typed table `name`.
    pub fn table<K: Key, V: Serialize + DeserializeOwned>(
        &self,
        name: &str,
    ) -> StorageResult<Table<K, V>> {
        let tree = self.inner.db.open_tree(name)?;
        Ok(Table::new(tree, name, self.inner.clock.clone()))
    }

    /// Opens the unique index `name`.
    pub fn unique_index<I: Key, K: Key + PartialEq>(
        &self,
        name: &str,
    ) -> StorageResult<UniqueIndex<I, K>> {
        let tree = self.inner.db.open_tree(name)?;
        Ok(UniqueIndex::new(tree, name, self.inner.clock.clone()))
    }

    /// Runs `body` atomically over `members` (tables and indexes of this store).
    pub fn transaction<R, E>(
        &self,
        members: &[&dyn TxMember],
        body: impl Fn(&Tx<'_>) -> Result<R, TxAbort<E>>,
    ) -> Result<R, TxError<E>> {
        let (value, touched) = transaction::run(members, self.inner.clock.journaled(), body)?;
        self.inner.clock.tick_touched(touched);
        Ok(value)
    }

    /// Resolves once every write made before the call is on disk (the durable class) and, for a
    /// replicated store, in the replicated log. Concurrent callers share flushes: see the
    /// `commit` module. A replicated store answers [`StorageError::Replication`] when the log did
    /// not take the writes, and for good once the log fenced it off.
    pub async fn commit(&self) -> StorageResult<()> {
        self.inner.committer.commit().await?;
        // Events appended before this commit are now durable: the relay may deliver them.
        self.inner.outbox.wake_if_dirty();
        Ok(())
    }

    /// Resolves once every write made before the call is durable, like [`Store::commit`], but
    /// without asking for a flush: it rides the next flush that runs anyway (another caller's
    /// commit, or the periodic flush of lazy data within `storage.flush_every_ms`). For
    /// writers that must know when data is on disk but not make it so sooner, where a flush
    /// per call would cost more than the wait.
    pub async fn settled(&self) -> StorageResult<()> {
        self.inner.committer.settled().await?;
        self.inner.outbox.wake_if_dirty();
        Ok(())
    }

    /// The store's outbox of events (see [`Outbox`]).
    pub fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }

    /// [`Store::commit`] for synchronous code that runs outside an async runtime.
    pub fn commit_blocking(&self) -> StorageResult<()> {
        self.inner.committer.commit_blocking()?;
        self.inner.outbox.wake_if_dirty();
        Ok(())
    }

    /// Flushes everything and stops the committer. Later durable commits fail with
    /// [`StorageError::Closed`]; reads keep working until the last clone is dropped.
    /// Blocks until the final flush is done.
    pub fn close(&self) -> StorageResult<()> {
        self.inner.committer.close()
    }

    /// Flush counters for metrics.
    pub fn flush_stats(&self) -> FlushSnapshot {
        self.inner.stats.snapshot(self.inner.clock.written())
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> StorageResult<u64> {
        Ok(self.inner.db.size_on_disk()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn config(dir: &Path) -> StorageConfig {
        StorageConfig {
            data_dir: dir.to_owned(),
            cache_capacity_mb: 8,
            flush_every_ms: 50,
            commit_window_us: 1_000,
            ..StorageConfig::default()
        }
    }

    #[tokio::test]
    async fn committed_writes_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let ids: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
        {
            let store = Store::open(&config(dir.path()), "things").unwrap();
            let table: Table<Uuid, String> = store.table("things").unwrap();
            for id in &ids {
                table.insert(id, &id.to_string()).unwrap();
            }
            store.commit().await.unwrap();
            store.close().unwrap();
        }
        let store = Store::open(&config(dir.path()), "things").unwrap();
        let table: Table<Uuid, String> = store.table("things").unwrap();
        let stored: Vec<Uuid> = table.iter().map(|entry| entry.unwrap().0).collect();
        assert_eq!(stored, ids, "v7 ids come back in creation order");
        assert_eq!(table.get(&ids[3]).unwrap(), Some(ids[3].to_string()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_commits_share_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&config(dir.path()), "shared").unwrap();
        let table: Table<u64, u64> = store.table("numbers").unwrap();
        let writers: Vec<_> = (0..64u64)
            .map(|writer| {
                let (store, table) = (store.clone(), table.clone());
                tokio::spawn(async move {
                    for n in 0..10 {
                        table.insert(&(writer * 100 + n), &n).unwrap();
                        store.commit().await.unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        let stats = store.flush_stats();
        assert_eq!(table.len(), 640);
        assert!(stats.flushes >= 1);
        assert!(
            stats.flushes < 640,
            "640 durable writes took {} flushes: no batching",
            stats.flushes
        );
    }

    #[tokio::test]
    async fn lazy_writes_are_flushed_by_the_periodic_flush() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&config(dir.path()), "lazy").unwrap();
        let table: Table<u64, u64> = store.table("numbers").unwrap();
        table.insert(&1, &1).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while store.flush_stats().flushes == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "no periodic flush within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Already durable: a commit now returns without another flush.
        let before = store.flush_stats().flushes;
        store.commit().await.unwrap();
        assert_eq!(store.flush_stats().flushes, before);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_settle_asks_for_no_flush_and_rides_the_next_commit() {
        let dir = tempfile::tempdir().unwrap();
        let config = StorageConfig {
            flush_every_ms: 3_600_000,
            ..config(dir.path())
        };
        let store = Store::open(&config, "riding").unwrap();
        let table: Table<u64, u64> = store.table("numbers").unwrap();
        table.insert(&1, &1).unwrap();
        let settling = tokio::spawn({
            let store = store.clone();
            async move { store.settled().await }
        });
        // No flush is due for an hour and the settle asked for none: it is still waiting.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!settling.is_finished(), "a settle forced a flush");
        assert_eq!(store.flush_stats().flushes, 0);
        table.insert(&2, &2).unwrap();
        store.commit().await.unwrap();
        settling.await.unwrap().unwrap();
        assert_eq!(
            store.flush_stats().flushes,
            1,
            "the settle rode the commit's flush"
        );
    }

    #[tokio::test]
    async fn commit_after_close_reports_closed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&config(dir.path()), "closing").unwrap();
        let table: Table<u64, u64> = store.table("numbers").unwrap();
        store.close().unwrap();
        table.insert(&1, &1).unwrap();
        assert!(matches!(
            store.commit().await,
            Err(StorageError::Closed { .. })
        ));
        assert!(store.close().is_ok(), "closing twice is harmless");
    }

    #[test]
    fn only_a_replicated_store_notes_the_keys_it_writes() {
        struct Nothing;
        impl crate::Replicator for Nothing {
            fn replicate(&self, _: &crate::Batch) -> Result<(), crate::ReplicationError> {
                Ok(())
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let plain = Store::open(&config(dir.path()), "plain").unwrap();
        let table: Table<u64, u64> = plain.table("numbers").unwrap();
        table.insert(&1, &1).unwrap();
        plain
            .transaction::<(), ()>(&[&table], |tx| Ok(tx.table(&table)?.insert(&2, &2)?))
            .unwrap();
        assert!(plain.inner.clock.journal().is_none());

        let replicated = Store::open(
            &StorageConfig {
                replicator: crate::ReplicatorSlot::new(Arc::new(Nothing)),
                ..config(dir.path())
            },
            "replicated",
        )
        .unwrap();
        let journal = || replicated.inner.clock.journal().unwrap();
        let table: Table<u64, u64> = replicated.table("numbers").unwrap();
        table.insert(&1, &1).unwrap();
        assert!(!journal().is_empty());
        replicated.commit_blocking().unwrap();
        assert!(journal().is_empty(), "the commit took the keys");
        replicated
            .transaction::<(), ()>(&[&table], |tx| Ok(tx.table(&table)?.remove(&1)?))
            .unwrap();
        let taken = journal().take();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken.values().next().unwrap().len(), 1);
    }

    #[test]
    fn a_corrupt_record_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&config(dir.path()), "corrupt").unwrap();
        let table: Table<u64, String> = store.table("words").unwrap();
        table.insert(&1, &"fine".to_owned()).unwrap();
        table
            .tree
            .insert(2u64.to_key_bytes(), &[1u8, 0xFF, 0xFF][..])
            .unwrap();
        table.tree.insert(&[1u8][..], &[1u8, 0][..]).unwrap();
        assert!(matches!(table.get(&2), Err(StorageError::Corrupt { .. })));
        let results: Vec<_> = table.iter().collect();
        assert_eq!(results.len(), 3);
        assert!(results[0].is_ok());
        assert!(
            matches!(results[1], Err(StorageError::Corrupt { .. })),
            "bad value"
        );
        assert!(
            matches!(results[2], Err(StorageError::Corrupt { .. })),
            "short key"
        );
    }

    #[test]
    fn transactions_are_all_or_nothing_and_index_conflicts_are_typed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&config(dir.path()), "tx").unwrap();
        let people: Table<u64, String> = store.table("people").unwrap();
        let by_email: UniqueIndex<String, u64> = store.unique_index("people_by_email").unwrap();

        let register = |id: u64, email: &str| {
            store.transaction::<(), ()>(&[&people, &by_email], |tx| {
                tx.index(&by_email)?.claim(&email.to_owned(), &id)?;
                tx.table(&people)?.insert(&id, &email.to_owned())?;
                Ok(())
            })
        };
        register(1, "ana@example.com").unwrap();
        let conflict = register(2, "ana@example.com").unwrap_err();
        assert!(matches!(
            conflict,
            TxError::Storage(StorageError::Conflict { .. })
        ));
        assert_eq!(
            people.get(&2).unwrap(),
            None,
            "the record did not land without its index"
        );
        register(1, "ana@example.com").unwrap();

        let aborted = store.transaction(&[&people], |tx| {
            tx.table(&people)?.insert(&3, &"x".to_owned())?;
            Err::<(), _>(TxAbort::abort("changed my mind"))
        });
        assert!(matches!(aborted, Err(TxError::Aborted("changed my mind"))));
        assert_eq!(people.get(&3).unwrap(), None);

        let outside = store.transaction::<(), ()>(&[&people], |tx| {
            tx.index(&by_email)?;
            Ok(())
        });
        assert!(matches!(
            outside,
            Err(TxError::Storage(StorageError::NotInTransaction { .. }))
        ));
    }

    #[test]
    fn unique_index_claims_are_exclusive_and_released_only_by_the_owner() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&config(dir.path()), "index").unwrap();
        let plates: UniqueIndex<String, u64> = store.unique_index("plates").unwrap();
        let plate = "ABC1D23".to_owned();
        plates.claim(&plate, &1).unwrap();
        plates.claim(&plate, &1).unwrap();
        assert!(matches!(
            plates.claim(&plate, &2),
            Err(StorageError::Conflict { .. })
        ));
        assert!(!plates.release(&plate, &2).unwrap());
        assert!(plates.release(&plate, &1).unwrap());
        plates.claim(&plate, &2).unwrap();
        assert_eq!(plates.get(&plate).unwrap(), Some(2));
    }
}
