//! Reads of the fleet that the vehicle and the location routes share: a retired car is gone
//! from every read of the API.

use actors::ids::VehicleId;
use actors::vehicles::{Vehicle, VehicleStatus};

use crate::error::ApiError;
use crate::state::AppState;

/// The car `id` as long as it is in the fleet: a retired car answers 404 like an unknown one.
pub(crate) async fn in_fleet(state: &AppState, id: VehicleId) -> Result<Vehicle, ApiError> {
    let vehicle = state.services.vehicles.get(id).await?;
    if vehicle.status == VehicleStatus::Retired {
        return Err(ApiError::not_found("no such vehicle (it was retired)"));
    }
    Ok(vehicle)
}
