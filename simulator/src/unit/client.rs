//! Starting a unit, and the handle through which the rest of the car (or a test) drives it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::warn;

use super::{Backlog, Behaviour, DoorState, Doors, Fix, UnitConfig, UnitError};

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
    /// A unit that has not started: doors locked, nothing buffered, not connected.
    pub(crate) fn new(config: UnitConfig) -> Self {
        let (door_state, _) = watch::channel(DoorState::Locked);
        let (connected, _) = watch::channel(false);
        let (stop, _) = watch::channel(None);
        Shared {
            counters: Counters::default(),
            doors: Mutex::new(Doors::new(DoorState::Locked)),
            door_state,
            backlog: Mutex::new(Backlog::new(config.backlog_capacity)),
            fixes_queued: Notify::new(),
            connected,
            stop,
            config,
        }
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

/// Starts units.
#[derive(Debug)]
pub struct UnitClient;

impl UnitClient {
    /// Starts a unit: one task keeps the command WebSocket open, another delivers positions.
    /// Must be called inside a tokio runtime. Fails only on settings that cannot work (an
    /// `https://` URL, an empty token…); network trouble is retried in the background.
    pub fn spawn(config: UnitConfig) -> Result<UnitHandle, UnitError> {
        config.validate()?;
        let commands = super::commands::CommandChannel::new(&config)?;
        let positions = super::positions::Reporter::new(&config)?;
        let shared = Arc::new(Shared::new(config));
        let tasks = vec![
            tokio::spawn(commands.run(Arc::clone(&shared))),
            tokio::spawn(positions.run(Arc::clone(&shared))),
        ];
        Ok(UnitHandle { shared, tasks })
    }
}

/// A running unit. Dropping it stops the unit too, but without waiting for the socket to
/// close: prefer [`UnitHandle::shutdown`].
#[derive(Debug)]
pub struct UnitHandle {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl UnitHandle {
    /// Queues a fix: sent at once when the server is reachable, kept in the backlog (oldest
    /// first, bounded) otherwise. Fails only when the unit has stopped.
    pub fn report(&self, fix: Fix) -> Result<(), UnitError> {
        if let Some(reason) = self.shared.stop_reason() {
            return Err(reason.into());
        }
        let dropped = self.shared.backlog().push(fix);
        if dropped > 0 {
            warn!(dropped, "position backlog full: oldest fixes dropped");
        }
        self.shared.fixes_queued.notify_one();
        Ok(())
    }

    /// Whether the car is locked now.
    pub fn doors(&self) -> DoorState {
        *self.shared.door_state.borrow()
    }

    /// Follows the door state: lets the car (or a simulator) react to a lock or an unlock.
    pub fn door_changes(&self) -> watch::Receiver<DoorState> {
        self.shared.door_state.subscribe()
    }

    /// Changes how the simulated doors treat the next commands.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.shared.doors().set_behaviour(behaviour);
    }

    /// Makes the next command fail with `reason`, once.
    pub fn fail_next(&self, reason: impl Into<String>) {
        self.shared.doors().fail_next(reason);
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> UnitStats {
        let counters = &self.shared.counters;
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let (held, dropped) = {
            let backlog = self.shared.backlog();
            (backlog.held() as u64, backlog.dropped())
        };
        UnitStats {
            commands_received: read(&counters.commands_received),
            commands_executed: read(&counters.commands_executed),
            duplicates_ignored: read(&counters.duplicates_ignored),
            expired_ignored: read(&counters.expired_ignored),
            acks_sent: read(&counters.acks_sent),
            invalid_frames: read(&counters.invalid_frames),
            fixes_sent: read(&counters.fixes_sent),
            fixes_buffered: held,
            fixes_dropped: dropped,
            fixes_rejected: read(&counters.fixes_rejected),
            reconnects: read(&counters.reconnects),
        }
    }

    /// Whether the command WebSocket is open right now.
    pub fn connected(&self) -> bool {
        *self.shared.connected.borrow()
    }

    /// Waits until the command WebSocket is open. Fails with [`UnitError::InvalidToken`] as
    /// soon as the server refuses the token, with [`UnitError::Timeout`] when time runs out.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), UnitError> {
        let mut connected = self.shared.connected.subscribe();
        let mut stop = self.shared.stop.subscribe();
        let wait = async {
            loop {
                if let Some(reason) = *stop.borrow_and_update() {
                    return Err(reason.into());
                }
                if *connected.borrow_and_update() {
                    return Ok(());
                }
                tokio::select! {
                    changed = connected.changed() => changed.map_err(|_| UnitError::Stopped)?,
                    changed = stop.changed() => changed.map_err(|_| UnitError::Stopped)?,
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or(Err(UnitError::Timeout(timeout)))
    }

    /// Resolves when the unit stops by itself (a refused token) or is shut down, with why.
    pub async fn stopped(&self) -> StopReason {
        stopping(&mut self.shared.stop.subscribe()).await
    }

    /// Stops the unit: closes the WebSocket politely (a close frame, then a short wait for the
    /// server's answer) and ends both tasks. Fixes not yet delivered are lost (the backlog
    /// lives in memory). Fails with [`UnitError::InvalidToken`] if that is why the unit had
    /// already stopped, so a caller learns it even if it never looked before.
    pub async fn shutdown(mut self) -> Result<(), UnitError> {
        self.shared.request_stop(StopReason::Shutdown);
        for task in self.tasks.drain(..) {
            if let Err(error) = task.await
                && error.is_panic()
            {
                warn!(%error, "a unit task panicked");
            }
        }
        match self.shared.stop_reason() {
            Some(StopReason::InvalidToken) => Err(UnitError::InvalidToken),
            _ => Ok(()),
        }
    }
}

impl Drop for UnitHandle {
    /// Stops the tasks rather than leaving a unit nobody can reach running forever.
    fn drop(&mut self) {
        self.shared.request_stop(StopReason::Shutdown);
    }
}
