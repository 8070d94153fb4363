//! The wire format between a unit and the server, exactly as `API.md` fixes it.
//!
//! Kept apart from the networking so that the shapes can be read (and tested) on their own:
//! someone porting the unit to real hardware needs this file first.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::UnitError;

/// One position fix, as posted to `/v1/units/{vehicle_id}/positions`.
///
/// The server deduplicates by `recorded_at`, so re-sending a fix after an unclear failure is
/// safe; optional readings are left out of the JSON when unknown rather than sent as `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// Latitude in degrees (south is negative: Florianópolis is about −27.6).
    pub lat: f64,
    /// Longitude in degrees (west is negative: Florianópolis is about −48.5).
    pub lon: f64,
    /// When the fix was taken (by the unit's clock), not when it is sent.
    pub recorded_at: DateTime<Utc>,
    /// Ground speed, if the receiver reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_kmh: Option<f64>,
    /// Course over ground in degrees from north, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading_deg: Option<f64>,
    /// Traction battery charge, 0–100, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_pct: Option<f64>,
}

impl Fix {
    /// A fix with only the mandatory fields.
    pub fn new(lat: f64, lon: f64, recorded_at: DateTime<Utc>) -> Self {
        Fix {
            lat,
            lon,
            recorded_at,
            speed_kmh: None,
            heading_deg: None,
            battery_pct: None,
        }
    }
}

/// The 202 answer to a position report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PositionsAccepted {
    /// Fixes stored (implausible ones included).
    pub accepted: u64,
    /// Fixes the server already had (same `recorded_at`): ignored, not errors.
    pub duplicates: u64,
    /// Among the accepted, those the server found implausible and flagged.
    pub flagged: u64,
}

/// The members of the 400 problem answered when some fixes of a report were malformed. The
/// other fixes were kept, so the unit must not send them again.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PositionsRejected {
    /// Fixes stored.
    #[serde(default)]
    pub accepted: u64,
    /// Fixes already stored.
    #[serde(default)]
    pub duplicates: u64,
    /// Among the accepted, those flagged as implausible.
    #[serde(default)]
    pub flagged: u64,
    /// The refused fixes.
    pub rejected: Vec<RejectedFix>,
}

/// One refused fix of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedFix {
    /// Its index in the request, from 0 (a single fix is index 0).
    pub index: usize,
    /// What is wrong, field by field.
    #[serde(default)]
    pub errors: BTreeMap<String, String>,
}

/// What a command asks the doors to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Open the car for the renter.
    Unlock,
    /// Close the car.
    Lock,
}

/// A command, server → unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandFrame {
    /// Identifies the command; echoed in the acknowledgement, and the same id may arrive
    /// twice (the server re-sends pending commands on every new connection).
    pub command_id: Uuid,
    /// What to do.
    pub action: Action,
    /// After this instant (by the unit's clock) the command must be neither executed nor
    /// acknowledged: the renter has already been told it failed.
    pub expires_at: DateTime<Utc>,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AckResult {
    /// The doors did what was asked.
    Done,
    /// They could not; `reason` says why.
    Failed,
}

/// An acknowledgement, unit → server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckFrame {
    /// The command answered.
    pub command_id: Uuid,
    /// What happened.
    pub result: AckResult,
    /// Why it failed; absent (not `null`) when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl AckFrame {
    /// The acknowledgement of `command_id` for the outcome of executing it.
    pub fn for_outcome(command_id: Uuid, outcome: &Result<(), String>) -> Self {
        match outcome {
            Ok(()) => AckFrame {
                command_id,
                result: AckResult::Done,
                reason: None,
            },
            Err(reason) => AckFrame {
                command_id,
                result: AckResult::Failed,
                reason: Some(reason.clone()),
            },
        }
    }
}

/// Every text frame the server may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerFrame {
    /// A lock/unlock command.
    Command(CommandFrame),
    /// `{"error": "..."}`: the server could not read one of the unit's frames. Worth a log
    /// line (it means a bug in the unit), nothing more.
    Error(String),
}

/// The server's complaint about a frame of ours.
#[derive(Deserialize)]
struct ErrorFrame {
    error: String,
}

/// Reads a text frame from the server. Anything else than a command or an error notice is a
/// [`UnitError::Protocol`], which the caller logs and ignores: a bad frame must not cost the
/// unit its connection.
pub fn parse_server_frame(text: &str) -> Result<ServerFrame, UnitError> {
    match serde_json::from_str::<CommandFrame>(text) {
        Ok(command) => Ok(ServerFrame::Command(command)),
        Err(command_error) => match serde_json::from_str::<ErrorFrame>(text) {
            Ok(notice) => Ok(ServerFrame::Error(notice.error)),
            Err(_) => Err(UnitError::Protocol(format!(
                "{command_error} in {}",
                excerpt(text)
            ))),
        },
    }
}

/// The start of a frame, for a log line that stays one line.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "0190f5c2-7a3e-7c1b-9d2e-5f6a7b8c9d0e";

    #[test]
    fn a_command_frame_from_the_server_parses() {
        let text = format!(
            r#"{{"command_id":"{ID}","action":"unlock","expires_at":"2026-11-23T10:00:10Z"}}"#
        );
        let ServerFrame::Command(command) = parse_server_frame(&text).unwrap() else {
            panic!("not a command");
        };
        assert_eq!(command.command_id.to_string(), ID);
        assert_eq!(command.action, Action::Unlock);
        assert_eq!(command.expires_at.to_rfc3339(), "2026-11-23T10:00:10+00:00");
        let lock = text.replace("unlock", "lock");
        assert!(matches!(
            parse_server_frame(&lock).unwrap(),
            ServerFrame::Command(CommandFrame {
                action: Action::Lock,
                ..
            })
        ));
    }

    #[test]
    fn offsets_in_expires_at_are_understood() {
        let text = format!(
            r#"{{"command_id":"{ID}","action":"lock","expires_at":"2026-11-23T07:00:10-03:00"}}"#
        );
        let ServerFrame::Command(command) = parse_server_frame(&text).unwrap() else {
            panic!("not a command");
        };
        assert_eq!(command.expires_at.to_rfc3339(), "2026-11-23T10:00:10+00:00");
    }

    #[test]
    fn unreadable_frames_are_protocol_errors() {
        for text in [
            "not json",
            "{}",
            &format!(
                r#"{{"command_id":"{ID}","action":"honk","expires_at":"2026-11-23T10:00:10Z"}}"#
            ),
            r#"{"command_id":"x","action":"lock","expires_at":"2026-11-23T10:00:10Z"}"#,
            &format!(r#"{{"command_id":"{ID}","action":"lock","expires_at":"tomorrow"}}"#),
        ] {
            assert!(
                matches!(parse_server_frame(text), Err(UnitError::Protocol(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn the_servers_error_notice_is_recognised() {
        assert_eq!(
            parse_server_frame(r#"{"error":"unknown command_id"}"#).unwrap(),
            ServerFrame::Error("unknown command_id".into())
        );
    }

    #[test]
    fn acks_serialise_exactly_as_specified() {
        let id: Uuid = ID.parse().unwrap();
        let done = serde_json::to_string(&AckFrame::for_outcome(id, &Ok(()))).unwrap();
        assert_eq!(done, format!(r#"{{"command_id":"{ID}","result":"done"}}"#));
        let failed =
            serde_json::to_string(&AckFrame::for_outcome(id, &Err("door ajar".into()))).unwrap();
        assert_eq!(
            failed,
            format!(r#"{{"command_id":"{ID}","result":"failed","reason":"door ajar"}}"#)
        );
    }

    #[test]
    fn fixes_leave_out_unknown_readings() {
        let at = "2026-11-23T10:00:00Z".parse().unwrap();
        let bare = serde_json::to_value(Fix::new(-27.5954, -48.548, at)).unwrap();
        assert_eq!(
            bare,
            json!({"lat": -27.5954, "lon": -48.548, "recorded_at": "2026-11-23T10:00:00Z"})
        );
        let full = Fix {
            speed_kmh: Some(30.0),
            heading_deg: Some(90.0),
            battery_pct: Some(81.5),
            ..Fix::new(-27.5954, -48.548, at)
        };
        let value = serde_json::to_value(full).unwrap();
        assert_eq!(value["speed_kmh"], 30.0);
        assert_eq!(value["heading_deg"], 90.0);
        assert_eq!(value["battery_pct"], 81.5);
    }

    #[test]
    fn the_400_problem_body_yields_the_rejected_indices() {
        let body = json!({
            "type": "about:blank", "title": "Bad Request", "status": 400,
            "detail": "1 fix(es) refused",
            "accepted": 2, "duplicates": 0, "flagged": 1,
            "rejected": [{"index": 1, "errors": {"lat": "must be within -90..=90"}}]
        });
        let parsed: PositionsRejected = serde_json::from_value(body).unwrap();
        assert_eq!(parsed.accepted, 2);
        assert_eq!(parsed.flagged, 1);
        assert_eq!(parsed.rejected.len(), 1);
        assert_eq!(parsed.rejected[0].index, 1);
        assert_eq!(parsed.rejected[0].errors["lat"], "must be within -90..=90");
    }

    #[test]
    fn long_frames_are_cut_in_logs() {
        let long = "é".repeat(500);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), 201);
        assert_eq!(excerpt("short"), "short");
    }
}
