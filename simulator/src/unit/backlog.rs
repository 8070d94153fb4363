//! Fixes waiting to be delivered: the unit's memory of where the car went while it was out of
//! coverage.

use std::collections::VecDeque;
use std::io;
use std::path::Path;

use chrono::{DateTime, Utc};
use tracing::warn;

use super::Fix;
use super::journal::{Entry, Journal};

/// A bounded buffer of fixes kept in `recorded_at` order.
///
/// Bounded because a unit has little memory and an outage can last days; when full, the
/// oldest fix goes first (the fleet operator cares most about where the car is now). Kept in
/// time order so the server receives a track it can read as it comes, even when a fix was
/// reported late or a failed batch is put back.
///
/// One batch at a time may be *in flight* (taken out to be sent); it is still counted by
/// [`Backlog::held`] until the server answers, and put back with [`Backlog::restore`] if the
/// answer means "try again".
///
/// Opened with [`Backlog::open`], it keeps a journal on disk (see `journal`) and survives a
/// restart of the unit.
#[derive(Debug)]
pub struct Backlog {
    capacity: usize,
    waiting: VecDeque<Fix>,
    /// A copy of the batch being sent: still held (and written in a snapshot) until settled.
    in_flight: Vec<Fix>,
    dropped: u64,
    journal: Option<Journal>,
    journal_failures: u64,
}

impl Backlog {
    /// An empty backlog holding at most `capacity` fixes (at least one).
    pub fn new(capacity: usize) -> Self {
        Backlog {
            capacity: capacity.max(1),
            waiting: VecDeque::new(),
            in_flight: Vec::new(),
            dropped: 0,
            journal: None,
            journal_failures: 0,
        }
    }

    /// A backlog kept in the file at `path`, holding whatever the file held (the oldest
    /// dropped if it held more than `capacity`).
    pub fn open(capacity: usize, path: &Path) -> io::Result<Self> {
        let (journal, replayed) = Journal::open(path)?;
        if replayed.unreadable > 0 {
            warn!(
                lines = replayed.unreadable,
                "unreadable lines in the position backlog file were skipped"
            );
        }
        let mut backlog = Backlog::new(capacity);
        backlog.waiting = replayed.fixes.into();
        backlog.dropped = replayed.dropped;
        backlog.journal = Some(journal);
        backlog.enforce_capacity();
        Ok(backlog)
    }

    /// Adds a fix in time order (after any fix with the same time). Returns how many old fixes
    /// had to be dropped to make room, so the caller can warn.
    pub fn push(&mut self, fix: Fix) -> usize {
        let at = self
            .waiting
            .partition_point(|queued| queued.recorded_at <= fix.recorded_at);
        self.record(&Entry::Add(fix.clone()));
        self.waiting.insert(at, fix);
        let dropped = self.enforce_capacity();
        self.compact_if_grown();
        dropped
    }

    /// Takes out up to `max` of the oldest fixes to send them. Call [`Backlog::restore`] or
    /// [`Backlog::settle`] once the server answered.
    pub fn take_batch(&mut self, max: usize) -> Vec<Fix> {
        let count = max.min(self.waiting.len());
        let batch: Vec<Fix> = self.waiting.drain(..count).collect();
        self.in_flight = batch.clone();
        batch
    }

    /// Puts an undelivered batch back (in time order, among whatever arrived meanwhile).
    /// Returns how many old fixes had to be dropped to make room.
    pub fn restore(&mut self, batch: Vec<Fix>) -> usize {
        self.in_flight.clear();
        for fix in batch.into_iter().rev() {
            // The batch is older than almost everything that arrived meanwhile: search from
            // the front, where it goes back.
            let at = self
                .waiting
                .partition_point(|queued| queued.recorded_at < fix.recorded_at);
            self.waiting.insert(at, fix);
        }
        self.enforce_capacity()
    }

    /// The in-flight batch was answered for good (delivered, or refused for good).
    pub fn settle(&mut self) {
        let delivered = std::mem::take(&mut self.in_flight);
        if !delivered.is_empty() {
            self.record(&Entry::Sent(
                delivered.iter().map(|fix| fix.recorded_at).collect(),
            ));
        }
        self.compact_if_grown();
    }

    /// Fixes waiting, the in-flight batch excluded.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether no fix is waiting.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Fixes not yet delivered: waiting plus in flight.
    pub fn held(&self) -> usize {
        self.waiting.len() + self.in_flight.len()
    }

    /// How many fixes were dropped for lack of room since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// How many changes could not be written to the backlog file (the backlog carried on in
    /// memory).
    pub fn journal_failures(&self) -> u64 {
        self.journal_failures
    }

    fn enforce_capacity(&mut self) -> usize {
        let excess = self
            .held()
            .saturating_sub(self.capacity)
            .min(self.waiting.len());
        if excess == 0 {
            return 0;
        }
        let gone: Vec<DateTime<Utc>> = self
            .waiting
            .drain(..excess)
            .map(|fix| fix.recorded_at)
            .collect();
        self.dropped += excess as u64;
        self.record(&Entry::Dropped(gone));
        excess
    }

    /// Writes a change to the file, if there is one. A failing disk must not stop the car
    /// from reporting: the backlog carries on in memory and the failure is logged and counted.
    fn record(&mut self, entry: &Entry) {
        let Some(journal) = self.journal.as_mut() else {
            return;
        };
        if let Err(error) = journal.append(entry) {
            self.journal_failures += 1;
            warn!(%error, "position backlog file not updated");
        }
    }

    fn compact_if_grown(&mut self) {
        let held = self.held();
        let Some(journal) = self.journal.as_mut() else {
            return;
        };
        if !journal.wants_compaction(held) {
            return;
        }
        let held = self.in_flight.iter().chain(self.waiting.iter());
        if let Err(error) = journal.compact(held, self.dropped) {
            self.journal_failures += 1;
            warn!(%error, "position backlog file not compacted");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};

    fn at(second: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + second, 0)
            .single()
            .unwrap()
    }

    fn fix(second: i64) -> Fix {
        Fix::new(-27.6, -48.5, at(second))
    }

    fn seconds(fixes: &[Fix]) -> Vec<i64> {
        fixes
            .iter()
            .map(|fix| fix.recorded_at.timestamp() - 1_800_000_000)
            .collect()
    }

    #[test]
    fn batches_come_out_oldest_first_whatever_the_arrival_order() {
        let mut backlog = Backlog::new(100);
        for second in [3, 1, 2, 5, 4] {
            backlog.push(fix(second));
        }
        assert_eq!(seconds(&backlog.take_batch(3)), [1, 2, 3]);
        backlog.settle();
        assert_eq!(seconds(&backlog.take_batch(3)), [4, 5]);
    }

    #[test]
    fn a_full_backlog_drops_the_oldest_and_counts_them() {
        let mut backlog = Backlog::new(3);
        for second in 0..3 {
            assert_eq!(backlog.push(fix(second)), 0);
        }
        assert_eq!(backlog.push(fix(3)), 1);
        assert_eq!(backlog.push(fix(4)), 1);
        assert_eq!(backlog.dropped(), 2);
        assert_eq!(seconds(&backlog.take_batch(10)), [2, 3, 4]);
    }

    #[test]
    fn a_restored_batch_goes_back_in_time_order() {
        let mut backlog = Backlog::new(100);
        for second in [10, 20, 30] {
            backlog.push(fix(second));
        }
        let batch = backlog.take_batch(2);
        assert_eq!(backlog.held(), 3);
        backlog.push(fix(15));
        backlog.push(fix(40));
        assert_eq!(backlog.held(), 5);
        backlog.restore(batch);
        assert_eq!(backlog.held(), 5);
        assert_eq!(seconds(&backlog.take_batch(10)), [10, 15, 20, 30, 40]);
    }

    #[test]
    fn the_in_flight_batch_counts_against_the_capacity() {
        let mut backlog = Backlog::new(3);
        backlog.push(fix(1));
        backlog.push(fix(2));
        let batch = backlog.take_batch(2);
        assert_eq!(backlog.push(fix(3)), 0);
        // Full: the batch being sent cannot be dropped (it may be delivered), so the oldest
        // waiting fix goes.
        assert_eq!(backlog.push(fix(4)), 1);
        assert_eq!(backlog.push(fix(5)), 1);
        assert_eq!(backlog.restore(batch), 0);
        assert_eq!(seconds(&backlog.take_batch(10)), [1, 2, 5]);
        assert_eq!(backlog.dropped(), 2);
    }

    #[test]
    fn settling_forgets_the_in_flight_batch() {
        let mut backlog = Backlog::new(10);
        backlog.push(fix(1));
        let _delivered = backlog.take_batch(10);
        assert_eq!(backlog.held(), 1);
        backlog.settle();
        assert_eq!(backlog.held(), 0);
        assert!(backlog.is_empty());
    }
}
