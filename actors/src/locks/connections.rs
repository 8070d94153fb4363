//! Which car units are connected to this process, and the way to each: the production unit
//! link. It knows nothing of the transport; the gateway's WebSocket channel attaches each unit
//! that connects and forwards what arrives on its receiver.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use crate::commands::UnitCommand;
use crate::ids::VehicleId;

/// The live command channels, one per connected unit.
#[derive(Default)]
pub struct UnitConnections {
    next: AtomicU64,
    live: Mutex<HashMap<VehicleId, Live>>,
}

struct Live {
    id: u64,
    commands: mpsc::UnboundedSender<UnitCommand>,
}

/// A connection's registration: its number, and where its commands arrive. The receiver
/// ends (yields `None`) when a newer connection of the same unit replaces this one.
pub struct Attached {
    /// Tells this connection apart from an earlier or later one of the same unit.
    pub id: u64,
    /// Commands for the unit.
    pub commands: mpsc::UnboundedReceiver<UnitCommand>,
}

impl UnitConnections {
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<VehicleId, Live>> {
        self.live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a new connection of `vehicle`'s unit, replacing (and so ending) any older one.
    pub fn attach(&self, vehicle: VehicleId) -> Attached {
        let (sender, commands) = mpsc::unbounded_channel();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if self
            .live()
            .insert(
                vehicle,
                Live {
                    id,
                    commands: sender,
                },
            )
            .is_some()
        {
            tracing::info!(%vehicle, "unit reconnected; the previous connection is replaced");
        }
        Attached { id, commands }
    }

    /// Forgets connection `id` of `vehicle`, unless a newer one has replaced it already.
    pub fn detach(&self, vehicle: VehicleId, id: u64) {
        let mut live = self.live();
        if live.get(&vehicle).is_some_and(|current| current.id == id) {
            live.remove(&vehicle);
        }
    }

    /// Whether `vehicle`'s unit is connected now.
    pub fn is_connected(&self, vehicle: VehicleId) -> bool {
        self.live().contains_key(&vehicle)
    }

    /// Units connected now.
    pub fn count(&self) -> usize {
        self.live().len()
    }

    /// Hands `command` to the live connection of `vehicle`'s unit, if any.
    pub(crate) fn deliver(&self, vehicle: VehicleId, command: UnitCommand) -> bool {
        self.live()
            .get(&vehicle)
            .is_some_and(|live| live.commands.send(command).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::LockAction;
    use crate::ids::CommandId;

    fn command() -> UnitCommand {
        UnitCommand {
            command_id: CommandId::new(),
            action: LockAction::Unlock,
            expires_at: chrono::Utc::now(),
        }
    }

    #[tokio::test]
    async fn commands_reach_the_newest_connection_only() {
        let connections = UnitConnections::default();
        let vehicle = VehicleId::new();
        assert!(!connections.deliver(vehicle, command()), "nobody connected");

        let mut first = connections.attach(vehicle);
        assert!(connections.deliver(vehicle, command()));
        assert!(first.commands.recv().await.is_some());

        let mut second = connections.attach(vehicle);
        assert!(
            first.commands.recv().await.is_none(),
            "the replaced connection's channel ends"
        );
        assert!(connections.deliver(vehicle, command()));
        assert!(second.commands.recv().await.is_some());

        connections.detach(vehicle, first.id);
        assert!(
            connections.is_connected(vehicle),
            "an old connection cannot detach the new one"
        );
        connections.detach(vehicle, second.id);
        assert!(!connections.is_connected(vehicle));
        assert_eq!(connections.count(), 0);
    }
}
