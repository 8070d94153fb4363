//! The port through which commands reach car units.
//!
//! The production adapter is the WebSocket each unit keeps open; the in-process adapter below
//! stands in for the car's hardware in tests and in the in-process simulator, with the same
//! shape: a command is handed over without waiting, and the answer comes back later through
//! [`LocksHandle::acknowledge`](super::LocksHandle::acknowledge).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ids::VehicleId;
use crate::ports::LateBound;

use super::LocksHandle;
use crate::commands::{UnitCommand, UnitResult};

/// Delivery of commands to car units.
pub trait UnitLink: Send + Sync + 'static {
    /// Hands `command` to the car's unit if it is connected, without waiting for it; returns
    /// whether it was handed over. A command not handed over stays pending until the unit
    /// connects (and fetches its pending commands) or the command expires.
    fn deliver(&self, vehicle: VehicleId, command: UnitCommand) -> bool;
}

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

/// Units simulated in the same process, answering through the locks handle.
#[derive(Clone)]
pub struct InProcessUnits {
    locks: LateBound<LocksHandle>,
    behaviours: Arc<Mutex<HashMap<VehicleId, UnitBehaviour>>>,
    delivered: Arc<Mutex<Vec<(VehicleId, UnitCommand)>>>,
}

impl InProcessUnits {
    /// Units that obey unless told otherwise; answers go to the locks service once bound.
    pub fn new(locks: LateBound<LocksHandle>) -> Self {
        InProcessUnits {
            locks,
            behaviours: Arc::default(),
            delivered: Arc::default(),
        }
    }

    /// Sets how the unit of `vehicle` answers from now on.
    pub fn set_behaviour(&self, vehicle: VehicleId, behaviour: UnitBehaviour) {
        lock(&self.behaviours).insert(vehicle, behaviour);
    }

    /// Every command delivered so far, in order.
    pub fn delivered(&self) -> Vec<(VehicleId, UnitCommand)> {
        lock(&self.delivered).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl UnitLink for InProcessUnits {
    fn deliver(&self, vehicle: VehicleId, command: UnitCommand) -> bool {
        let behaviour = lock(&self.behaviours)
            .get(&vehicle)
            .cloned()
            .unwrap_or(UnitBehaviour::Obey);
        let (delay, result) = match behaviour {
            UnitBehaviour::Offline => return false,
            UnitBehaviour::Silent => {
                lock(&self.delivered).push((vehicle, command));
                return true;
            }
            UnitBehaviour::Obey => (Duration::ZERO, UnitResult::Done),
            UnitBehaviour::ObeyAfter(delay) => (delay, UnitResult::Done),
            UnitBehaviour::Refuse(reason) => (Duration::ZERO, UnitResult::Failed(Some(reason))),
        };
        lock(&self.delivered).push((vehicle, command.clone()));
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
}
