//! The car units' command channel (WebSocket).

use actors::ids::VehicleId;
use axum::extract::State;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::DeviceToken;
use crate::error::{ApiError, Problem};
use crate::extract::ApiPath;
use crate::routes::openapi::with_schema;
use crate::state::AppState;

/// This resource's routes, with the frames the channel carries (no body names them).
pub fn router() -> OpenApiRouter<AppState> {
    let router = OpenApiRouter::new().routes(routes!(commands));
    let router = with_schema::<crate::units::CommandFrame>(router);
    with_schema::<crate::units::AckFrame>(router)
}

/// Open the unit's command channel. Server → unit frames are `CommandFrame`s; the unit answers
/// each with an `AckFrame`. A newer connection of the same unit replaces this one; commands
/// that have not expired are sent again on every connection.
#[utoipa::path(
    get, path = "/v1/units/{vehicle_id}/commands", tag = "location", operation_id = "open_unit_commands",
    params(("vehicle_id" = Uuid, Path, description = "The unit's car")),
    responses(
        (status = 101, description = "Switching to the WebSocket command channel"),
        (status = 400, description = "Not a WebSocket upgrade, or a bad id", body = Problem),
    ),
    security(("device" = [])),
    extensions(("x-rate-limit" = json!("from this car's unit")))
)]
pub async fn commands(
    State(state): State<AppState>,
    ApiPath(vehicle): ApiPath<VehicleId>,
    token: DeviceToken,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    state
        .devices
        .check(&state.services.vehicles, vehicle, &token)
        .await?;
    if let Err(wait) = state.limits.per_device.check(&vehicle.to_string()) {
        return Err(ApiError::too_many_requests(wait.as_secs() + 1));
    }
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::bad_request(format!(
            "expected a WebSocket upgrade: {}",
            rejection.body_text()
        ))
    })?;
    Ok(crate::units::limited(upgrade)
        .on_upgrade(move |socket| crate::units::run_session(socket, state, vehicle)))
}
