//! Crash safety of durable writes.
//!
//! A child process (this test binary, re-executed) writes records as fast as it can from many
//! tasks and prints each id only after `Store::commit` acknowledged it. The parent kills the
//! child with SIGKILL at a random moment, reopens the store, and checks that every acknowledged
//! record is there and intact, along with the index entry written in the same transaction.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use storage::{StorageConfig, Store, Table, TxAbort, UniqueIndex};
use uuid::Uuid;

const CHILD_DIR: &str = "EVR_CRASH_CHILD_DIR";
const WRITERS: usize = 16;

fn config(dir: &Path) -> StorageConfig {
    StorageConfig {
        data_dir: dir.to_owned(),
        cache_capacity_mb: 16,
        // Long enough that only durable commits flush while the child runs.
        flush_every_ms: 60_000,
        commit_window_us: 1_000,
        ..StorageConfig::default()
    }
}

/// The record stored for `id`: derived from it, so the parent can check it byte for byte.
fn payload(id: &Uuid) -> Vec<u8> {
    id.as_bytes().iter().cycle().take(200).copied().collect()
}

fn tables(store: &Store) -> (Table<Uuid, Vec<u8>>, UniqueIndex<String, Uuid>) {
    (
        store.table("records").expect("table"),
        store.unique_index("records_by_name").expect("index"),
    )
}

/// Entry point of the child process; does nothing unless started by the crash test.
#[test]
#[ignore = "the crash test's child process; the crash tests start it"]
fn crash_child_process() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let store = Store::open(&config(Path::new(&dir)), "crash").expect("open");
        let (records, names) = tables(&store);
        let mut writers = Vec::new();
        for writer in 0..WRITERS {
            let (store, records, names) = (store.clone(), records.clone(), names.clone());
            writers.push(tokio::spawn(async move {
                for n in 0u64.. {
                    let id = Uuid::now_v7();
                    if (n + writer as u64).is_multiple_of(4) {
                        // Every fourth write is a record plus its index entry, atomically.
                        store
                            .transaction::<(), ()>(&[&records, &names], |tx| {
                                tx.table(&records)?.insert(&id, &payload(&id))?;
                                tx.index(&names)?.claim(&id.to_string(), &id)?;
                                Ok::<(), TxAbort<()>>(())
                            })
                            .expect("transaction");
                    } else {
                        records.insert(&id, &payload(&id)).expect("insert");
                    }
                    store.commit().await.expect("commit");
                    println!("{id}");
                }
            }));
        }
        for writer in writers {
            let _ = writer.await;
        }
    });
}

/// A small deterministic generator, seeded from the clock; the seed is printed to replay a run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// Runs one child, kills it after a random time, and returns the ids it acknowledged.
fn run_and_kill(dir: &Path, random: &mut XorShift) -> Vec<Uuid> {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "crash_child_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let first_ack = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let reader = {
        let (acknowledged, first_ack) = (acknowledged.clone(), first_ack.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The test harness prints its own lines; only ids count.
                if let Ok(id) = Uuid::parse_str(line.trim()) {
                    acknowledged.lock().unwrap().push(id);
                    let (seen, signal) = &*first_ack;
                    *seen.lock().unwrap() = true;
                    signal.notify_all();
                }
            }
        })
    };
    // Kill at a random moment after writes have begun (sometimes right away).
    {
        let (seen, signal) = &*first_ack;
        let guard = seen.lock().unwrap();
        let _ = signal
            .wait_timeout_while(guard, Duration::from_secs(20), |seen| !*seen)
            .unwrap();
    }
    std::thread::sleep(Duration::from_millis(random.next(120)));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    reader.join().expect("reader");
    Arc::try_unwrap(acknowledged).unwrap().into_inner().unwrap()
}

fn crash_cycles(cycles: usize) {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("crash test seed {seed}");
    let mut random = XorShift(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut all_acknowledged = Vec::new();
    let started = Instant::now();
    for cycle in 0..cycles {
        let acknowledged = run_and_kill(dir.path(), &mut random);
        all_acknowledged.extend(acknowledged);
        let store = Store::open(&config(dir.path()), "crash").expect("reopen after SIGKILL");
        let (records, names) = tables(&store);
        for id in &all_acknowledged {
            let stored = records.get(id).expect("readable record");
            assert_eq!(
                stored.as_deref(),
                Some(payload(id).as_slice()),
                "cycle {cycle}: acknowledged record {id} lost or damaged (seed {seed})"
            );
        }
        // Every index entry that survived points at a record that survived with it.
        for entry in names.iter() {
            let (name, owner) = entry.expect("readable index entry");
            assert_eq!(name, owner.to_string());
            assert!(
                records.contains(&owner).unwrap(),
                "index entry without its record (seed {seed})"
            );
        }
        store.close().unwrap();
    }
    println!(
        "{cycles} crash cycles, {} acknowledged writes verified, {:.1} s",
        all_acknowledged.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        !all_acknowledged.is_empty(),
        "the child never acknowledged a write"
    );
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    crash_cycles(50);
}

#[test]
#[ignore = "long variant: cargo test -p storage --test crash -- --ignored acknowledged_writes_survive_many"]
fn acknowledged_writes_survive_many_sigkills() {
    crash_cycles(500);
}
