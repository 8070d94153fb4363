//! What the console calls a car's state, decided from what the services answer: one colour per
//! marker, so one rule with a precedence, tested on its own.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A car's state on the operators' map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CarState {
    /// Free to book.
    Available,
    /// A confirmed reservation's window (or its unlock grace) holds the car now.
    Reserved,
    /// A rental is under way within its window.
    InUse,
    /// A rental is under way past its end: the car has not been returned.
    Late,
    /// The battery reported below the minimum: not offered.
    LowBattery,
    /// The car's unit has no command channel open: an unlock would wait for it.
    Offline,
    /// Taken out of service by an operator.
    Maintenance,
}

impl CarState {
    /// As the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CarState::Available => "available",
            CarState::Reserved => "reserved",
            CarState::InUse => "in_use",
            CarState::Late => "late",
            CarState::LowBattery => "low_battery",
            CarState::Offline => "offline",
            CarState::Maintenance => "maintenance",
        }
    }
}

/// What the rule looks at.
#[derive(Debug, Clone, Copy)]
pub(super) struct CarFacts {
    /// Whether an operator put the car in maintenance.
    pub(super) maintenance: bool,
    /// The end of the rental under way, if one is.
    pub(super) active_until: Option<DateTime<Utc>>,
    /// The window of the confirmed reservation that holds the car now (grace included).
    pub(super) reserved_now: bool,
    /// Whether the battery is reported low.
    pub(super) battery_low: bool,
    /// Whether the unit's command channel is open.
    pub(super) unit_connected: bool,
}

/// The precedence is what an operator must act on first: a car not returned, then one in use
/// (whatever its unit or battery say, the renter has it), then a car nobody could unlock
/// (offline), a car that cannot be offered (low), one held for a renter, one out of service.
pub(super) fn car_state(facts: &CarFacts, now: DateTime<Utc>) -> CarState {
    if let Some(end) = facts.active_until {
        return if now > end {
            CarState::Late
        } else {
            CarState::InUse
        };
    }
    if !facts.unit_connected {
        return CarState::Offline;
    }
    if facts.battery_low {
        return CarState::LowBattery;
    }
    if facts.reserved_now {
        return CarState::Reserved;
    }
    if facts.maintenance {
        return CarState::Maintenance;
    }
    CarState::Available
}

/// A customer's name as the console shows it: the first name and the initial of the last,
/// enough to talk about a rental without displaying the person's full name on a wall screen.
pub(super) fn masked_name(name: &str) -> String {
    let mut words = name.split_whitespace();
    let Some(first) = words.next() else {
        return String::new();
    };
    match words.last().and_then(|last| last.chars().next()) {
        Some(initial) => format!("{first} {initial}."),
        None => first.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 2, hour, 0, 0).unwrap()
    }

    fn idle() -> CarFacts {
        CarFacts {
            maintenance: false,
            active_until: None,
            reserved_now: false,
            battery_low: false,
            unit_connected: true,
        }
    }

    #[test]
    fn a_rental_under_way_wins_and_is_late_only_past_its_end() {
        let renting = CarFacts {
            active_until: Some(at(12)),
            unit_connected: false,
            battery_low: true,
            ..idle()
        };
        assert_eq!(car_state(&renting, at(11)), CarState::InUse);
        assert_eq!(car_state(&renting, at(12)), CarState::InUse);
        assert_eq!(car_state(&renting, at(13)), CarState::Late);
    }

    #[test]
    fn offline_then_low_then_reserved_then_maintenance_then_available() {
        let now = at(10);
        let all = CarFacts {
            unit_connected: false,
            battery_low: true,
            reserved_now: true,
            maintenance: true,
            ..idle()
        };
        assert_eq!(car_state(&all, now), CarState::Offline);
        let online = CarFacts {
            unit_connected: true,
            ..all
        };
        assert_eq!(car_state(&online, now), CarState::LowBattery);
        let charged = CarFacts {
            battery_low: false,
            ..online
        };
        assert_eq!(car_state(&charged, now), CarState::Reserved);
        let unreserved = CarFacts {
            reserved_now: false,
            ..charged
        };
        assert_eq!(car_state(&unreserved, now), CarState::Maintenance);
        assert_eq!(car_state(&idle(), now), CarState::Available);
    }

    #[test]
    fn names_are_shown_as_first_name_and_initial() {
        assert_eq!(masked_name("Ana Beatriz Souza"), "Ana S.");
        assert_eq!(masked_name("  João  "), "João");
        assert_eq!(masked_name("Érica Ávila"), "Érica Á.");
        assert_eq!(masked_name(""), "");
    }
}
