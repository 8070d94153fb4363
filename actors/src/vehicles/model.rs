//! The fleet's records, inputs and views.
//!
//! [`VehicleRecord`] is what the store keeps (bincode, positional); [`Vehicle`] is what the
//! service answers (JSON later). They are separate so that either can change alone.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::VehicleId;
use crate::location::Fix;

/// Where a car is in its life.
///
/// Stored by variant index: the order of the variants is part of the store format (new ones go
/// at the end). The same index is the status's key in the by-status table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VehicleStatus {
    /// In service: offered to customers.
    Available,
    /// Temporarily out of service (cleaning, repair); comes back with an update.
    Maintenance,
    /// Out of the fleet for good; the record stays for history.
    Retired,
}

impl VehicleStatus {
    /// The status's key in the by-status table.
    pub(crate) fn code(self) -> u8 {
        match self {
            VehicleStatus::Available => 0,
            VehicleStatus::Maintenance => 1,
            VehicleStatus::Retired => 2,
        }
    }

    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            VehicleStatus::Available => "available",
            VehicleStatus::Maintenance => "maintenance",
            VehicleStatus::Retired => "retired",
        }
    }
}

/// A car to add to the fleet, as an admin submits it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NewVehicle {
    /// Licence plate, old or Mercosul layout, any case.
    pub plate: String,
    /// Make and model, e.g. "BYD Dolphin".
    pub model: String,
    /// Model year.
    pub year: i32,
    /// Price of one hour, in centavos.
    pub hourly_rate_cents: i64,
    /// Usable battery capacity, kWh.
    pub battery_kwh: Option<f64>,
    /// Rated range, km.
    pub range_km: Option<f64>,
    /// Body colour.
    pub color: Option<String>,
}

/// Changes to a car; absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct VehiclePatch {
    /// New price of one hour, in centavos.
    pub hourly_rate_cents: Option<i64>,
    /// `available` or `maintenance` (retirement has its own operation, with its own checks).
    pub status: Option<VehicleStatus>,
    /// New make and model.
    pub model: Option<String>,
    /// New colour; an empty string removes it.
    pub color: Option<String>,
    /// The id the car's OsmAnd tracker reports, 20 to 64 characters of `[A-Za-z0-9._-]`;
    /// `Some(None)` removes it, so that the tracker stops resolving to this car.
    pub tracker_id: Option<Option<String>>,
}

/// Which cars a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct VehicleFilter {
    /// Only cars in this status.
    pub status: Option<VehicleStatus>,
}

/// A car of the fleet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vehicle {
    /// Its id.
    pub id: VehicleId,
    /// Plate, canonical form (upper case, no separator).
    pub plate: String,
    /// Make and model.
    pub model: String,
    /// Model year.
    pub year: i32,
    /// Price of one hour, in centavos.
    pub hourly_rate_cents: i64,
    /// Always "BRL": prices are in Brazilian reais.
    pub currency: &'static str,
    /// Usable battery capacity, kWh.
    pub battery_kwh: Option<f64>,
    /// Rated range, km.
    pub range_km: Option<f64>,
    /// Body colour.
    pub color: Option<String>,
    /// Where the car is in its life.
    pub status: VehicleStatus,
    /// When it joined the fleet.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The id its OsmAnd tracker reports. It is the tracker's only credential, so the gateway
    /// shows it to admins only.
    pub tracker_id: Option<String>,
}

/// A newly registered car and its unit's credential.
#[derive(Clone, Serialize)]
pub struct Registered {
    /// The car.
    pub vehicle: Vehicle,
    /// The secret the car's unit presents with every request. Shown this once: the service
    /// keeps only its SHA-256.
    pub device_token: String,
}

/// Never prints the token (it would end up in logs).
impl fmt::Debug for Registered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registered")
            .field("vehicle", &self.vehicle)
            .field("device_token", &"<redacted>")
            .finish()
    }
}

/// One page of a list of this service, continuing after a VehicleId.
pub type Page<T> = crate::page::Page<T, VehicleId>;

/// An available car near a point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearbyVehicle {
    /// The car.
    pub vehicle: Vehicle,
    /// Its latest position.
    pub position: Fix,
    /// Distance from the search point, metres.
    pub distance_m: f64,
    /// Its charge, as judged when it was found.
    pub battery: super::BatteryAssessment,
}

/// A car as the vehicles store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct VehicleRecord {
    pub(crate) id: VehicleId,
    pub(crate) plate: String,
    pub(crate) model: String,
    pub(crate) year: i32,
    pub(crate) hourly_rate_cents: i64,
    pub(crate) battery_kwh: Option<f64>,
    pub(crate) range_km: Option<f64>,
    pub(crate) color: Option<String>,
    pub(crate) status: VehicleStatus,
    /// SHA-256 of the unit's token; the token itself is never stored.
    pub(crate) device_token_sha256: [u8; 32],
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) retired_at: Option<DateTime<Utc>>,
    /// Claimed in the `trackers` index in the same transaction as the record is written.
    pub(crate) tracker_id: Option<String>,
}

impl VehicleRecord {
    /// The public view.
    pub(crate) fn view(&self) -> Vehicle {
        Vehicle {
            id: self.id,
            plate: self.plate.clone(),
            model: self.model.clone(),
            year: self.year,
            hourly_rate_cents: self.hourly_rate_cents,
            currency: "BRL",
            battery_kwh: self.battery_kwh,
            range_km: self.range_km,
            color: self.color.clone(),
            status: self.status,
            created_at: self.created_at,
            updated_at: self.updated_at,
            tracker_id: self.tracker_id.clone(),
        }
    }
}
