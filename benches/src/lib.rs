//! Shared set-up for the benchmarks: temporary stores and runtimes sized for this machine, and
//! for the load benchmarks the servers, the connection driver and the latency tally.

pub mod bare;
pub mod bookings;
pub mod driver;
pub mod fixes;
pub mod fleet;
pub mod identity;
pub mod inbox;
pub mod latency;
pub mod leader;
pub mod measure;
pub mod parallel;
pub mod process;
pub mod server;

use serde::{Deserialize, Serialize};
use storage::{StorageConfig, Store};
use tempfile::TempDir;

/// A record of about the size of a reservation or a customer profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SampleRecord {
    /// An id-like field.
    pub owner: u128,
    /// A few timestamps' worth of integers.
    pub numbers: [i64; 6],
    /// Some text.
    pub label: String,
}

impl SampleRecord {
    /// A record derived from `n`.
    pub fn new(n: u64) -> Self {
        SampleRecord {
            owner: u128::from(n) << 64 | u128::from(n),
            numbers: [n as i64; 6],
            label: format!("record number {n} with some text in it"),
        }
    }
}

/// A store in a fresh temporary directory, with the production flush interval.
pub fn temp_store(name: &str) -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = StorageConfig {
        data_dir: dir.path().to_owned(),
        cache_capacity_mb: 64,
        flush_every_ms: 500,
        commit_window_us: 1_000,
        ..StorageConfig::default()
    };
    let store = Store::open(&config, name).expect("store");
    (dir, store)
}

/// A raw sled database configured like a store (same cache, same mode, no background flusher):
/// the baseline the stores are compared with.
pub fn temp_raw_sled() -> (TempDir, sled::Db) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sled::Config::new()
        .path(dir.path())
        .cache_capacity(64 * 1024 * 1024)
        .mode(sled::Mode::HighThroughput)
        .flush_every_ms(None)
        .open()
        .expect("sled");
    (dir, db)
}

/// A multi-threaded runtime with one worker per core of this machine.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}
