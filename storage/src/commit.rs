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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::error::{StorageError, StorageResult};
use crate::stats::FlushStats;

/// Write sequence numbers shared by a store's tables and its committer.
#[derive(Debug, Default)]
pub(crate) struct WriteClock {
    /// Incremented after every completed write (insert, remove, transaction).
    written: AtomicU64,
    /// The highest write sequence number known to be on disk.
    durable: AtomicU64,
}

impl WriteClock {
    /// Records that a write has completed and returns its sequence number.
    pub(crate) fn tick(&self) -> u64 {
        self.written.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub(crate) fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    pub(crate) fn durable(&self) -> u64 {
        self.durable.load(Ordering::SeqCst)
    }
}

enum Request {
    /// Acknowledge once every write up to `upto` is durable.
    Commit { upto: u64, reply: Reply },
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
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Committer {
    /// Starts the committer thread for `db`, flushing lazily written data every `lazy_every`.
    pub(crate) fn start(
        store: &str,
        db: sled::Db,
        clock: Arc<WriteClock>,
        stats: Arc<FlushStats>,
        lazy_every: Duration,
        window: Duration,
    ) -> StorageResult<Self> {
        let (requests, inbox) = mpsc::channel();
        let worker = Worker {
            db,
            clock: clock.clone(),
            stats,
            inbox,
            lazy_every,
            window,
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
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    fn closed(&self) -> StorageError {
        StorageError::Closed {
            store: self.store.clone(),
        }
    }

    /// Waits until every write completed before this call is on disk.
    pub(crate) async fn commit(&self) -> StorageResult<()> {
        let upto = self.clock.written();
        if upto <= self.clock.durable() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Commit {
                upto,
                reply: Reply::Async(reply),
            })
            .map_err(|_| self.closed())?;
        answer.await.map_err(|_| self.closed())?
    }

    /// [`Committer::commit`] for synchronous callers outside an async runtime.
    pub(crate) fn commit_blocking(&self) -> StorageResult<()> {
        let upto = self.clock.written();
        if upto <= self.clock.durable() {
            return Ok(());
        }
        let (reply, answer) = mpsc::channel();
        self.requests
            .send(Request::Commit {
                upto,
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

struct Worker {
    db: sled::Db,
    clock: Arc<WriteClock>,
    stats: Arc<FlushStats>,
    inbox: mpsc::Receiver<Request>,
    lazy_every: Duration,
    /// The group-commit window (see `StorageConfig::commit_window_us`).
    window: Duration,
}

impl Worker {
    fn run(self) {
        let mut waiting: Vec<(u64, Reply)> = Vec::new();
        let mut next_lazy_flush = Instant::now() + self.lazy_every;
        let mut last_flush_end = Instant::now() - self.window;
        loop {
            let timeout = next_lazy_flush.saturating_duration_since(Instant::now());
            let first = match self.inbox.recv_timeout(timeout) {
                Ok(request) => Some(request),
                Err(RecvTimeoutError::Timeout) => None,
                // Every handle is gone: make what was written durable and stop.
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.flush();
                    return;
                }
            };
            let mut close = None;
            let mut take = |request: Request, waiting: &mut Vec<(u64, Reply)>| match request {
                Request::Commit { upto, reply } => waiting.push((upto, reply)),
                Request::Close { reply } => close = Some(reply),
            };
            for request in first.into_iter().chain(self.inbox.try_iter()) {
                take(request, &mut waiting);
            }
            // Under load (the last flush ended moments ago), let more commits join this one
            // until the window has passed: fewer, larger flushes.
            let window_end = last_flush_end + self.window;
            while !waiting.is_empty() && Instant::now() < window_end {
                match self
                    .inbox
                    .recv_timeout(window_end.saturating_duration_since(Instant::now()))
                {
                    Ok(request) => take(request, &mut waiting),
                    Err(_) => break,
                }
            }
            let needs_flush = close.is_some()
                || waiting.iter().any(|(upto, _)| *upto > self.clock.durable())
                || (Instant::now() >= next_lazy_flush
                    && self.clock.written() > self.clock.durable());
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
            for (upto, reply) in waiting.drain(..) {
                if upto <= durable {
                    reply.send(Ok(()));
                } else if let Err(error) = &result {
                    // Those writes may not be on disk: the writer must not report success.
                    reply.send(Err(StorageError::Engine(error.clone())));
                } else {
                    still_waiting.push((upto, reply));
                }
            }
            waiting = still_waiting;
            if let Some(reply) = close {
                reply.send(result.map_err(StorageError::Engine));
                return;
            }
        }
    }

    /// Flushes and advances the durable mark to what was written before the flush began.
    fn flush(&self) -> Result<(), sled::Error> {
        let covered = self.clock.written();
        let started = Instant::now();
        self.db.flush()?;
        self.stats.record(started.elapsed());
        self.clock.durable.fetch_max(covered, Ordering::SeqCst);
        Ok(())
    }
}
