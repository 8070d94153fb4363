//! A car's lock state as stored; the command vocabulary itself is shared (`crate::commands`).

use serde::{Deserialize, Serialize};

use crate::commands::{CommandRecord, DoorState};

/// A car's lock state, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LockRecord {
    /// The doors.
    pub doors: DoorState,
    /// The command waiting for an answer, if any (at most one per car).
    pub pending: Option<CommandRecord>,
    /// The highest fencing number seen in an order for this car.
    pub fence: u64,
}

impl Default for LockRecord {
    fn default() -> Self {
        LockRecord {
            doors: DoorState::Unknown,
            pending: None,
            fence: 0,
        }
    }
}
