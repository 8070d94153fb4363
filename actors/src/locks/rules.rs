//! The lock rules, as pure functions.

use chrono::{DateTime, TimeDelta, Utc};

use crate::commands::{CommandRecord, CommandStatus, DoorState, LockAction, UnitResult};

/// A fix younger than this tells where the car is going now.
pub(crate) const FRESH_FIX: TimeDelta = TimeDelta::seconds(60);

/// Below this speed a car counts as standing still (GPS jitter reads a few km/h).
pub(crate) const STANDING_KMH: f64 = 3.0;

/// Whether a fix shows the car moving at `now`. Units report only while the car moves, so a
/// fresh fix without a speed counts as moving; a stale fix says nothing.
pub(crate) fn is_moving(
    recorded_at: DateTime<Utc>,
    speed_kmh: Option<f64>,
    now: DateTime<Utc>,
) -> bool {
    now - recorded_at < FRESH_FIX && speed_kmh.is_none_or(|speed| speed > STANDING_KMH)
}

/// How a pending command ends when its unit answers at `now`: the answer counts only before
/// the command expires.
pub(crate) fn settle(
    command: &CommandRecord,
    result: &UnitResult,
    now: DateTime<Utc>,
) -> CommandRecord {
    let mut settled = command.clone();
    if now >= command.expires_at {
        settled.status = CommandStatus::Expired;
        return settled;
    }
    settled.answered_at = Some(now);
    match result {
        UnitResult::Done => settled.status = CommandStatus::Done,
        UnitResult::Failed(reason) => {
            settled.status = CommandStatus::Failed;
            // Bounded here too, whatever link the answer came through: it is stored and
            // shown to the renter.
            settled.reason = reason
                .as_deref()
                .map(|reason| crate::commands::bounded_reason(reason).0);
        }
    }
    settled
}

/// The doors after a settled command.
pub(crate) fn doors_after(current: DoorState, command: &CommandRecord) -> DoorState {
    match (command.status, command.action) {
        (CommandStatus::Done, LockAction::Lock) => DoorState::Locked,
        (CommandStatus::Done, LockAction::Unlock) => DoorState::Unlocked,
        _ => current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::CommandOrigin;
    use crate::ids::{CommandId, CustomerId, ReservationId, VehicleId};

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    fn command(action: LockAction) -> CommandRecord {
        CommandRecord {
            id: CommandId::new(),
            vehicle_id: VehicleId::new(),
            action,
            status: CommandStatus::Pending,
            customer_id: CustomerId::new(),
            reservation_id: ReservationId::new(),
            fence: 1,
            origin: CommandOrigin::Renter,
            issued_at: at(0),
            expires_at: at(10),
            answered_at: None,
            reason: None,
        }
    }

    #[test]
    fn a_fresh_fix_with_speed_or_without_one_means_moving() {
        assert!(is_moving(at(0), Some(30.0), at(59)));
        assert!(is_moving(at(0), None, at(30)));
        assert!(!is_moving(at(0), Some(1.0), at(10)), "standing still");
        assert!(
            !is_moving(at(0), Some(50.0), at(60)),
            "a minute-old fix says nothing"
        );
    }

    #[test]
    fn answers_count_only_before_expiry() {
        let unlock = command(LockAction::Unlock);
        let done = settle(&unlock, &UnitResult::Done, at(9));
        assert_eq!(done.status, CommandStatus::Done);
        assert_eq!(doors_after(DoorState::Locked, &done), DoorState::Unlocked);

        let late = settle(&unlock, &UnitResult::Done, at(10));
        assert_eq!(late.status, CommandStatus::Expired);
        assert_eq!(doors_after(DoorState::Locked, &late), DoorState::Locked);

        let failed = settle(
            &command(LockAction::Lock),
            &UnitResult::Failed(Some("door open".into())),
            at(1),
        );
        assert_eq!(failed.status, CommandStatus::Failed);
        assert_eq!(failed.reason.as_deref(), Some("door open"));
        assert_eq!(
            doors_after(DoorState::Unlocked, &failed),
            DoorState::Unlocked
        );
    }

    #[test]
    fn a_failure_reason_is_stored_bounded() {
        let long = "é".repeat(crate::commands::MAX_REASON_CHARS + 50);
        let failed = settle(
            &command(LockAction::Lock),
            &UnitResult::Failed(Some(long)),
            at(1),
        );
        let reason = failed.reason.unwrap();
        assert_eq!(reason.chars().count(), crate::commands::MAX_REASON_CHARS);
        assert!(reason.chars().all(|c| c == 'é'));
    }
}
