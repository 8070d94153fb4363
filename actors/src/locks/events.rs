//! The domain events a command's write causes, pure: derived from the command as the log held
//! it before the write and as the write leaves it, inside the transaction that writes the log.
//!
//! Comparing with the stored command rather than trusting the caller is what keeps one event
//! per change: a command written again with the same status (its lock state rewritten with an
//! incident, say) tells nothing, and an acknowledgement that arrives after the expiry finds the
//! command `expired` already and tells nothing either.

use chrono::{DateTime, Utc};

use crate::commands::{CommandOrigin, CommandRecord, CommandStatus, LockAction};
use crate::events::{DomainEvent, EventData, Subjects};

/// The store whose outbox locks writes, as events name their source.
pub(crate) const SOURCE: &str = "locks";

fn action_name(action: LockAction) -> String {
    match action {
        LockAction::Unlock => "unlock",
        LockAction::Lock => "lock",
    }
    .to_owned()
}

fn origin_name(origin: CommandOrigin) -> String {
    match origin {
        CommandOrigin::Renter => "customer",
        CommandOrigin::System => "system",
    }
    .to_owned()
}

/// The payload of the event that writing `after` over `before` (`None`: not logged yet)
/// causes, if any.
pub(crate) fn caused(before: Option<&CommandRecord>, after: &CommandRecord) -> Option<EventData> {
    if before.is_some_and(|before| before.status == after.status) {
        return None;
    }
    let command_id = after.id.as_uuid();
    let action = action_name(after.action);
    Some(match after.status {
        CommandStatus::Pending => EventData::CommandSent {
            command_id,
            action,
            origin: origin_name(after.origin),
        },
        CommandStatus::Done => EventData::CommandAcknowledged { command_id, action },
        CommandStatus::Failed => EventData::CommandRefused {
            command_id,
            action,
            reason: after
                .reason
                .clone()
                .unwrap_or_else(|| "unspecified".to_owned()),
        },
        CommandStatus::Expired => EventData::CommandExpired { command_id, action },
    })
}

/// The event about `command`'s car and reservation, at `at`.
pub(crate) fn event(command: &CommandRecord, at: DateTime<Utc>, data: EventData) -> DomainEvent {
    let subjects = Subjects {
        reservation_id: Some(command.reservation_id),
        customer_id: None,
        vehicle_id: Some(command.vehicle_id),
    };
    DomainEvent::new(SOURCE, at, subjects, data)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::ids::{CommandId, CustomerId, ReservationId, VehicleId};

    fn pending(action: LockAction, origin: CommandOrigin) -> CommandRecord {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        CommandRecord {
            id: CommandId::new(),
            vehicle_id: VehicleId::new(),
            action,
            status: CommandStatus::Pending,
            customer_id: CustomerId::new(),
            reservation_id: ReservationId::new(),
            fence: 1,
            origin,
            issued_at: now,
            expires_at: now + TimeDelta::seconds(30),
            answered_at: None,
            reason: None,
        }
    }

    fn with(command: &CommandRecord, status: CommandStatus) -> CommandRecord {
        CommandRecord {
            status,
            ..command.clone()
        }
    }

    #[test]
    fn a_new_command_is_sent_and_each_outcome_is_told_once() {
        let sent = pending(LockAction::Unlock, CommandOrigin::Renter);
        let id = sent.id.as_uuid();
        assert_eq!(
            caused(None, &sent),
            Some(EventData::CommandSent {
                command_id: id,
                action: "unlock".into(),
                origin: "customer".into(),
            })
        );
        assert_eq!(caused(Some(&sent), &sent), None);
        let done = with(&sent, CommandStatus::Done);
        assert_eq!(
            caused(Some(&sent), &done),
            Some(EventData::CommandAcknowledged {
                command_id: id,
                action: "unlock".into(),
            })
        );
        assert_eq!(caused(Some(&done), &done), None);
        let expired = with(&sent, CommandStatus::Expired);
        assert_eq!(
            caused(Some(&sent), &expired),
            Some(EventData::CommandExpired {
                command_id: id,
                action: "unlock".into(),
            })
        );
    }

    #[test]
    fn a_refusal_carries_the_units_reason_and_a_system_lock_its_origin() {
        let sent = pending(LockAction::Lock, CommandOrigin::System);
        assert!(matches!(
            caused(None, &sent),
            Some(EventData::CommandSent { action, origin, .. })
                if action == "lock" && origin == "system"
        ));
        let mut failed = with(&sent, CommandStatus::Failed);
        failed.reason = Some("door obstructed".into());
        assert!(matches!(
            caused(Some(&sent), &failed),
            Some(EventData::CommandRefused { reason, .. }) if reason == "door obstructed"
        ));
        failed.reason = None;
        assert!(matches!(
            caused(Some(&sent), &failed),
            Some(EventData::CommandRefused { reason, .. }) if reason == "unspecified"
        ));
        let event = event(&failed, sent.issued_at, EventData::VehicleRetired);
        assert_eq!(event.source, "locks");
        assert_eq!(event.subjects.vehicle_id, Some(sent.vehicle_id));
        assert_eq!(event.subjects.reservation_id, Some(sent.reservation_id));
    }
}
