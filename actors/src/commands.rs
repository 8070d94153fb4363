//! Commands to car units: the vocabulary shared by the service that decides who may open a car
//! (reservations, through each car's rentals actor) and the one that talks to the units and
//! keeps the command log (locks).
//!
//! Every command carries the reservation it was issued under and a fencing number: the car's
//! rentals actor raises the number each time it hands out the car, and locks refuses an order
//! whose number is below the highest it has seen for that car, so an order from a superseded
//! decision can never reach the unit.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ask::AskError;
use crate::ids::{CommandId, CustomerId, ReservationId, VehicleId};
use storage::StorageError;

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

/// Who issued a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandOrigin {
    /// The renter, from the app (unlock, lock, release).
    Renter,
    /// The system: the automatic end of a rental, or a relock after an unlock that arrived
    /// when nobody was entitled to the car any more.
    System,
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
    /// Who asked: the renter, or the system on the renter's reservation.
    pub customer_id: CustomerId,
    /// Under which reservation.
    pub reservation_id: ReservationId,
    /// The car's fencing number when it was issued.
    pub fence: u64,
    /// The renter or the system.
    pub origin: CommandOrigin,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// After this instant the command is void, whatever the unit says.
    pub expires_at: DateTime<Utc>,
    /// When the unit answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// The unit's reason for a failure.
    pub reason: Option<String>,
}

/// An order to send a command, as the car's rentals actor gives it. The id is chosen by the
/// caller so that it can be written down (as in flight) before the order leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOrder {
    /// The command's id.
    pub id: CommandId,
    /// The car.
    pub vehicle_id: VehicleId,
    /// What to do.
    pub action: LockAction,
    /// The renter on whose reservation it is issued.
    pub customer_id: CustomerId,
    /// That reservation.
    pub reservation_id: ReservationId,
    /// The car's fencing number for this decision.
    pub fence: u64,
    /// The renter or the system.
    pub origin: CommandOrigin,
    /// Refuse a lock while a fresh fix shows the car moving.
    pub refuse_if_moving: bool,
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

/// Most characters of a unit's failure reason that are kept. The reason is stored with the
/// command and shown to the renter, so a buggy or hostile unit must not be able to fill the
/// command log or the renter's screen with it.
pub const MAX_REASON_CHARS: usize = 200;

/// A unit's failure reason as it may be stored and shown: control characters (line breaks,
/// escapes) become spaces, and it is cut after [`MAX_REASON_CHARS`] characters (characters, not
/// bytes, so never inside one). The flag tells whether it was cut, for the caller to tell the
/// unit.
pub fn bounded_reason(reason: &str) -> (String, bool) {
    let mut chars = reason.chars();
    let kept: String = chars
        .by_ref()
        .take(MAX_REASON_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cut = chars.next().is_some();
    (kept, cut)
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
    /// It came after the command expired and changed nothing (an unlock it reports done is
    /// undone at once: the car is locked again).
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

/// Why a command could not be sent or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The car is moving: it is not locked under a driver.
    #[error("the car is moving")]
    Moving,
    /// Another command to this car is still waiting for the unit.
    #[error("another command to this car is in progress")]
    CommandInProgress,
    /// The order carries a fencing number below one already seen for the car: it comes from
    /// a decision that was superseded.
    #[error("the order for car {vehicle} is stale (fence {fence} < {current})")]
    StaleFence {
        /// The car.
        vehicle: VehicleId,
        /// The order's number.
        fence: u64,
        /// The highest number seen.
        current: u64,
    },
    /// The unit did not answer before the command expired.
    #[error("the car did not answer in time")]
    UnitTimeout,
    /// The unit answered that it could not do it.
    #[error("the car could not do it: {0}")]
    UnitFailed(String),
    /// An acknowledgement for a command this car never had.
    #[error("unknown command {0}")]
    UnknownCommand(CommandId),
    /// Location failed to answer (the movement check).
    #[error("the location service failed")]
    Location(#[source] crate::location::LocationError),
    /// An actor did not answer.
    #[error(transparent)]
    Ask(#[from] AskError),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl crate::error_kind::Kinded for CommandError {
    fn kind(&self) -> crate::error_kind::ErrorKind {
        use crate::error_kind::ErrorKind;
        match self {
            CommandError::Moving => ErrorKind::Moving,
            // A stale order lost to a newer decision about the same car: to its caller that
            // is another command under way.
            CommandError::CommandInProgress | CommandError::StaleFence { .. } => {
                ErrorKind::CommandInProgress
            }
            CommandError::UnitTimeout => ErrorKind::CarTimeout,
            CommandError::UnitFailed(_) => ErrorKind::CarFailed,
            CommandError::UnknownCommand(_) => ErrorKind::NotFound,
            CommandError::Location(_) => ErrorKind::Unavailable,
            CommandError::Ask(error) => error.kind(),
            CommandError::Storage(error) => error.kind(),
        }
    }
}

impl CommandError {
    /// The error a settled command stands for, if it did not succeed.
    pub fn from_settled(command: &CommandRecord) -> Option<CommandError> {
        match command.status {
            CommandStatus::Done => None,
            CommandStatus::Failed => Some(CommandError::UnitFailed(
                command
                    .reason
                    .clone()
                    .unwrap_or_else(|| "no reason given".into()),
            )),
            CommandStatus::Expired | CommandStatus::Pending => Some(CommandError::UnitTimeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_cut_by_characters_and_lose_control_characters() {
        assert_eq!(bounded_reason("door open"), ("door open".into(), false));
        assert_eq!(
            bounded_reason("door\nopen\u{1b}[2J"),
            ("door open [2J".into(), false)
        );
        let exact = "a".repeat(MAX_REASON_CHARS);
        assert_eq!(bounded_reason(&exact), (exact.clone(), false));
        // Multi-byte characters: 201 of them, 402 bytes, cut to 200 characters.
        let (kept, cut) = bounded_reason(&"ç".repeat(MAX_REASON_CHARS + 1));
        assert!(cut);
        assert_eq!(kept, "ç".repeat(MAX_REASON_CHARS));
    }
}
