//! Position ingest in-process, through the location service's handle, beside its baselines
//! measured in the same run: a raw sled insert of a record of the same size, and a raw ractor
//! cast (the cost of the actor hop alone).
//!
//! Units report concurrently (every moving car every 30 s), so the service is driven by 64
//! concurrent reporters, each its own car, one fix per call: the shape of the real traffic.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actors::clock::SystemClock;
use actors::config::Config;
use actors::ids::VehicleId;
use actors::location::{self, FixInput, LocationHandle};
use benches::{runtime, temp_raw_sled};
use chrono::{TimeDelta, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ractor::{Actor, ActorProcessingErr, ActorRef};

const REPORTERS: u64 = 64;

static EPOCH: std::sync::LazyLock<chrono::DateTime<Utc>> =
    std::sync::LazyLock::new(|| Utc::now() - TimeDelta::days(60));

/// Fix number `n`: times 100 ms apart from 60 days ago (in the past however long the run, never
/// duplicates) and positions a few centimetres apart (never implausible), so every fix is
/// stored and none is rejected or flagged.
fn fix(n: u64) -> FixInput {
    FixInput {
        lat: -27.5954 + (n % 7) as f64 * 1e-7,
        lon: -48.5480,
        recorded_at: *EPOCH + TimeDelta::milliseconds(n as i64 * 100),
        speed_kmh: Some(30.0),
        heading_deg: Some(90.0),
        battery_pct: Some(80.0),
        altitude_m: None,
        accuracy_m: None,
        charging: None,
    }
}

struct Counter;

impl Actor for Counter {
    type Msg = u64;
    type State = Arc<AtomicU64>;
    type Arguments = Arc<AtomicU64>;

    async fn pre_start(
        &self,
        _: ActorRef<u64>,
        count: Arc<AtomicU64>,
    ) -> Result<Arc<AtomicU64>, ActorProcessingErr> {
        Ok(count)
    }

    async fn handle(
        &self,
        _: ActorRef<u64>,
        _: u64,
        count: &mut Arc<AtomicU64>,
    ) -> Result<(), ActorProcessingErr> {
        count.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn baselines(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest_baselines");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30);

    let (_dir, db) = temp_raw_sled();
    let tree = db.open_tree("history").expect("tree");
    let record = storage::codec::encode(&fix(0)).expect("encode");
    let mut n = 0u64;
    group.bench_function("raw_sled_insert", |b| {
        b.iter(|| {
            n += 1;
            let mut key = [0u8; 28];
            key[..8].copy_from_slice(&(n % 1000).to_be_bytes());
            key[16..24].copy_from_slice(&n.to_be_bytes());
            tree.insert(key, record.as_slice()).expect("insert");
        })
    });

    let rt = runtime();
    let count = Arc::new(AtomicU64::new(0));
    let (actor, _) = rt
        .block_on(Actor::spawn(None, Counter, count.clone()))
        .expect("actor");
    group.bench_function("raw_ractor_cast", |b| {
        b.iter_custom(|iterations| {
            let start = count.load(Ordering::Relaxed);
            let began = Instant::now();
            for i in 0..iterations {
                actor.cast(i).expect("cast");
            }
            while count.load(Ordering::Relaxed) < start + iterations {
                std::hint::spin_loop();
            }
            began.elapsed()
        })
    });
    actor.stop(None);
    group.finish();
}

fn location_ingest(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest_in_process");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));

    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.storage.data_dir = dir.path().to_owned();
    let store = storage::Store::open(&config.storage, "location").expect("store");
    let location: LocationHandle = rt
        .block_on(location::start(store, Arc::new(SystemClock), &config, None))
        .expect("location service");
    let cars: Vec<VehicleId> = (0..REPORTERS).map(|_| VehicleId::new()).collect();
    let next = Arc::new(AtomicU64::new(1));

    group.bench_function(format!("record_positions/{REPORTERS}_reporters"), |b| {
        b.iter_custom(|iterations| {
            let (location, cars, next) = (location.clone(), cars.clone(), next.clone());
            rt.block_on(async move {
                let began = Instant::now();
                let tasks: Vec<_> = (0..REPORTERS)
                    .map(|reporter| {
                        let (location, car, next) =
                            (location.clone(), cars[reporter as usize], next.clone());
                        let share =
                            iterations / REPORTERS + u64::from(reporter < iterations % REPORTERS);
                        tokio::spawn(async move {
                            for _ in 0..share {
                                let n = next.fetch_add(1, Ordering::Relaxed);
                                let report = location
                                    .record_positions(car, vec![fix(n)])
                                    .await
                                    .expect("ingest");
                                assert_eq!(report.accepted, 1, "{report:?}");
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("reporter");
                }
                began.elapsed()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, baselines, location_ingest);
criterion_main!(benches);
