//! Location: car units posting their fixes, a car's latest position, and its track.
//!
//! `POST /v1/units/{vehicle_id}/positions` is the busiest route of the API, so it is kept
//! cheap: the unit's credential is checked against a cache, the rate limit is taken, and only
//! then is the body read; the batch is parsed in one pass straight into the service's input
//! (no intermediate JSON tree, no copy), and the location service is asked once.
//!
//! A batch is parsed fix by fix: a fix that is not even well-typed (a string for a number, a
//! missing `recorded_at`) does not sink the batch; it is listed with its index next to the
//! fixes the service refused, and the well-formed ones are kept. A unit that re-sends an
//! unacknowledged batch therefore never loops on one bad fix. An unknown field is not a fault
//! of the fix: it is skipped and named in the answer's `ignored_fields`.

mod batch;
mod dto;

use std::collections::BTreeMap;
use std::fmt;

use actors::customers::Role;
use actors::ids::{CustomerId, VehicleId};
use actors::location::{self, Fix, FixInput};
use actors::ports::ReservationLookup;
use actors::vehicles::{Vehicle, VehicleStatus};
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::openapi::schema::{ArrayBuilder, OneOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Caller, DeviceToken};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// Most fixes one batch may carry.
pub const MAX_BATCH: usize = location::MAX_BATCH;
/// Most fixes one track answer holds; `truncated` says when there were more.
pub const MAX_TRACK: usize = location::MAX_TRACK;

/// This resource's routes.
pub fn router() -> OpenApiRouter<AppState> {
    let router = OpenApiRouter::new()
        .routes(routes!(record_positions))
        .routes(routes!(latest_position))
        .routes(routes!(track));
    // Named only in the 400's description: the problem's extra members of a partial batch.
    super::openapi::with_schema::<RejectedBatchDto>(router)
}

pub use dto::*;

// ---- handlers --------------------------------------------------------------------------------

/// A car unit reports one fix or a batch of up to 500 (its buffer after a coverage gap).
///
/// 202 when every fix was well-formed. When some were not, 400: the well-formed fixes were
/// stored anyway, and the problem carries `accepted`, `duplicates`, `flagged` and
/// `rejected: [{index, errors: {field: reason}}]` (see `RejectedBatchDto`). A fix whose
/// `recorded_at` is already stored counts as a duplicate: re-sending a batch is safe.
#[utoipa::path(
    post, path = "/v1/units/{vehicle_id}/positions", tag = "location", operation_id = "record_positions",
    params(("vehicle_id" = Uuid, Path, description = "The unit's vehicle id")),
    request_body = PositionsBody,
    responses(
        (status = 202, description = "Stored", body = IngestDto),
        (status = 400, description = "Malformed JSON, more than 500 fixes, or some malformed or refused fixes (the others were kept; counts and `rejected` in the body, as in RejectedBatchDto)", body = Problem),
    ),
    security(("device" = [])),
    extensions(("x-rate-limit" = json!("from this car's unit")))
)]
pub async fn record_positions(
    State(state): State<AppState>,
    token: DeviceToken,
    ApiPath(vehicle_id): ApiPath<VehicleId>,
    request: Request,
) -> Result<(StatusCode, ApiJson<IngestDto>), ApiError> {
    // The credential and the rate limit come before the body is even read.
    state
        .devices
        .check(&state.services.vehicles, vehicle_id, &token)
        .await?;
    if let Err(wait) = state.limits.per_device.check(&vehicle_id.to_string()) {
        return Err(ApiError::too_many_requests(wait.as_secs() + 1));
    }
    let ApiJson(body) = ApiJson::<PositionsBody>::from_request(request, &state).await?;
    let PositionsBody {
        fixes,
        origin,
        mut malformed,
        ignored,
    } = body;
    let report = state
        .services
        .location
        .record_positions(vehicle_id, fixes)
        .await?;
    if report.rejected.is_empty() && malformed.is_empty() {
        let accepted = IngestDto {
            accepted: report.accepted,
            duplicates: report.duplicates,
            flagged: report.flagged,
            ignored_fields: ignored,
        };
        return Ok((StatusCode::ACCEPTED, ApiJson(accepted)));
    }
    let refused_by_service = report.rejected.into_iter().map(|rejected| RejectedFixDto {
        // Back to the index in the body (the service saw only the well-formed fixes).
        index: origin
            .as_ref()
            .and_then(|origin| origin.get(rejected.index).copied())
            .unwrap_or(rejected.index),
        errors: rejected
            .errors
            .into_iter()
            .map(|error| (error.field.to_owned(), error.reason))
            .collect(),
    });
    malformed.extend(refused_by_service);
    malformed.sort_by_key(|rejected| rejected.index);
    let detail = format!(
        "{} fix(es) refused, listed in `rejected`; the {} other(s) were processed",
        malformed.len(),
        report.accepted + report.duplicates
    );
    let extra = RejectedBatchDto {
        accepted: report.accepted,
        duplicates: report.duplicates,
        flagged: report.flagged,
        rejected: malformed,
        ignored_fields: ignored,
    };
    Err(ApiError::bad_request(detail).with_extra(json!(extra)))
}

/// The car's latest valid position (never a flagged fix).
///
/// An admin sees any car's. A customer sees the car's during their own rental of it (from the
/// reservation's start to the car's release, or to its end if not released: the renter's
/// window of the track), and otherwise only while the car is offered to everyone: `available`
/// and not booked for the next shortest rental, as `GET /v1/vehicles/nearby` lists it. Any
/// other car answers 404 like an unknown one, so that where someone else's rental goes, or
/// that one is under way, is not told.
#[utoipa::path(
    get, path = "/v1/vehicles/{id}/position", tag = "location", operation_id = "get_vehicle_position",
    params(("id" = Uuid, Path, description = "Vehicle id")),
    responses(
        (status = 200, body = FixDto),
        (status = 400, description = "Not an id", body = Problem),
        (status = 404, description = "No such vehicle (or it was retired), it never reported a position, or (customer) it is neither in the caller's rental now nor available to book", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn latest_position(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(id): ApiPath<VehicleId>,
) -> Result<ApiJson<FixDto>, ApiError> {
    let vehicle = super::fleet::in_fleet(&state, id).await?;
    if matches!(principal.role, Role::Customer)
        && !customer_sees_position(&state, CustomerId(principal.subject), &vehicle).await?
    {
        // The same answer as for a car that does not exist.
        return Err(ApiError::not_found("no such vehicle"));
    }
    match state.services.location.latest(id).await? {
        Some(fix) => Ok(ApiJson(fix.into())),
        None => Err(ApiError::not_found("no position for this vehicle")),
    }
}

/// Whether `customer` may see where `vehicle` is now: inside one of their rental windows of
/// it, or while nearby search would offer it to anyone.
async fn customer_sees_position(
    state: &AppState,
    customer: CustomerId,
    vehicle: &Vehicle,
) -> Result<bool, ApiError> {
    let now = state.now();
    let reservations = &state.services.reservations;
    let windows = reservations.rental_windows(customer, vehicle.id)?;
    if windows
        .iter()
        .any(|(start, end)| *start <= now && now < *end)
    {
        return Ok(true);
    }
    if vehicle.status != VehicleStatus::Available {
        return Ok(false);
    }
    let shortest = TimeDelta::hours(i64::from(state.config.rental.min_hours));
    let busy = reservations
        .busy(vec![vehicle.id], now, now + shortest)
        .await?;
    Ok(busy.is_empty())
}

/// The car's fixes in `[from, to)`, oldest first, flagged ones included and marked; at most
/// 10000 (`truncated` says when there were more).
///
/// An admin sees any span. A customer sees only the parts of the span inside their own
/// reservations of this car (confirmed, active, completed or no-show), each from its start to
/// the car's release (or the reservation's end if not released); a customer without such a
/// reservation gets 404. A retired car is no longer in the fleet: 404.
#[utoipa::path(
    get, path = "/v1/vehicles/{id}/track", tag = "location", operation_id = "get_vehicle_track",
    params(("id" = Uuid, Path, description = "Vehicle id"), TrackQuery),
    responses(
        (status = 200, body = TrackDto),
        (status = 400, description = "Not an id, a missing or malformed `from`/`to`, or an unknown parameter", body = Problem),
        (status = 404, description = "No such vehicle (or it was retired), or (customer) no reservation of it", body = Problem),
        (status = 422, description = "`to` is not after `from`", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn track(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(id): ApiPath<VehicleId>,
    ApiQuery(span): ApiQuery<TrackQuery>,
) -> Result<ApiJson<TrackDto>, ApiError> {
    let location = &state.services.location;
    super::fleet::in_fleet(&state, id).await?;
    let fixes = match principal.role {
        Role::Admin => location.track(id, span.from, span.to, MAX_TRACK).await?,
        Role::Customer => {
            let windows = state
                .services
                .reservations
                .rental_windows(CustomerId(principal.subject), id)?;
            if windows.is_empty() {
                return Err(ApiError::not_found("no such vehicle"));
            }
            if span.from >= span.to {
                return Err(ApiError::invalid(&[actors::domain::InvalidField {
                    field: "to",
                    reason: "the end must be after the start".into(),
                }]));
            }
            let mut fixes = Vec::new();
            for (start, end) in windows {
                let (from, to) = (start.max(span.from), end.min(span.to));
                let room = MAX_TRACK - fixes.len();
                if from >= to || room == 0 {
                    continue;
                }
                fixes.extend(location.track(id, from, to, room).await?);
            }
            fixes
        }
    };
    let truncated = fixes.len() >= MAX_TRACK;
    Ok(ApiJson(TrackDto {
        items: fixes.into_iter().map(FixDto::from).collect(),
        truncated,
    }))
}
