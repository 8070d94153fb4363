//! What a unit's handle and its two tasks (the command channel and the position reporter)
//! share: the configuration, the doors, the backlog of fixes, the counters and the reason to
//! stop. Its own file so that the tasks depend on it and the client on them, never in a circle.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::{Notify, watch};

use super::servers::Servers;
use super::{Backlog, DoorState, Doors, UnitConfig, UnitError};

/// Why a unit stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Asked to ([`UnitHandle::shutdown`], or the handle was dropped).
    Shutdown,
    /// The server refused the device token: nothing more can be done without a new one.
    InvalidToken,
}

impl From<StopReason> for UnitError {
    fn from(reason: StopReason) -> Self {
        match reason {
            StopReason::Shutdown => UnitError::Stopped,
            StopReason::InvalidToken => UnitError::InvalidToken,
        }
    }
}

/// Counters since the unit started, for logs, dashboards and test assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnitStats {
    /// Commands read from the socket (duplicates and expired ones included).
    pub commands_received: u64,
    /// Commands executed (done or failed), each id once.
    pub commands_executed: u64,
    /// Re-sent commands acknowledged again without being executed again.
    pub duplicates_ignored: u64,
    /// Commands received after their `expires_at`: neither executed nor acknowledged.
    pub expired_ignored: u64,
    /// Acknowledgements written to the socket (re-acknowledgements included).
    pub acks_sent: u64,
    /// Frames from the server that could not be read (logged and ignored).
    pub invalid_frames: u64,
    /// Fixes the server took (accepted, duplicate or flagged).
    pub fixes_sent: u64,
    /// Fixes held right now, not yet delivered (waiting or in flight).
    pub fixes_buffered: u64,
    /// Fixes dropped because the backlog was full (oldest first).
    pub fixes_dropped: u64,
    /// Fixes the server refused as malformed (never re-sent).
    pub fixes_rejected: u64,
    /// WebSocket connections opened after the first one.
    pub reconnects: u64,
}

/// The counters behind [`UnitStats`], written by the tasks without locking.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) commands_received: AtomicU64,
    pub(crate) commands_executed: AtomicU64,
    pub(crate) duplicates_ignored: AtomicU64,
    pub(crate) expired_ignored: AtomicU64,
    pub(crate) acks_sent: AtomicU64,
    pub(crate) invalid_frames: AtomicU64,
    pub(crate) fixes_sent: AtomicU64,
    pub(crate) fixes_rejected: AtomicU64,
    pub(crate) reconnects: AtomicU64,
}

/// Adds to a counter; relaxed because each counter is read on its own.
pub(crate) fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// What the handle and the two tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: UnitConfig,
    /// The servers, and the one in use.
    pub(crate) servers: Servers,
    pub(crate) counters: Counters,
    pub(crate) doors: Mutex<Doors>,
    pub(crate) door_state: watch::Sender<DoorState>,
    pub(crate) backlog: Mutex<Backlog>,
    /// Wakes the position task when a fix is queued.
    pub(crate) fixes_queued: Notify,
    pub(crate) connected: watch::Sender<bool>,
    /// `None` while running; the first reason to stop wins.
    pub(crate) stop: watch::Sender<Option<StopReason>>,
}

impl Shared {
    /// A unit that has not started: doors locked, not connected, and the backlog its file
    /// holds (empty without a file).
    pub(crate) fn new(config: UnitConfig) -> Result<Self, UnitError> {
        let backlog = match &config.backlog_file {
            Some(path) => Backlog::open(config.backlog_capacity, path).map_err(|source| {
                UnitError::BacklogFile {
                    path: path.clone(),
                    source,
                }
            })?,
            None => Backlog::new(config.backlog_capacity),
        };
        let (door_state, _) = watch::channel(DoorState::Locked);
        let (connected, _) = watch::channel(false);
        let (stop, _) = watch::channel(None);
        let servers = Servers::new(config.roots()?);
        Ok(Shared {
            servers,
            counters: Counters::default(),
            doors: Mutex::new(Doors::new(DoorState::Locked)),
            door_state,
            backlog: Mutex::new(backlog),
            fixes_queued: Notify::new(),
            connected,
            stop,
            config,
        })
    }

    /// The doors, even if a panic poisoned the lock: their state is a plain enum, always valid.
    pub(crate) fn doors(&self) -> MutexGuard<'_, Doors> {
        self.doors.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The backlog, even if a panic poisoned the lock (every operation leaves it consistent).
    pub(crate) fn backlog(&self) -> MutexGuard<'_, Backlog> {
        self.backlog.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a reason to stop unless one is already recorded.
    pub(crate) fn request_stop(&self, reason: StopReason) {
        self.stop.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(reason);
            true
        });
    }

    /// Why the unit stopped, if it did.
    pub(crate) fn stop_reason(&self) -> Option<StopReason> {
        *self.stop.borrow()
    }
}

/// Resolves once the unit must stop. Used in every `select!` of the tasks so that shutdown
/// interrupts a wait, a request or a read.
pub(crate) async fn stopping(stop: &mut watch::Receiver<Option<StopReason>>) -> StopReason {
    match stop.wait_for(Option::is_some).await {
        Ok(reason) => reason.unwrap_or(StopReason::Shutdown),
        // The sender lives in `Shared`, which outlives the tasks; if it is gone, so is the unit.
        Err(_) => StopReason::Shutdown,
    }
}
