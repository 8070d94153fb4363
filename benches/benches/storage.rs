//! Storage throughput: durable writes through group commit beside sequential insert + flush,
//! and lazy writes beside raw sled inserts, all measured in the same run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use benches::{SampleRecord, runtime, temp_raw_sled, temp_store};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use storage::{Batch, ReplicationError, Replicator, ReplicatorSlot, StorageConfig, Store, Table};

fn durable_writes(c: &mut Criterion) {
    let mut group = c.benchmark_group("durable_writes");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));

    // Baseline: what a service would get by flushing after each of its own writes.
    let (_raw_dir, db) = temp_raw_sled();
    let tree = db.open_tree("records").expect("tree");
    let codec_record = SampleRecord::new(1);
    let mut n = 0u64;
    group.bench_function("sequential_insert_flush", |b| {
        b.iter(|| {
            n += 1;
            let bytes = storage::codec::encode(&codec_record).expect("encode");
            tree.insert(n.to_be_bytes(), bytes).expect("insert");
            db.flush().expect("flush");
        })
    });

    let rt = runtime();
    for writers in [1u64, 16, 256] {
        let (_dir, store) = temp_store("bench");
        let table: Table<u64, SampleRecord> = store.table("records").expect("table");
        let next = Arc::new(AtomicU64::new(0));
        group.bench_function(format!("group_commit/{writers}_writers"), |b| {
            b.iter_custom(|iterations| {
                rt.block_on(concurrent_commits(
                    &store, &table, &next, writers, iterations,
                ))
            })
        });
    }
    group.finish();
}

/// What the committer's replication work costs (the dirty-key journal, the read-back
/// transaction, the batch encoding) with a log that answers at once, beside the same store
/// without a replicator.
fn replicated_writes(c: &mut Criterion) {
    let mut group = c.benchmark_group("replicated_writes");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    let rt = runtime();
    let noop: Arc<dyn Replicator> = Arc::new(NoopLog);
    for (name, slot) in [
        ("no_replicator", ReplicatorSlot::default()),
        ("noop_replicator", ReplicatorSlot::new(noop)),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = StorageConfig {
            data_dir: dir.path().to_owned(),
            replicator: slot,
            ..StorageConfig::default()
        };
        let store = Store::open(&config, "bench").expect("store");
        let table: Table<u64, SampleRecord> = store.table("records").expect("table");
        let next = Arc::new(AtomicU64::new(0));
        group.bench_function(format!("{name}/16_writers"), |b| {
            b.iter_custom(|iterations| {
                rt.block_on(concurrent_commits(&store, &table, &next, 16, iterations))
            })
        });
    }
    group.finish();
}

/// A replicated log that takes every batch at once, after encoding it as a real one would.
struct NoopLog;

impl Replicator for NoopLog {
    fn replicate(&self, batch: &Batch) -> Result<(), ReplicationError> {
        std::hint::black_box(batch.encode());
        Ok(())
    }
}

/// `iterations` durable writes spread over `writers` tasks, each write waiting for its commit.
async fn concurrent_commits(
    store: &Store,
    table: &Table<u64, SampleRecord>,
    next: &Arc<AtomicU64>,
    writers: u64,
    iterations: u64,
) -> Duration {
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let (store, table, next) = (store.clone(), table.clone(), next.clone());
            // Spread the iterations over the writers; each write waits for its flush.
            let share = iterations / writers + u64::from(writer < iterations % writers);
            tokio::spawn(async move {
                for _ in 0..share {
                    let key = next.fetch_add(1, Ordering::Relaxed);
                    table.insert(&key, &SampleRecord::new(key)).expect("insert");
                    store.commit().await.expect("commit");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
    started.elapsed()
}

fn lazy_writes(c: &mut Criterion) {
    let mut group = c.benchmark_group("lazy_writes");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30);

    let (_raw_dir, db) = temp_raw_sled();
    let tree = db.open_tree("records").expect("tree");
    let record = SampleRecord::new(7);
    let bytes = storage::codec::encode(&record).expect("encode");
    let mut n = 0u64;
    group.bench_function("raw_sled_insert", |b| {
        b.iter(|| {
            n += 1;
            tree.insert(n.to_be_bytes(), bytes.as_slice())
                .expect("insert");
        })
    });

    let (_dir, store) = temp_store("bench");
    let table: Table<u64, SampleRecord> = store.table("records").expect("table");
    let mut n = 0u64;
    group.bench_function("table_insert", |b| {
        b.iter(|| {
            n += 1;
            table.insert(&n, &record).expect("insert");
        })
    });
    group.finish();
}

criterion_group!(benches, durable_writes, replicated_writes, lazy_writes);
criterion_main!(benches);
