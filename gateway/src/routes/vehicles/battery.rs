//! A car's charge in the vehicles answers: the car's record and location's newest battery
//! report, judged by the fleet's rules (`actors::vehicles::BatteryPolicy`).

use actors::customers::Role;
use actors::vehicles::{BatteryAssessment, BatteryState, Vehicle};
use serde::Serialize;
use utoipa::ToSchema;

use super::VehicleDto;
use crate::error::ApiError;
use crate::state::AppState;

/// How the car's charge is judged now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BatteryStateDto {
    /// A fresh report at or above `fleet.min_battery_pct`.
    Ok,
    /// A fresh report below `fleet.min_battery_pct`: not offered, booking refused
    /// (`battery-low`).
    Low,
    /// No report, or none for `fleet.battery_stale_min` minutes: offered, with no range
    /// estimate.
    Unknown,
}

impl From<BatteryState> for BatteryStateDto {
    fn from(state: BatteryState) -> Self {
        match state {
            BatteryState::Ok => BatteryStateDto::Ok,
            BatteryState::Low => BatteryStateDto::Low,
            BatteryState::Unknown => BatteryStateDto::Unknown,
        }
    }
}

impl VehicleDto {
    /// The car as `role` sees it, with its charge as judged in `battery`.
    pub fn with_battery(vehicle: Vehicle, battery: &BatteryAssessment, role: Role) -> Self {
        VehicleDto {
            battery_pct: battery.battery_pct,
            charging: battery.charging,
            battery_reported_at: battery.reported_at,
            battery_state: battery.state.into(),
            estimated_range_km: battery
                .estimated_range_km
                .map(|km| (km * 10.0).floor() / 10.0),
            ..VehicleDto::for_role(vehicle, role)
        }
    }
}

/// `vehicle` as answered to `role`, with its charge judged now.
pub(crate) async fn vehicle_dto(
    state: &AppState,
    vehicle: Vehicle,
    role: Role,
) -> Result<VehicleDto, ApiError> {
    let battery = state.services.vehicles.battery_of(&vehicle).await?;
    Ok(VehicleDto::with_battery(vehicle, &battery, role))
}

/// Every car of a page, as answered.
pub(crate) async fn vehicle_dtos(
    state: &AppState,
    vehicles: Vec<Vehicle>,
    role: Role,
) -> Result<Vec<VehicleDto>, ApiError> {
    let mut answered = Vec::with_capacity(vehicles.len());
    for vehicle in vehicles {
        answered.push(vehicle_dto(state, vehicle, role).await?);
    }
    Ok(answered)
}
