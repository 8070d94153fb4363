//! Car units simulated in this process: they stand in for the cars' hardware in tests and in the
//! in-process simulator, with the production link's shape (a command is handed over without
//! waiting; the answer comes back later through the locks service).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::commands::{UnitCommand, UnitResult};
use crate::ids::VehicleId;
use crate::ports::LateBound;

use super::LocksHandle;

/// How a simulated unit answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitBehaviour {
    /// Does it and acknowledges at once.
    Obey,
    /// Acknowledges after a delay.
    ObeyAfter(Duration),
    /// Answers that it failed.
    Refuse(String),
    /// Receives the command and never answers.
    Silent,
    /// Not connected: nothing is delivered.
    Offline,
}

/// Units simulated in the same process, answering through the locks service of the one system
/// they are given to (see [`UnitLink::InProcess`](super::UnitLink::InProcess)).
#[derive(Clone)]
pub struct InProcessUnits {
    locks: LateBound<LocksHandle>,
    behaviours: Arc<Mutex<HashMap<VehicleId, UnitBehaviour>>>,
    delivered: Arc<Mutex<Vec<(VehicleId, UnitCommand)>>>,
    /// Ticks on every delivery, so that a test waits for a command instead of polling for it.
    deliveries: watch::Sender<usize>,
}

impl Default for InProcessUnits {
    fn default() -> Self {
        InProcessUnits::new()
    }
}

impl InProcessUnits {
    /// Units that obey unless told otherwise; their answers reach the locks service of the
    /// system they are started with.
    pub fn new() -> Self {
        InProcessUnits {
            locks: LateBound::new("locks"),
            behaviours: Arc::default(),
            delivered: Arc::default(),
            deliveries: watch::Sender::new(0),
        }
    }

    /// Sets how the unit of `vehicle` answers from now on.
    pub fn set_behaviour(&self, vehicle: VehicleId, behaviour: UnitBehaviour) {
        lock(&self.behaviours).insert(vehicle, behaviour);
    }

    /// Whether the unit of `vehicle` would take a command now (it is not scripted offline).
    pub fn reachable(&self, vehicle: VehicleId) -> bool {
        !matches!(
            lock(&self.behaviours).get(&vehicle),
            Some(UnitBehaviour::Offline)
        )
    }

    /// Every command delivered so far, in order.
    pub fn delivered(&self) -> Vec<(VehicleId, UnitCommand)> {
        lock(&self.delivered).clone()
    }

    /// Waits until the unit of `vehicle` has received `count` commands (counting from one),
    /// and answers the last of them.
    pub async fn wait_delivered(&self, vehicle: VehicleId, count: usize) -> UnitCommand {
        let nth = || {
            lock(&self.delivered)
                .iter()
                .filter(|(car, _)| *car == vehicle)
                .nth(count.saturating_sub(1))
                .map(|(_, command)| command.clone())
        };
        let mut deliveries = self.deliveries.subscribe();
        loop {
            if let Some(command) = nth() {
                return command;
            }
            // The sender lives in `self`, so the channel cannot close while this waits.
            let _ = deliveries.changed().await;
        }
    }

    /// Answers go to `locks` from now on; a second binding is ignored (units belong to one
    /// system).
    pub(crate) fn bind(&self, locks: &Arc<LocksHandle>) {
        self.locks.bind(locks);
    }

    /// Hands `command` to the simulated unit, which answers as scripted.
    pub(crate) fn deliver(&self, vehicle: VehicleId, command: UnitCommand) -> bool {
        let behaviour = lock(&self.behaviours)
            .get(&vehicle)
            .cloned()
            .unwrap_or(UnitBehaviour::Obey);
        let (delay, result) = match behaviour {
            UnitBehaviour::Offline => return false,
            UnitBehaviour::Silent => {
                self.record(vehicle, command);
                return true;
            }
            UnitBehaviour::Obey => (Duration::ZERO, UnitResult::Done),
            UnitBehaviour::ObeyAfter(delay) => (delay, UnitResult::Done),
            UnitBehaviour::Refuse(reason) => (Duration::ZERO, UnitResult::Failed(Some(reason))),
        };
        self.record(vehicle, command.clone());
        let locks = self.locks.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let Ok(locks) = locks.get() else { return };
            if let Err(error) = locks.acknowledge(vehicle, command.command_id, result).await {
                tracing::debug!(%vehicle, %error, "simulated unit's acknowledgement refused");
            }
        });
        true
    }

    fn record(&self, vehicle: VehicleId, command: UnitCommand) {
        lock(&self.delivered).push((vehicle, command));
        self.deliveries.send_modify(|count| *count += 1);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
