//! Replication through the store's committer: what reaches the replicator, when commits are
//! acknowledged, how failures are answered, and that a follower applying the recorded batches
//! in order ends with the leader's contents.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use storage::{
    Batch, ReplicationError, Replicator, ReplicatorSlot, StorageConfig, StorageError, Store, Table,
    TxAbort, UniqueIndex,
};

/// Records every batch it takes (after a round trip through the log encoding), answering
/// scripted failures first.
#[derive(Default)]
struct Recording {
    batches: Mutex<Vec<Batch>>,
    calls: Mutex<usize>,
    script: Mutex<VecDeque<ReplicationError>>,
}

impl Recording {
    fn failing_first(errors: impl IntoIterator<Item = ReplicationError>) -> Arc<Self> {
        let recording = Recording::default();
        recording.script.lock().unwrap().extend(errors);
        Arc::new(recording)
    }

    fn batches(&self) -> Vec<Batch> {
        self.batches.lock().unwrap().clone()
    }

    fn calls(&self) -> usize {
        *self.calls.lock().unwrap()
    }
}

impl Replicator for Recording {
    fn replicate(&self, batch: &Batch) -> Result<(), ReplicationError> {
        *self.calls.lock().unwrap() += 1;
        assert!(!batch.changes.is_empty(), "an empty batch was replicated");
        if let Some(error) = self.script.lock().unwrap().pop_front() {
            return Err(error);
        }
        let decoded = Batch::decode(&batch.encode()).unwrap();
        self.batches.lock().unwrap().push(decoded);
        Ok(())
    }
}

fn config(
    dir: &Path,
    replicator: Option<Arc<dyn Replicator>>,
    flush_every_ms: u64,
) -> StorageConfig {
    StorageConfig {
        data_dir: dir.to_owned(),
        cache_capacity_mb: 4,
        flush_every_ms,
        commit_window_us: 0,
        replicator: ReplicatorSlot(replicator),
    }
}

fn leader(dir: &Path, replicator: Arc<dyn Replicator>) -> Store {
    // Periodic flushes are rare unless a test asks for them: the tests drive the flushes.
    Store::open(&config(dir, Some(replicator), 60_000), "service").unwrap()
}

/// A fresh store in its own directory with `batches` applied in order, flushed.
fn follower(batches: &[Batch]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&config(dir.path(), None, 60_000), "service").unwrap();
    for batch in batches {
        store.apply(batch).unwrap();
    }
    store.commit_blocking().unwrap();
    (dir, store)
}

fn has_key(batches: &[Batch], tree: &str, key: &[u8]) -> bool {
    batches
        .iter()
        .flat_map(|batch| &batch.changes)
        .any(|change| change.tree == tree && change.key == key)
}

struct Service {
    people: Table<u64, String>,
    places: Table<(u8, u64), u64>,
    by_email: UniqueIndex<String, u64>,
}

impl Service {
    fn open(store: &Store) -> Self {
        Service {
            people: store.table("people").unwrap(),
            places: store.table("places").unwrap(),
            by_email: store.unique_index("people_by_email").unwrap(),
        }
    }

    fn run(&self, store: &Store, op: &Op) {
        match op {
            Op::Insert(id, name) => {
                self.people.insert(id, name).unwrap();
            }
            Op::InsertNew(id, name) => {
                self.people.insert_new(id, name).unwrap();
            }
            Op::Remove(id) => {
                self.people.remove(id).unwrap();
            }
            Op::Claim(email, id) => {
                // Claiming a value another id holds is refused: a conflict is part of the mix.
                let _ = self.by_email.claim(email, id);
            }
            Op::Release(email, id) => {
                self.by_email.release(email, id).unwrap();
            }
            Op::Register(id, email, place) => {
                let outbox = store.outbox().clone();
                // A conflict aborts the whole transaction: nothing of it may reach the log.
                let _ = store.transaction::<(), ()>(
                    &[&self.people, &self.places, &self.by_email, outbox.member()],
                    |tx| {
                        tx.index(&self.by_email)?.claim(email, id)?;
                        tx.table(&self.people)?.insert(id, email)?;
                        tx.table(&self.places)?.insert(&(*place, *id), id)?;
                        tx.table(&self.places)?
                            .remove(&(place.wrapping_add(1), *id))?;
                        outbox.append(tx, &format!("registered {id}"))?;
                        Ok(())
                    },
                );
            }
            Op::Abort(id) => {
                let aborted = store.transaction(&[&self.people], |tx| {
                    tx.table(&self.people)?.insert(id, &"never".to_owned())?;
                    Err::<(), _>(TxAbort::abort(()))
                });
                assert!(aborted.is_err());
            }
            Op::Event(n) => {
                store.outbox().append_alone(&format!("event {n}")).unwrap();
            }
            Op::Deliver(count) => {
                let events: Vec<(u64, String)> = store.outbox().peek(*count).unwrap();
                let sequences: Vec<u64> = events.iter().map(|(sequence, _)| *sequence).collect();
                store.outbox().remove(&sequences).unwrap();
            }
            Op::Commit => store.commit_blocking().unwrap(),
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u64, String),
    InsertNew(u64, String),
    Remove(u64),
    Claim(String, u64),
    Release(String, u64),
    Register(u64, String, u8),
    Abort(u64),
    Event(u32),
    Deliver(usize),
    Commit,
}

fn op() -> impl Strategy<Value = Op> {
    let id = || 0u64..12;
    let email = || "[a-c]{1,2}";
    prop_oneof![
        4 => (id(), "[a-z]{0,6}").prop_map(|(id, name)| Op::Insert(id, name)),
        1 => (id(), "[a-z]{0,6}").prop_map(|(id, name)| Op::InsertNew(id, name)),
        2 => id().prop_map(Op::Remove),
        2 => (email(), id()).prop_map(|(email, id)| Op::Claim(email, id)),
        1 => (email(), id()).prop_map(|(email, id)| Op::Release(email, id)),
        3 => (id(), email(), 0u8..3).prop_map(|(id, email, place)| Op::Register(id, email, place)),
        1 => id().prop_map(Op::Abort),
        1 => any::<u32>().prop_map(Op::Event),
        1 => (0usize..4).prop_map(Op::Deliver),
        2 => Just(Op::Commit),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_follower_applying_the_batches_in_order_matches_the_leader(
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(Recording::default());
        let store = leader(dir.path(), log.clone());
        let service = Service::open(&store);
        for op in &ops {
            service.run(&store, op);
        }
        store.commit_blocking().unwrap();
        let (_follower_dir, follower) = follower(&log.batches());
        prop_assert_eq!(follower.snapshot().unwrap(), store.snapshot().unwrap());
    }
}

#[test]
fn writers_on_several_threads_converge_on_the_follower() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Recording::default());
    let store = leader(dir.path(), log.clone());
    let writers: Vec<_> = (0..4u64)
        .map(|writer| {
            let store = store.clone();
            std::thread::spawn(move || {
                let service = Service::open(&store);
                // Each thread works through a fixed mix over ids shared with the others, so
                // that writes to one key race and commits interleave with writes.
                for n in 0..150u64 {
                    let id = (n * 7 + writer) % 20;
                    let email = format!("{}", (n + writer) % 9);
                    let op = match n % 8 {
                        0 | 1 => Op::Insert(id, format!("w{writer}n{n}")),
                        2 => Op::Remove(id),
                        3 => Op::Register(id, email, (n % 3) as u8),
                        4 => Op::Release(email, id),
                        5 => Op::Event(n as u32),
                        6 => Op::Deliver(2),
                        _ => Op::Commit,
                    };
                    service.run(&store, &op);
                }
                store.commit_blocking().unwrap();
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    store.commit_blocking().unwrap();
    let (_follower_dir, follower) = follower(&log.batches());
    let leader_contents = store.snapshot().unwrap();
    assert!(leader_contents.contains_key("people"));
    assert_eq!(follower.snapshot().unwrap(), leader_contents);
}

/// Tells the test when a batch arrives, then holds it until the test lets it through.
struct Gate {
    arrived: Mutex<mpsc::Sender<Batch>>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl Replicator for Gate {
    fn replicate(&self, batch: &Batch) -> Result<(), ReplicationError> {
        self.arrived.lock().unwrap().send(batch.clone()).unwrap();
        let released = self
            .release
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(30));
        released.map_err(|_| ReplicationError::Unavailable {
            reason: "the test never released the batch".into(),
        })
    }
}

#[test]
fn a_commit_is_acknowledged_only_after_its_batch_was_replicated() {
    let dir = tempfile::tempdir().unwrap();
    let (arrived_tx, arrived) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let gate = Arc::new(Gate {
        arrived: Mutex::new(arrived_tx),
        release: Mutex::new(release_rx),
    });
    let store = leader(dir.path(), gate);
    let people: Table<u64, String> = store.table("people").unwrap();
    people.insert(&1, &"ana".to_owned()).unwrap();

    let (done_tx, done) = mpsc::channel();
    let committer = store.clone();
    let waiter = std::thread::spawn(move || done_tx.send(committer.commit_blocking()).unwrap());

    let batch = arrived.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(batch.store, "service");
    assert_eq!(batch.changes.len(), 1);
    assert_eq!(batch.changes[0].tree, "people");
    // The replicator holds the batch: the committer cannot have answered yet.
    assert!(matches!(done.try_recv(), Err(mpsc::TryRecvError::Empty)));
    release.send(()).unwrap();
    done.recv_timeout(Duration::from_secs(30)).unwrap().unwrap();
    waiter.join().unwrap();
}

#[test]
fn an_unavailable_log_fails_that_round_and_its_keys_ride_a_later_batch() {
    let dir = tempfile::tempdir().unwrap();
    let log = Recording::failing_first([ReplicationError::Unavailable {
        reason: "no quorum".into(),
    }]);
    let store = leader(dir.path(), log.clone());
    let people: Table<u64, String> = store.table("people").unwrap();
    people.insert(&1, &"ana".to_owned()).unwrap();

    let failed = store.commit_blocking().unwrap_err();
    assert!(
        matches!(
            &failed,
            StorageError::Replication { store, source: ReplicationError::Unavailable { .. } }
                if store == "service"
        ),
        "{failed}"
    );
    assert!(failed.is_replication());
    assert!(log.batches().is_empty());

    people.insert(&2, &"bia".to_owned()).unwrap();
    store.commit_blocking().unwrap();
    let batches = log.batches();
    assert_eq!(batches.len(), 1);
    assert!(has_key(
        &batches,
        "people",
        &storage::Key::to_key_bytes(&1u64)
    ));
    assert!(has_key(
        &batches,
        "people",
        &storage::Key::to_key_bytes(&2u64)
    ));
    let (_follower_dir, follower) = follower(&batches);
    assert_eq!(follower.snapshot().unwrap(), store.snapshot().unwrap());
}

#[test]
fn a_fenced_store_never_acknowledges_again_and_replicates_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    let log = Recording::failing_first([ReplicationError::Fenced {
        reason: "another leader".into(),
    }]);
    let store = leader(dir.path(), log.clone());
    let people: Table<u64, String> = store.table("people").unwrap();
    people.insert(&1, &"ana".to_owned()).unwrap();
    let fenced = |result: Result<(), StorageError>| {
        matches!(
            result,
            Err(StorageError::Replication {
                source: ReplicationError::Fenced { .. },
                ..
            })
        )
    };
    assert!(fenced(store.commit_blocking()));
    people.insert(&2, &"bia".to_owned()).unwrap();
    assert!(fenced(store.commit_blocking()));
    assert!(
        fenced(store.commit_blocking()),
        "even with nothing new written"
    );
    assert!(fenced(store.close()));
    assert_eq!(
        log.calls(),
        1,
        "nothing was offered to the log after the fence"
    );
    assert!(log.batches().is_empty());
}

#[test]
fn lazy_writes_reach_the_log_through_the_periodic_flush() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Recording::default());
    let store = Store::open(
        &config(dir.path(), Some(log.clone() as Arc<dyn Replicator>), 20),
        "service",
    )
    .unwrap();
    let positions: Table<u64, u64> = store.table("positions").unwrap();
    positions.insert(&7, &70).unwrap();
    let key = storage::Key::to_key_bytes(&7u64);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !has_key(&log.batches(), "positions", &key) {
        assert!(
            Instant::now() < deadline,
            "no periodic flush replicated the write"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let (_follower_dir, follower) = follower(&log.batches());
    assert_eq!(follower.snapshot().unwrap(), store.snapshot().unwrap());
}

#[test]
fn a_follower_replicates_nothing_of_what_it_applies() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Recording::default());
    let store = leader(dir.path(), log.clone());
    let people: Table<u64, String> = store.table("people").unwrap();
    people.insert(&1, &"ana".to_owned()).unwrap();
    store.commit_blocking().unwrap();

    let follower_dir = tempfile::tempdir().unwrap();
    let follower_log = Arc::new(Recording::default());
    let follower = leader(follower_dir.path(), follower_log.clone());
    for batch in log.batches() {
        follower.apply(&batch).unwrap();
    }
    follower.commit_blocking().unwrap();
    assert_eq!(follower_log.calls(), 0);
    assert_eq!(follower.snapshot().unwrap(), store.snapshot().unwrap());
}
