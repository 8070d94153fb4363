//! Group commit: one committer thread per sled `Db`.
//!
//! sled 0.34.7 deadlocks when its asynchronous flush runs concurrently (sled issue #1308, reproduced on
//! this machine), and a flush (fsync) costs far more than a write. So writers never flush:
//! they write, then ask the committer to make that write durable. The committer is the only
//! caller of `Db::flush` for its store. It takes every request that is waiting, reads the write
//! sequence number, runs one flush, and acknowledges every request whose write precedes that
//! number. While a flush runs, new requests queue up and share the next one: batches grow with
//! load, which is what lets many concurrent writers beat sequential insert-and-flush.
//!
//! The committer is a plain OS thread rather than a tokio task: `flush` blocks on I/O, and a
//! thread of its own keeps it off the async workers and usable from synchronous code (tests,
//! benches, the crash test's child process). The same thread runs the periodic flush of the
//! lazy durability class, so the two never overlap either.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::error::{StorageError, StorageResult};
use crate::journal::{Journal, Touched};
use crate::replicated_flush::{FlushError, ReplicatedFlush};
use crate::replication::{ReplicationError, Replicator};
use crate::stats::FlushStats;

/// Write sequence numbers shared by a store's tables and its committer.
#[derive(Debug, Default)]
pub(crate) struct WriteClock {
    /// Incremented after every completed write (insert, remove, transaction).
    written: AtomicU64,
    /// The highest write sequence number known to be on disk.
    durable: AtomicU64,
    /// The keys written since the last replicated batch; only a replicated store keeps one.
    journal: Option<Journal>,
}

impl WriteClock {
    /// A clock for a store that replicates its writes (`journaled`) or not.
    pub(crate) fn new(journaled: bool) -> Self {
        WriteClock {
            journal: journaled.then(Journal::default),
            ..WriteClock::default()
        }
    }

    /// Records that a write has completed and returns its sequence number.
    pub(crate) fn tick(&self) -> u64 {
        self.written.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// [`WriteClock::tick`] for a write of `key` in `tree`, which a replicated store notes
    /// first (see `journal` for why the order matters). Call it after the sled write.
    pub(crate) fn tick_key(&self, tree: &Arc<str>, key: &[u8]) -> u64 {
        if let Some(journal) = &self.journal {
            journal.mark(tree, key);
        }
        self.tick()
    }

    /// [`WriteClock::tick`] for a committed transaction that wrote `touched`.
    pub(crate) fn tick_touched(&self, touched: Vec<Touched>) -> u64 {
        if let Some(journal) = &self.journal {
            journal.mark_all(touched);
        }
        self.tick()
    }

    /// Whether writes must note their keys (the store replicates).
    pub(crate) fn journaled(&self) -> bool {
        self.journal.is_some()
    }

    pub(crate) fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    pub(crate) fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    pub(crate) fn durable(&self) -> u64 {
        self.durable.load(Ordering::SeqCst)
    }
}

enum Request {
    /// Acknowledge once every write up to `upto` is durable; a request that `forces` gets a
    /// flush for it, one that does not rides the next flush that happens anyway.
    Commit {
        upto: u64,
        forces: bool,
        reply: Reply,
    },
    /// Flush everything, acknowledge, and stop the thread.
    Close { reply: Reply },
}

/// Where an acknowledgement goes: an async waiter, or a thread blocked outside any runtime
/// (tokio's `blocking_recv` panics inside one, and `close` runs from `Drop` anywhere).
enum Reply {
    Async(oneshot::Sender<StorageResult<()>>),
    Blocking(mpsc::Sender<StorageResult<()>>),
}

impl Reply {
    fn send(self, result: StorageResult<()>) {
        // A waiter that went away no longer needs the answer, so a failed send is ignored.
        match self {
            Reply::Async(sender) => drop(sender.send(result)),
            Reply::Blocking(sender) => drop(sender.send(result)),
        }
    }
}

/// The sending side of a store's committer.
pub(crate) struct Committer {
    store: String,
    requests: mpsc::Sender<Request>,
    clock: Arc<WriteClock>,
    /// Set once the replicated log fenced this store off: from then on no commit succeeds.
    fenced: Arc<OnceLock<ReplicationError>>,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Committer {
    /// Starts the committer thread for `db`, flushing lazily written data every `lazy_every`
    /// and, with a `replicator` (whose store's `clock` must then keep a journal), replicating
    /// every flush before acknowledging it.
    pub(crate) fn start(
        store: &str,
        db: sled::Db,
        clock: Arc<WriteClock>,
        stats: Arc<FlushStats>,
        timing: CommitTiming,
        replicator: Option<Arc<dyn Replicator>>,
    ) -> StorageResult<Self> {
        let (requests, inbox) = mpsc::channel();
        let fenced = Arc::new(OnceLock::new());
        let replicated = replicator
            .map(|replicator| ReplicatedFlush::new(store, db.clone(), replicator, fenced.clone()));
        let worker = Worker {
            store: store.to_owned(),
            db,
            clock: clock.clone(),
            stats,
            inbox,
            lazy_every: timing.lazy_every,
            window: timing.window,
            replicated,
            fenced: fenced.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("commit-{store}"))
            .spawn(move || worker.run())
            .map_err(|source| StorageError::Open {
                path: store.into(),
                source,
            })?;
        Ok(Committer {
            store: store.to_owned(),
            requests,
            clock,
            fenced,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    fn closed(&self) -> StorageError {
        StorageError::Closed {
            store: self.store.clone(),
        }
    }

    /// A deposed store acknowledges nothing, not even writes that were durable before.
    fn check_fenced(&self) -> StorageResult<()> {
        match self.fenced.get() {
            Some(reason) => Err(StorageError::Replication {
                store: self.store.clone(),
                source: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Waits until every write completed before this call is on disk (and, for a replicated
    /// store, in the replicated log).
    pub(crate) async fn commit(&self) -> StorageResult<()> {
        self.wait_durable(true).await
    }

    /// Waits like [`Committer::commit`] but asks for no flush of its own: it resolves with the
    /// next flush that runs anyway, the periodic one of lazy data at the latest.
    pub(crate) async fn settled(&self) -> StorageResult<()> {
        self.wait_durable(false).await
    }

    async fn wait_durable(&self, forces: bool) -> StorageResult<()> {
        self.check_fenced()?;
        let upto = self.clock.written();
        if upto <= self.clock.durable() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Commit {
                upto,
                forces,
                reply: Reply::Async(reply),
            })
            .map_err(|_| self.closed())?;
        answer.await.map_err(|_| self.closed())?
    }

    /// [`Committer::commit`] for synchronous callers outside an async runtime.
    pub(crate) fn commit_blocking(&self) -> StorageResult<()> {
        self.check_fenced()?;
        let upto = self.clock.written();
        if upto <= self.clock.durable() {
            return Ok(());
        }
        let (reply, answer) = mpsc::channel();
        self.requests
            .send(Request::Commit {
                upto,
                forces: true,
                reply: Reply::Blocking(reply),
            })
            .map_err(|_| self.closed())?;
        answer.recv().map_err(|_| self.closed())?
    }

    /// Flushes everything and stops the committer thread; later commits fail with `Closed`.
    pub(crate) fn close(&self) -> StorageResult<()> {
        let (reply, answer) = mpsc::channel();
        let request = Request::Close {
            reply: Reply::Blocking(reply),
        };
        if self.requests.send(request).is_err() {
            return Ok(()); // already closed
        }
        let Ok(result) = answer.recv() else {
            return Ok(()); // closed by a concurrent call
        };
        if let Ok(mut thread) = self.thread.lock()
            && let Some(handle) = thread.take()
        {
            let _ = handle.join();
        }
        result
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// How often the committer flushes lazily written data, and how long a durable commit may wait
/// for others to join it (see [`StorageConfig`](crate::StorageConfig)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CommitTiming {
    pub(crate) lazy_every: Duration,
    pub(crate) window: Duration,
}

/// A caller waiting for its writes to be durable.
struct Waiter {
    upto: u64,
    /// Whether it asked for a flush (a commit) or rides the next one (a settle).
    forces: bool,
    reply: Reply,
}

struct Worker {
    store: String,
    db: sled::Db,
    clock: Arc<WriteClock>,
    stats: Arc<FlushStats>,
    inbox: mpsc::Receiver<Request>,
    lazy_every: Duration,
    /// The group-commit window (see `StorageConfig::commit_window_us`).
    window: Duration,
    /// The replication step of every flush, for a store that has a replicator.
    replicated: Option<ReplicatedFlush>,
    fenced: Arc<OnceLock<ReplicationError>>,
}

impl Worker {
    fn run(mut self) {
        let mut waiting: Vec<Waiter> = Vec::new();
        let mut next_lazy_flush = Instant::now() + self.lazy_every;
        let mut last_flush_end = Instant::now() - self.window;
        loop {
            let timeout = next_lazy_flush.saturating_duration_since(Instant::now());
            let first = match self.inbox.recv_timeout(timeout) {
                Ok(request) => Some(request),
                Err(RecvTimeoutError::Timeout) => None,
                // Every handle is gone: make what was written durable and stop.
                Err(RecvTimeoutError::Disconnected) => {
                    if self.flush().is_err() {
                        self.flush_if_fenced();
                    }
                    return;
                }
            };
            let mut close = None;
            let mut take = |request: Request, waiting: &mut Vec<Waiter>| match request {
                Request::Commit {
                    upto,
                    forces,
                    reply,
                } => waiting.push(Waiter {
                    upto,
                    forces,
                    reply,
                }),
                Request::Close { reply } => close = Some(reply),
            };
            for request in first.into_iter().chain(self.inbox.try_iter()) {
                take(request, &mut waiting);
            }
            // Under load (the last flush ended moments ago), let more commits join this one
            // until the window has passed: fewer, larger flushes.
            let window_end = last_flush_end + self.window;
            while waiting.iter().any(|waiter| waiter.forces) && Instant::now() < window_end {
                match self
                    .inbox
                    .recv_timeout(window_end.saturating_duration_since(Instant::now()))
                {
                    Ok(request) => take(request, &mut waiting),
                    Err(_) => break,
                }
            }
            // A fenced store's lazy writes have nowhere to go: only waiters (to be refused) and
            // closing still run a flush.
            let needs_flush = close.is_some()
                || waiting
                    .iter()
                    .any(|waiter| waiter.forces && waiter.upto > self.clock.durable())
                || (Instant::now() >= next_lazy_flush
                    && self.clock.written() > self.clock.durable()
                    && self.fenced.get().is_none());
            let result = if needs_flush {
                let flushed = self.flush();
                last_flush_end = Instant::now();
                flushed
            } else {
                Ok(())
            };
            if Instant::now() >= next_lazy_flush {
                next_lazy_flush = Instant::now() + self.lazy_every;
            }
            let durable = self.clock.durable();
            let mut still_waiting = Vec::new();
            for waiter in waiting.drain(..) {
                if waiter.upto <= durable {
                    waiter.reply.send(Ok(()));
                } else if let Err(error) = &result {
                    // Those writes may not be on disk, or not in the replicated log: the writer
                    // must not report success.
                    waiter.reply.send(Err(error.to_storage(&self.store)));
                } else {
                    still_waiting.push(waiter);
                }
            }
            waiting = still_waiting;
            if let Some(reply) = close {
                self.flush_if_fenced();
                reply.send(result.map_err(|error| error.to_storage(&self.store)));
                return;
            }
        }
    }

    /// When the store stops fenced, nothing more reaches the log, but what this node wrote
    /// still goes to its own disk for whoever examines it.
    fn flush_if_fenced(&self) {
        if self.fenced.get().is_some() {
            let _ = self.db.flush();
        }
    }

    /// Flushes, replicates what the flush covered when the store has a replicator, and only
    /// then advances the durable mark to what was written before the flush began.
    fn flush(&mut self) -> Result<(), FlushError> {
        if let Some(reason) = self.fenced.get() {
            return Err(FlushError::Replication(reason.clone()));
        }
        let covered = self.clock.written();
        // Taken after reading `covered`: every write numbered up to it marked its keys first.
        let dirty = self.clock.journal().map(Journal::take);
        let started = Instant::now();
        if let Err(error) = self.db.flush() {
            if let (Some(journal), Some(dirty)) = (self.clock.journal(), dirty) {
                journal.restore(dirty);
            }
            return Err(FlushError::Engine(error));
        }
        self.stats.record(started.elapsed());
        if let (Some(replicated), Some(journal), Some(dirty)) =
            (&mut self.replicated, self.clock.journal(), dirty)
        {
            replicated.replicate(journal, dirty)?;
        }
        self.clock.durable.fetch_max(covered, Ordering::SeqCst);
        Ok(())
    }
}
