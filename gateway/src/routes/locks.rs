//! Unlocking and locking a car by the customer holding its reservation.
//!
//! The handlers only authenticate, call the locks service and shape the answer: who may
//! operate the car when, the command's expiry and the unit's acknowledgement are the service's.

use actors::ids::VehicleId;
use actors::locks::{CommandRecord, CommandStatus, LockAction};
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Customer;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

// ---- DTOs ------------------------------------------------------------------------------------

/// What a command asks the car to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LockActionDto {
    /// Open the doors.
    Unlock,
    /// Close the doors.
    Lock,
}

impl From<LockAction> for LockActionDto {
    fn from(action: LockAction) -> Self {
        match action {
            LockAction::Unlock => LockActionDto::Unlock,
            LockAction::Lock => LockActionDto::Lock,
        }
    }
}

/// Where a command is (a successful answer is always `done`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CommandStateDto {
    /// Sent; no answer yet.
    Pending,
    /// The unit did it.
    Done,
    /// The unit could not do it.
    Failed,
    /// No answer before it expired.
    Expired,
}

impl From<CommandStatus> for CommandStateDto {
    fn from(status: CommandStatus) -> Self {
        match status {
            CommandStatus::Pending => CommandStateDto::Pending,
            CommandStatus::Done => CommandStateDto::Done,
            CommandStatus::Failed => CommandStateDto::Failed,
            CommandStatus::Expired => CommandStateDto::Expired,
        }
    }
}

/// A command the car's unit carried out.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LockCommandDto {
    /// The command's id.
    pub command_id: Uuid,
    /// `done` once the unit acknowledged.
    pub state: CommandStateDto,
    /// What was done.
    pub action: LockActionDto,
    /// The car.
    pub vehicle_id: Uuid,
    /// The reservation under which it was done.
    pub reservation_id: Uuid,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When the unit acknowledged it.
    pub answered_at: Option<DateTime<Utc>>,
}

impl From<CommandRecord> for LockCommandDto {
    fn from(command: CommandRecord) -> Self {
        LockCommandDto {
            command_id: command.id.as_uuid(),
            state: command.status.into(),
            action: command.action.into(),
            vehicle_id: command.vehicle_id.as_uuid(),
            reservation_id: command.reservation_id.as_uuid(),
            issued_at: command.issued_at,
            answered_at: command.answered_at,
        }
    }
}

/// The `{id}` of a vehicle path.
#[derive(Debug, Deserialize)]
pub struct VehiclePath {
    id: Uuid,
}

// ---- handlers --------------------------------------------------------------------------------

/// Unlock the car; answers once its unit has done it. The first unlock makes the reservation
/// `active`.
#[utoipa::path(
    post,
    path = "/v1/vehicles/{id}/unlock",
    tag = "locks",
    operation_id = "unlock_vehicle",
    params(("id" = Uuid, Path, description = "The car")),
    responses(
        (status = 200, description = "The unit unlocked the car", body = LockCommandDto),
        (status = 400, description = "The id is not a UUID", body = Problem),
        (status = 409, description = "No reservation of this car, outside its window (`no-access`), the previous renter's rental still under way (`car-not-returned`), or another command in progress (`command-in-progress`)", body = Problem),
        (status = 502, description = "The unit answered that it could not do it (`car-failed`)", body = Problem),
        (status = 504, description = "The unit did not acknowledge before the command expired (`car-timeout`)", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["customer"])))
)]
pub async fn unlock_vehicle(
    State(state): State<AppState>,
    Customer(customer): Customer,
    ApiPath(path): ApiPath<VehiclePath>,
) -> Result<ApiJson<LockCommandDto>, ApiError> {
    let command = state
        .services
        .reservations
        .unlock(VehicleId(path.id), customer)
        .await?;
    Ok(ApiJson(command.into()))
}

/// Lock the car; answers once its unit has done it. May be repeated during the rental;
/// refused while the car moves.
#[utoipa::path(
    post,
    path = "/v1/vehicles/{id}/lock",
    tag = "locks",
    operation_id = "lock_vehicle",
    params(("id" = Uuid, Path, description = "The car")),
    responses(
        (status = 200, description = "The unit locked the car", body = LockCommandDto),
        (status = 400, description = "The id is not a UUID", body = Problem),
        (status = 409, description = "No reservation of this car, outside its window (`no-access`), the previous renter's rental still under way (`car-not-returned`), the car is moving (`moving`), or another command in progress (`command-in-progress`)", body = Problem),
        (status = 502, description = "The unit answered that it could not do it (`car-failed`)", body = Problem),
        (status = 504, description = "The unit did not acknowledge before the command expired (`car-timeout`)", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["customer"])))
)]
pub async fn lock_vehicle(
    State(state): State<AppState>,
    Customer(customer): Customer,
    ApiPath(path): ApiPath<VehiclePath>,
) -> Result<ApiJson<LockCommandDto>, ApiError> {
    let command = state
        .services
        .reservations
        .lock(VehicleId(path.id), customer)
        .await?;
    Ok(ApiJson(command.into()))
}

/// This resource's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(unlock_vehicle))
        .routes(routes!(lock_vehicle))
}
