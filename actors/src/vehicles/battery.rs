//! Pure rules of a car's charge: how far it can go, whether it is offered, whether a booking
//! may take it, and whether an operator should charge it.
//!
//! The inputs are the car's record (capacity, rated range), its unit's newest battery report
//! (kept by location) and the clock's `now`; nothing here reads a store or the clock, so the
//! listings, the booking check and the answers all judge a car the same way and the rules are
//! tested without a runtime.
//!
//! A report older than `fleet.battery_stale_min`, or none at all, makes the state `unknown`:
//! the car is offered (refusing every car whose unit is quiet would empty the map after a
//! coverage gap) but flagged, and no range is estimated from it.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::model::Vehicle;
use crate::config::FleetConfig;
use crate::location::BatteryReport;

/// What the fleet's configuration says about charge and range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatteryPolicy {
    /// Below this charge, percent, a car is not offered.
    pub min_battery_pct: f64,
    /// After this long a report no longer counts.
    pub stale_after: TimeDelta,
    /// City consumption, for cars with a capacity but no rated range.
    pub consumption_kwh_per_100km: f64,
    /// Average speed over a whole rental, km/h.
    pub city_average_speed_kmh: f64,
}

/// How a car's charge is judged now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BatteryState {
    /// A fresh report at or above the minimum.
    Ok,
    /// A fresh report below the minimum: not offered, not bookable.
    Low,
    /// No report, or only a stale one: offered, flagged.
    Unknown,
}

/// A car's charge as the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BatteryAssessment {
    /// The last reported charge, percent (also when stale, for operators).
    pub battery_pct: Option<f64>,
    /// Whether it was charging at that report.
    pub charging: Option<bool>,
    /// When the unit took that report.
    pub reported_at: Option<DateTime<Utc>>,
    /// The judgement.
    pub state: BatteryState,
    /// How far the car can go on its current charge, km; only from a fresh report of a car
    /// whose capacity or rated range is known.
    pub estimated_range_km: Option<f64>,
}

impl BatteryAssessment {
    /// The assessment of a car that never reported.
    pub const UNKNOWN: BatteryAssessment = BatteryAssessment {
        battery_pct: None,
        charging: None,
        reported_at: None,
        state: BatteryState::Unknown,
        estimated_range_km: None,
    };

    /// Whether customers are offered the car (listings, nearby search).
    pub fn is_offered(&self) -> bool {
        self.state != BatteryState::Low
    }
}

/// Why a booking may not take the car, with the figures a customer can act on.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum BatteryRefusal {
    /// The last fresh report is below the fleet's minimum.
    #[error(
        "the car's battery is at {battery_pct} %, below the minimum of {min_battery_pct} % for a rental"
    )]
    BelowMinimum {
        /// Reported charge, percent.
        battery_pct: f64,
        /// The fleet's minimum, percent.
        min_battery_pct: f64,
    },
    /// The car's estimated range is shorter than the booking would need.
    #[error(
        "this booking may need {needed_km} km of range and the car has about {available_km} km; choose a shorter time or another car"
    )]
    NotEnoughRange {
        /// The booking's hours at the city's average speed, km (rounded up).
        needed_km: f64,
        /// The car's estimated range now, km (rounded down).
        available_km: f64,
    },
}

impl BatteryPolicy {
    /// The policy of the fleet's configuration.
    pub fn from_config(fleet: &FleetConfig) -> Self {
        BatteryPolicy {
            min_battery_pct: fleet.min_battery_pct,
            stale_after: TimeDelta::minutes(i64::from(fleet.battery_stale_min)),
            consumption_kwh_per_100km: fleet.consumption_kwh_per_100km,
            city_average_speed_kmh: fleet.city_average_speed_kmh,
        }
    }

    /// Range on `battery_pct` of charge. A rated range (the car's own, entered at
    /// registration) is preferred: it is specific to the model, where the configured
    /// consumption is a fleet average. Without either figure nothing can be said.
    pub fn estimated_range_km(
        &self,
        battery_kwh: Option<f64>,
        rated_range_km: Option<f64>,
        battery_pct: f64,
    ) -> Option<f64> {
        let pct = battery_pct.clamp(0.0, 100.0);
        match (rated_range_km, battery_kwh) {
            (Some(range), _) => Some(range * pct / 100.0),
            // kWh × pct/100 of charge, at consumption kWh per 100 km.
            (None, Some(kwh)) => Some(kwh * pct / self.consumption_kwh_per_100km),
            (None, None) => None,
        }
    }

    /// Judges `vehicle`'s charge from its newest `report` at `now`.
    pub fn assess(
        &self,
        vehicle: &Vehicle,
        report: Option<&BatteryReport>,
        now: DateTime<Utc>,
    ) -> BatteryAssessment {
        let Some(report) = report else {
            return BatteryAssessment::UNKNOWN;
        };
        let stale = now - report.recorded_at > self.stale_after;
        let state = if stale {
            BatteryState::Unknown
        } else if report.battery_pct < self.min_battery_pct {
            BatteryState::Low
        } else {
            BatteryState::Ok
        };
        let estimated_range_km = (!stale)
            .then(|| {
                self.estimated_range_km(vehicle.battery_kwh, vehicle.range_km, report.battery_pct)
            })
            .flatten();
        BatteryAssessment {
            battery_pct: Some(report.battery_pct),
            charging: report.charging,
            reported_at: Some(report.recorded_at),
            state,
            estimated_range_km,
        }
    }

    /// Range a booking of `[start, end)` may need: driven for its whole length at the city's
    /// average speed (a deliberate upper bound; renters park too).
    pub fn needed_km(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> f64 {
        let hours = (end - start).as_seconds_f64().max(0.0) / 3_600.0;
        hours * self.city_average_speed_kmh
    }

    /// Whether a booking of `[start, end)` may take a car assessed as `battery` now. An
    /// unknown charge or range does not refuse: there is nothing to refuse on.
    pub fn check_booking(
        &self,
        battery: &BatteryAssessment,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<(), BatteryRefusal> {
        if battery.state == BatteryState::Low {
            return Err(BatteryRefusal::BelowMinimum {
                battery_pct: battery.battery_pct.unwrap_or_default(),
                min_battery_pct: self.min_battery_pct,
            });
        }
        let Some(available_km) = battery.estimated_range_km else {
            return Ok(());
        };
        let needed_km = self.needed_km(start, end);
        if needed_km > available_km {
            return Err(BatteryRefusal::NotEnoughRange {
                needed_km: (needed_km * 10.0).ceil() / 10.0,
                available_km: (available_km * 10.0).floor() / 10.0,
            });
        }
        Ok(())
    }

    /// Whether operators should take the car to a charger: its last report is below the
    /// minimum and it was not charging. A stale low report counts (a parked car does not
    /// charge itself); a car that never reported does not (nothing says it is low).
    pub fn needs_charging(&self, battery: &BatteryAssessment) -> bool {
        battery
            .battery_pct
            .is_some_and(|pct| pct < self.min_battery_pct)
            && battery.charging != Some(true)
    }
}

#[cfg(test)]
#[path = "battery_tests.rs"]
mod tests;
