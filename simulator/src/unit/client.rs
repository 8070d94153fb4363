//! Starting a unit, and the handle through which the rest of the car (or a test) drives it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::warn;

use super::shared::{Shared, StopReason, UnitStats, stopping};
use super::{Behaviour, DoorState, Fix, UnitConfig, UnitError};

/// Starts units.
#[derive(Debug)]
pub struct UnitClient;

impl UnitClient {
    /// Starts a unit: one task keeps the command WebSocket open, another delivers positions.
    /// Must be called inside a tokio runtime. Fails only on settings that cannot work (an
    /// `https://` URL, an empty token…); network trouble is retried in the background.
    pub fn spawn(config: UnitConfig) -> Result<UnitHandle, UnitError> {
        config.validate()?;
        let tls = super::tls::client_config(&config.ca_certificates)?;
        let commands = super::commands::CommandChannel::new(&config, Arc::clone(&tls))?;
        let positions = super::positions::Reporter::new(&config, &tls)?;
        let shared = Arc::new(Shared::new(config)?);
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
