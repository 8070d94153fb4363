//! What car units send, what the location store keeps, and what the service answers.
//!
//! The stored record ([`StoredFix`]) is kept apart from the public view ([`Fix`]) so that the
//! JSON shape can change without touching the bincode layout on disk (and the other way round).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::InvalidField;
use crate::ids::VehicleId;

/// One position fix as a car unit posts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixInput {
    /// Latitude in degrees (WGS 84).
    pub lat: f64,
    /// Longitude in degrees (WGS 84).
    pub lon: f64,
    /// When the unit took the fix: its own clock, not the arrival time, because a unit that
    /// was out of coverage posts its buffered fixes late.
    pub recorded_at: DateTime<Utc>,
    /// Ground speed reported by the unit, km/h.
    pub speed_kmh: Option<f64>,
    /// Heading in degrees clockwise from north.
    pub heading_deg: Option<f64>,
    /// State of charge of the traction battery, percent.
    pub battery_pct: Option<f64>,
    /// Height above the WGS 84 ellipsoid, metres (what GNSS receivers report).
    pub altitude_m: Option<f64>,
    /// Horizontal accuracy radius, metres.
    pub accuracy_m: Option<f64>,
    /// Whether the car is plugged in and charging.
    pub charging: Option<bool>,
}

/// A fix as the location store keeps it: in the history table under `(vehicle, recorded_at)`
/// and, for the newest plausible one, in the `latest` table.
///
/// Bincode layout: fields are positional, so new fields go at the end and the tables move to
/// new names with an upgrade of the old records (see `upgrade`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredFix {
    pub(crate) lat: f64,
    pub(crate) lon: f64,
    pub(crate) recorded_at: DateTime<Utc>,
    pub(crate) speed_kmh: Option<f64>,
    pub(crate) heading_deg: Option<f64>,
    pub(crate) battery_pct: Option<f64>,
    /// Implied an implausible speed from its time neighbours when it arrived.
    pub(crate) flagged: bool,
    /// Outside the configured service area when it arrived.
    pub(crate) outside_service_area: bool,
    /// When the service received it (the service clock), for diagnosing late units.
    pub(crate) received_at: DateTime<Utc>,
    pub(crate) altitude_m: Option<f64>,
    pub(crate) accuracy_m: Option<f64>,
    pub(crate) charging: Option<bool>,
}

impl StoredFix {
    /// The public view.
    pub(crate) fn view(&self) -> Fix {
        Fix {
            lat: self.lat,
            lon: self.lon,
            recorded_at: self.recorded_at,
            speed_kmh: self.speed_kmh,
            heading_deg: self.heading_deg,
            battery_pct: self.battery_pct,
            altitude_m: self.altitude_m,
            accuracy_m: self.accuracy_m,
            charging: self.charging,
            flagged: self.flagged,
            outside_service_area: self.outside_service_area,
        }
    }
}

/// A stored position of a car.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fix {
    /// Latitude in degrees.
    pub lat: f64,
    /// Longitude in degrees.
    pub lon: f64,
    /// When the unit took the fix.
    pub recorded_at: DateTime<Utc>,
    /// Reported ground speed, km/h.
    pub speed_kmh: Option<f64>,
    /// Reported heading, degrees.
    pub heading_deg: Option<f64>,
    /// Reported battery charge, percent.
    pub battery_pct: Option<f64>,
    /// Reported altitude, metres.
    pub altitude_m: Option<f64>,
    /// Reported horizontal accuracy, metres.
    pub accuracy_m: Option<f64>,
    /// Reported charging flag.
    pub charging: Option<bool>,
    /// The fix implied a faster move than `fleet.max_plausible_speed_kmh` from its time
    /// neighbours: kept for the record, never used as the car's position.
    pub flagged: bool,
    /// The car was outside the service area (valid: the car is where it is).
    pub outside_service_area: bool,
}

/// One refused fix of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedFix {
    /// Its position in the batch, from 0.
    pub index: usize,
    /// Every field that was wrong.
    pub errors: Vec<InvalidField>,
}

/// `InvalidField` has no serde impl of its own (the domain keeps serde out of its errors), so
/// the report spells it out: `{"index": 3, "errors": [{"field": "lat", "reason": "..."}]}`.
impl Serialize for RejectedFix {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Error<'a> {
            field: &'a str,
            reason: &'a str,
        }
        #[derive(Serialize)]
        struct Rejected<'a> {
            index: usize,
            errors: Vec<Error<'a>>,
        }
        Rejected {
            index: self.index,
            errors: self
                .errors
                .iter()
                .map(|error| Error {
                    field: error.field,
                    reason: &error.reason,
                })
                .collect(),
        }
        .serialize(serializer)
    }
}

/// The outcome of one batch: `accepted + duplicates + rejected.len()` is the batch size.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct IngestReport {
    /// Fixes stored, the flagged ones included.
    pub accepted: u32,
    /// Fixes whose `recorded_at` was already stored for the car (a unit re-sending after a
    /// lost acknowledgement): not stored again, not an error.
    pub duplicates: u32,
    /// Among the accepted, those stored as implausible.
    pub flagged: u32,
    /// Fixes refused by validation; the rest of the batch is kept.
    pub rejected: Vec<RejectedFix>,
}

/// A listed car near a point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearbyVehicle {
    /// The car.
    pub vehicle_id: VehicleId,
    /// Its latest position.
    pub fix: Fix,
    /// Great-circle distance from the search point, metres.
    pub distance_m: f64,
}
