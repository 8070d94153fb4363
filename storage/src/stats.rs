//! Flush figures a store keeps for its operators (exported as metrics by the gateway).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters updated by the committer after every flush.
#[derive(Debug, Default)]
pub(crate) struct FlushStats {
    flushes: AtomicU64,
    total_micros: AtomicU64,
    max_micros: AtomicU64,
}

/// A copy of a store's flush counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushSnapshot {
    /// Flushes run since the store was opened.
    pub flushes: u64,
    /// Time spent flushing, in microseconds.
    pub total_micros: u64,
    /// The longest single flush, in microseconds.
    pub max_micros: u64,
    /// Writes completed since the store was opened.
    pub writes: u64,
}

impl FlushStats {
    pub(crate) fn record(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.flushes.fetch_add(1, Ordering::Relaxed);
        self.total_micros.fetch_add(micros, Ordering::Relaxed);
        self.max_micros.fetch_max(micros, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, writes: u64) -> FlushSnapshot {
        FlushSnapshot {
            flushes: self.flushes.load(Ordering::Relaxed),
            total_micros: self.total_micros.load(Ordering::Relaxed),
            max_micros: self.max_micros.load(Ordering::Relaxed),
            writes,
        }
    }
}
