//! The frames of the command channel.
//!
//! Server → unit: `{"command_id", "action": "unlock" | "lock", "expires_at"}`.
//! Unit → server: `{"command_id", "result": "done" | "failed", "reason"?}`.
//! A frame the server cannot read is answered with `{"error": "..."}` and otherwise ignored, so
//! a unit with a bug learns of it without losing its connection.
//!
//! A `reason` longer than 200 characters is truncated, not refused: the acknowledgement still
//! settles the command with the first 200 characters (control characters as spaces), and the
//! unit is answered `{"error": "reason longer than 200 characters: ...", "command_id"}`.
//! Refusing it would drop a real failure on the floor: the command would expire and the renter
//! would learn less than the unit told.

use actors::commands::{MAX_REASON_CHARS, bounded_reason};
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
    /// Why it failed, for the renter: at most 200 characters are kept.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub reason: Option<String>,
}

impl AckFrame {
    /// The acknowledgement as the locks service takes it, its reason bounded (see the module).
    pub fn unit_result(&self) -> UnitResult {
        match self.result {
            AckResult::Done => UnitResult::Done,
            AckResult::Failed => UnitResult::Failed(
                self.reason
                    .as_deref()
                    .map(|reason| bounded_reason(reason).0),
            ),
        }
    }

    /// The protocol error to send back when the reason was too long (it was truncated).
    pub fn reason_error(&self) -> Option<serde_json::Value> {
        let cut = self
            .reason
            .as_deref()
            .is_some_and(|reason| bounded_reason(reason).1);
        cut.then(|| {
            serde_json::json!({
                "error": format!(
                    "reason longer than {MAX_REASON_CHARS} characters: only the first {MAX_REASON_CHARS} were kept"
                ),
                "command_id": self.command_id,
            })
        })
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

    #[test]
    fn a_long_reason_is_truncated_and_reported() {
        let id = CommandId::new();
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        let ack: AckFrame = serde_json::from_value(serde_json::json!({
            "command_id": id, "result": "failed", "reason": long,
        }))
        .unwrap();
        assert_eq!(
            ack.unit_result(),
            UnitResult::Failed(Some("x".repeat(MAX_REASON_CHARS)))
        );
        let error = ack.reason_error().unwrap();
        assert!(error["error"].as_str().unwrap().contains("200"), "{error}");
        assert_eq!(error["command_id"], id.to_string());
        let short: AckFrame = serde_json::from_value(serde_json::json!({
            "command_id": id, "result": "failed", "reason": "door open",
        }))
        .unwrap();
        assert!(short.reason_error().is_none());
    }
}
