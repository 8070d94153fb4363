//! `vehicle.moved`: the thinned track the event stream carries.
//!
//! Units report every few seconds; the stream gets one position per car at most every
//! `events.position_every_s`, judged by the fixes' own times so that a backlog sent in one
//! batch is thinned the same way as fixes that arrived live. The last emitted time lives in
//! the car's tracker (memory only): after a restart or a passivation the next position is
//! emitted at once, which costs one event. The event is appended alone, outside any
//! transaction, like the lazy fixes it comes from.

use chrono::{DateTime, TimeDelta, Utc};

use super::model::StoredFix;
use crate::events::{DomainEvent, EventData, Subjects};
use crate::ids::VehicleId;

/// Whether a position taken at `at` is due as an event, the last one having been taken at
/// `last`.
pub(crate) fn due(last: Option<DateTime<Utc>>, at: DateTime<Utc>, every: TimeDelta) -> bool {
    last.is_none_or(|last| at >= last + every)
}

/// The event of the car's new latest position.
pub(crate) fn event(vehicle: VehicleId, fix: &StoredFix, now: DateTime<Utc>) -> DomainEvent {
    DomainEvent::new(
        "location",
        now,
        Subjects::vehicle(vehicle),
        EventData::VehicleMoved {
            lat: fix.lat,
            lon: fix.lon,
            speed_kmh: fix.speed_kmh,
            battery_pct: fix
                .battery_pct
                .map(|pct| pct.round().clamp(0.0, 100.0) as u8),
            recorded_at: fix.recorded_at,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn the_first_position_is_due_then_one_per_period_by_the_fixes_times() {
        let every = TimeDelta::seconds(10);
        assert!(due(None, at(0), every));
        assert!(!due(Some(at(0)), at(9), every));
        assert!(due(Some(at(0)), at(10), every));
        // An older fix (a backlog) is never due before the last one emitted.
        assert!(!due(Some(at(30)), at(5), every));
    }
}
