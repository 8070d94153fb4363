//! Commands to car units and lock states, as stored and as shown.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CommandId, CustomerId, ReservationId, VehicleId};

/// What a command asks the car to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockAction {
    /// Open the doors.
    Unlock,
    /// Close the doors.
    Lock,
}

/// Where a command is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandStatus {
    /// Sent (or waiting for the unit to connect); no answer yet.
    Pending,
    /// The unit did it.
    Done,
    /// The unit could not do it.
    Failed,
    /// No answer before it expired; a later answer does not count.
    Expired,
}

/// A command, as logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRecord {
    /// Its id, echoed by the unit's acknowledgement.
    pub id: CommandId,
    /// The car.
    pub vehicle_id: VehicleId,
    /// What to do.
    pub action: LockAction,
    /// Where it is.
    pub status: CommandStatus,
    /// Who asked.
    pub customer_id: CustomerId,
    /// Under which reservation.
    pub reservation_id: ReservationId,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// After this instant the command is void, whatever the unit says.
    pub expires_at: DateTime<Utc>,
    /// When the unit answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// The unit's reason for a failure.
    pub reason: Option<String>,
}

/// A command as the unit receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitCommand {
    /// Echo this in the acknowledgement.
    pub command_id: CommandId,
    /// What to do.
    pub action: LockAction,
    /// Do nothing after this instant.
    pub expires_at: DateTime<Utc>,
}

impl From<&CommandRecord> for UnitCommand {
    fn from(record: &CommandRecord) -> Self {
        UnitCommand {
            command_id: record.id,
            action: record.action,
            expires_at: record.expires_at,
        }
    }
}

/// A unit's answer to a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnitResult {
    /// Done.
    Done,
    /// Not done, with the unit's reason.
    Failed(Option<String>),
}

/// What became of an acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AckOutcome {
    /// It settled the command.
    Accepted,
    /// The command was already settled by an earlier copy of this acknowledgement.
    Duplicate,
    /// It came after the command expired and changed nothing.
    Late,
}

/// The doors as last confirmed by the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DoorState {
    /// No command confirmed yet.
    Unknown,
    /// Locked.
    Locked,
    /// Unlocked.
    Unlocked,
}

/// A car's lock state, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LockRecord {
    /// The doors.
    pub doors: DoorState,
    /// The command waiting for an answer, if any (at most one per car).
    pub pending: Option<CommandRecord>,
}

impl Default for LockRecord {
    fn default() -> Self {
        LockRecord {
            doors: DoorState::Unknown,
            pending: None,
        }
    }
}
