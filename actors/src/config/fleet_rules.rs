//! Rules of the fleet's battery keys: each must describe a car that could exist, or the rules
//! built on them would refuse every booking (or none) without anyone noticing.

use super::load::{ConfigError, value_error};

/// A week: a battery report older than that says nothing about the car today.
const MAX_STALE_MIN: u32 = 7 * 24 * 60;

impl super::FleetConfig {
    /// The minimum charge, staleness, consumption and average speed are in ranges a city EV
    /// fleet can have.
    pub(super) fn validate_battery(&self) -> Result<(), ConfigError> {
        if !(self.min_battery_pct.is_finite() && (0.0..100.0).contains(&self.min_battery_pct)) {
            return Err(value_error(
                "fleet.min_battery_pct",
                "",
                "a minimum of 100 % or more would take every car off the road",
                "a percentage from 0 (off) to below 100",
            ));
        }
        if !(1..=MAX_STALE_MIN).contains(&self.battery_stale_min) {
            return Err(value_error(
                "fleet.battery_stale_min",
                "",
                "a report must count for at least a minute and at most a week",
                "minutes, 1 to 10080",
            ));
        }
        let consumption = self.consumption_kwh_per_100km;
        if !(consumption.is_finite() && (5.0..=50.0).contains(&consumption)) {
            return Err(value_error(
                "fleet.consumption_kwh_per_100km",
                "",
                "electric cars use about 10 to 25 kWh per 100 km; this is outside any plausible value",
                "kWh per 100 km, 5 to 50",
            ));
        }
        let speed = self.city_average_speed_kmh;
        if !(speed.is_finite() && (1.0..=120.0).contains(&speed)) {
            return Err(value_error(
                "fleet.city_average_speed_kmh",
                "",
                "must be a positive speed a car can average in town",
                "km/h, 1 to 120",
            ));
        }
        Ok(())
    }
}
