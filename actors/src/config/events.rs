//! The `[events]` section: how long the operator's event log keeps events, and how often a
//! moving car's position becomes an event.

use serde::{Deserialize, Serialize};

use super::load::{ConfigError, value_error};

/// The operator's event log and the position events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Days an event stays in the reports service's log (what `GET /v1/events` can replay and
    /// what a rebuild of the reports can cover). The reports' figures themselves are kept.
    pub retention_days: u32,
    /// Seconds between two `vehicle.moved` events of one car (by the fixes' times): positions
    /// arrive every few seconds per car, and the event stream must not carry them all.
    pub position_every_s: u64,
    /// Seconds between two keep-alive comments on an idle event stream, so that proxies do not
    /// close it.
    pub keep_alive_s: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            retention_days: 7,
            position_every_s: 10,
            keep_alive_s: 15,
        }
    }
}

impl EventsConfig {
    /// A retention of at least a day, a position pace between a second and an hour, and a
    /// keep-alive a proxy will see in time.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=3_650).contains(&self.retention_days) {
            return Err(value_error(
                "events.retention_days",
                "",
                "events must be kept at least a day (a stream resumes from them)",
                "a whole number of days, 1 to 3650",
            ));
        }
        if !(1..=3_600).contains(&self.position_every_s) {
            return Err(value_error(
                "events.position_every_s",
                "",
                "a car's position event needs a pace between a second and an hour",
                "seconds, 1 to 3600",
            ));
        }
        if !(1..=300).contains(&self.keep_alive_s) {
            return Err(value_error(
                "events.keep_alive_s",
                "",
                "an idle stream needs a keep-alive before proxies drop it",
                "seconds, 1 to 300",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_out_of_range_values_name_their_key() {
        assert!(EventsConfig::default().validate().is_ok());
        let zero_days = EventsConfig {
            retention_days: 0,
            ..EventsConfig::default()
        };
        assert!(
            format!("{:?}", zero_days.validate().unwrap_err()).contains("events.retention_days")
        );
        let no_pace = EventsConfig {
            position_every_s: 0,
            ..EventsConfig::default()
        };
        assert!(
            format!("{:?}", no_pace.validate().unwrap_err()).contains("events.position_every_s")
        );
    }
}
