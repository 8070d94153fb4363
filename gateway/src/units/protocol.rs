//! The frames of the command channel.
//!
//! Server → unit: `{"command_id", "action": "unlock" | "lock", "expires_at"}`.
//! Unit → server: `{"command_id", "result": "done" | "failed", "reason"?}`.
//! A frame the server cannot read is answered with `{"error": "..."}` and otherwise ignored, so
//! a unit with a bug learns of it without losing its connection.

use actors::ids::CommandId;
use actors::locks::{LockAction, UnitCommand, UnitResult};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A command as the unit receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommandFrame {
    /// Echo it in the acknowledgement.
    #[schema(value_type = String)]
    pub command_id: CommandId,
    /// `unlock` or `lock`.
    #[schema(value_type = String)]
    pub action: LockAction,
    /// Do nothing, and answer nothing, after this instant.
    pub expires_at: DateTime<Utc>,
}

impl From<UnitCommand> for CommandFrame {
    fn from(command: UnitCommand) -> Self {
        CommandFrame {
            command_id: command.command_id,
            action: command.action,
            expires_at: command.expires_at,
        }
    }
}

/// What the unit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AckResult {
    /// Done.
    Done,
    /// Not done.
    Failed,
}

/// A unit's acknowledgement of a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AckFrame {
    /// The command answered.
    #[schema(value_type = String)]
    pub command_id: CommandId,
    /// What the unit did.
    pub result: AckResult,
    /// Why it failed.
    #[serde(default)]
    pub reason: Option<String>,
}

impl AckFrame {
    /// The acknowledgement as the locks service takes it.
    pub fn unit_result(&self) -> UnitResult {
        match self.result {
            AckResult::Done => UnitResult::Done,
            AckResult::Failed => UnitResult::Failed(self.reason.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_documented_shape() {
        let id = CommandId::new();
        let frame = CommandFrame {
            command_id: id,
            action: LockAction::Unlock,
            expires_at: DateTime::parse_from_rfc3339("2026-11-23T10:00:10Z")
                .unwrap()
                .into(),
        };
        let json = serde_json::to_value(&frame).unwrap();
        assert_eq!(json["action"], "unlock");
        assert_eq!(json["command_id"], id.to_string());
        assert_eq!(json["expires_at"], "2026-11-23T10:00:10Z");

        let ack: AckFrame = serde_json::from_str(&format!(
            r#"{{"command_id":"{id}","result":"failed","reason":"door open"}}"#
        ))
        .unwrap();
        assert_eq!(
            ack.unit_result(),
            UnitResult::Failed(Some("door open".into()))
        );
        let done: AckFrame =
            serde_json::from_str(&format!(r#"{{"command_id":"{id}","result":"done"}}"#)).unwrap();
        assert_eq!(done.unit_result(), UnitResult::Done);
        assert!(serde_json::from_str::<AckFrame>(r#"{"command_id":"x","result":"done"}"#).is_err());
        assert!(
            serde_json::from_str::<AckFrame>(&format!(
                r#"{{"command_id":"{id}","result":"maybe"}}"#
            ))
            .is_err()
        );
    }
}
