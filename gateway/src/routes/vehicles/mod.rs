//! Vehicles: registering cars, listing them (by status or by free time), the "cars near me"
//! search, and changing or retiring a car.
//!
//! `GET /v1/vehicles/{id}/position` and `/track` are location's (see [`super::location`]);
//! `/unlock` and `/lock` are locks'.
//!
//! `DELETE` retires a car: its record stays for history and for admins' `?status=retired`
//! list, but the car itself is gone, so `GET /v1/vehicles/{id}` (and its position and track)
//! answer 404 like any other car that is not there.

mod battery;
mod dto;

use actors::customers::Role;
use actors::domain::InvalidField;
use actors::ids::VehicleId;
use actors::vehicles::{
    NearbyVehicle, NewVehicle, Page as VehiclePage, Registered, Vehicle, VehicleFilter,
    VehiclePatch, VehicleStatus,
};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::location::FixDto;
use super::paging::{Page, PageQuery};
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// Search radius of `GET /v1/vehicles/nearby` when none is given, metres.
pub const DEFAULT_RADIUS_M: f64 = 2_000.0;
/// Cars `GET /v1/vehicles/nearby` returns when no limit is given.
pub const DEFAULT_NEARBY_LIMIT: usize = 20;

pub use battery::BatteryStateDto;
use battery::{vehicle_dto, vehicle_dtos};
pub use dto::*;

/// This resource's routes.
pub fn router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(nearby))
        .routes(routes!(read, update, retire));
    newest_model_year_in(router.get_openapi_mut(), Utc::now().year() + 1);
    router
}

/// States the newest model year the service accepts (next year's, which no attribute can
/// say) as the maximum of a registration's `year`.
fn newest_model_year_in(document: &mut utoipa::openapi::OpenApi, newest: i32) {
    let schemas = document.components.as_mut().map(|c| &mut c.schemas);
    let body = schemas.and_then(|schemas| schemas.get_mut(NewVehicleBody::name().as_ref()));
    if let Some(RefOr::T(Schema::Object(body))) = body
        && let Some(RefOr::T(Schema::Object(year))) = body.properties.get_mut("year")
    {
        year.maximum = Some(newest.into());
    }
}

// ---- handlers --------------------------------------------------------------------------------

/// Add a car to the fleet (admin). The answer carries the unit's `device_token`, shown only
/// this once.
#[utoipa::path(
    post, path = "/v1/vehicles", tag = "vehicles", operation_id = "register_vehicle",
    request_body = NewVehicleBody,
    responses(
        (status = 201, description = "Registered, available at once", body = RegisteredVehicleDto,
            links(
                ("get" = (operation_id = "get_vehicle", parameters(("id" = "$response.body#/id")))),
                ("update" = (operation_id = "update_vehicle", parameters(("id" = "$response.body#/id")))),
                ("retire" = (operation_id = "retire_vehicle", parameters(("id" = "$response.body#/id"))))
            )
        ),
        (status = 400, description = "Malformed body, missing or unknown field", body = Problem),
        (status = 409, description = "The plate is already registered (retired cars included)", body = Problem),
        (status = 422, description = "Invalid fields, each listed in `errors`", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn create(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    ApiJson(body): ApiJson<NewVehicleBody>,
) -> Result<(StatusCode, ApiJson<RegisteredVehicleDto>), ApiError> {
    let registered = state.services.vehicles.register(body.into()).await?;
    Ok((StatusCode::CREATED, ApiJson(registered.into())))
}

/// The fleet, in registration order: every car, the cars in one `status`, (with
/// `available_from` and `available_to`) the available cars free for that whole window whose
/// battery is not `low`, or (admins, `needs_charging=true`) the cars to charge. Every car
/// carries its charge (`battery_pct`, `charging`, `battery_state`, `estimated_range_km`).
#[utoipa::path(
    get, path = "/v1/vehicles", tag = "vehicles", operation_id = "list_vehicles",
    params(VehicleListQuery),
    responses(
        (status = 200, body = Page<VehicleDto>),
        (status = 400, description = "Bad limit, cursor, status or time, or an unknown parameter", body = Problem),
        (status = 422, description = "Only one end of the window, an end not after the start, or `needs_charging` with the window", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<VehicleListQuery>,
) -> Result<ApiJson<Page<VehicleDto>>, ApiError> {
    let paging = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let (limit, after) = (paging.limit()?, paging.cursor::<VehicleId>()?);
    let vehicles = &state.services.vehicles;
    let needs_charging = query.needs_charging == Some(true);
    if needs_charging && caller.role != Role::Admin {
        // As with an admin filter of reservations: a customer's answer holds nothing, and the
        // operation is not refused (it is not reserved to a role).
        return Ok(ApiJson(Page::new(Vec::new(), None::<VehicleId>)));
    }
    let page = match (query.available_from, query.available_to) {
        (None, None) if needs_charging => {
            let filter = VehicleFilter {
                status: query.status.map(VehicleStatus::from),
            };
            vehicles.needing_charge(filter, limit, after).await?
        }
        (Some(_), Some(_)) if needs_charging => {
            return Err(ApiError::invalid(&[InvalidField {
                field: "needs_charging",
                reason: "cannot be combined with available_from and available_to".into(),
            }]));
        }
        (None, None) => {
            let filter = VehicleFilter {
                status: query.status.map(VehicleStatus::from),
            };
            vehicles.list(filter, limit, after).await?
        }
        // Free for a window means available: no car in another status qualifies.
        (Some(_), Some(_))
            if query
                .status
                .is_some_and(|status| status != VehicleStatusDto::Available) =>
        {
            VehiclePage {
                items: Vec::new(),
                next_cursor: None,
            }
        }
        (Some(from), Some(to)) => vehicles.list_available(from, to, limit, after).await?,
        (Some(_), None) => return Err(window_half("available_to")),
        (None, Some(_)) => return Err(window_half("available_from")),
    };
    let items = vehicle_dtos(&state, page.items, caller.role).await?;
    Ok(ApiJson(Page::new(items, page.next_cursor)))
}

fn window_half(missing: &'static str) -> ApiError {
    ApiError::invalid(&[InvalidField {
        field: missing,
        reason: "give available_from and available_to together".into(),
    }])
}

/// Available cars near a point, nearest first (`[{vehicle, position, distance_m}]`). Cars in
/// maintenance, retired, booked for the next shortest rental, or whose battery is `low` are
/// left out; a car whose charge is `unknown` is offered and says so.
#[utoipa::path(
    get, path = "/v1/vehicles/nearby", tag = "vehicles", operation_id = "list_nearby_vehicles",
    params(NearbyQuery),
    responses(
        (status = 200, description = "Nearest first", body = Vec<NearbyVehicleDto>),
        (status = 400, description = "Missing or non-numeric lat/lon, or an unknown parameter", body = Problem),
        (status = 422, description = "Bad radius or limit, or a point outside the service area", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn nearby(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<NearbyQuery>,
) -> Result<ApiJson<Vec<NearbyVehicleDto>>, ApiError> {
    let found = state
        .services
        .vehicles
        .nearby_available(
            query.lat,
            query.lon,
            query.radius_m.unwrap_or(DEFAULT_RADIUS_M),
            query.limit.unwrap_or(DEFAULT_NEARBY_LIMIT),
        )
        .await?;
    Ok(ApiJson(
        found
            .into_iter()
            .map(|car| NearbyVehicleDto::for_role(car, caller.role))
            .collect(),
    ))
}

/// One car of the fleet. A retired car is no longer one (404); admins find its record with
/// `GET /v1/vehicles?status=retired`.
#[utoipa::path(
    get, path = "/v1/vehicles/{id}", tag = "vehicles", operation_id = "get_vehicle",
    params(("id" = Uuid, Path, description = "Vehicle id")),
    responses(
        (status = 200, body = VehicleDto),
        (status = 400, description = "Not an id", body = Problem),
        (status = 404, description = "No such vehicle, or it was retired", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<VehicleId>,
) -> Result<ApiJson<VehicleDto>, ApiError> {
    let vehicle = super::fleet::in_fleet(&state, id).await?;
    Ok(ApiJson(vehicle_dto(&state, vehicle, caller.role).await?))
}

/// Change a car (admin): rate, model, colour, tracker id, or status between `available` and
/// `maintenance`.
#[utoipa::path(
    patch, path = "/v1/vehicles/{id}", tag = "vehicles", operation_id = "update_vehicle",
    params(("id" = Uuid, Path, description = "Vehicle id")),
    request_body = VehicleChanges,
    responses(
        (status = 200, description = "The car as changed", body = VehicleDto,
            links(
                ("get" = (operation_id = "get_vehicle", parameters(("id" = "$response.body#/id")))),
                ("update" = (operation_id = "update_vehicle", parameters(("id" = "$response.body#/id")))),
                ("retire" = (operation_id = "retire_vehicle", parameters(("id" = "$response.body#/id"))))
            )
        ),
        (status = 400, description = "Not an id, malformed body, or a field that cannot be changed", body = Problem),
        (status = 404, description = "No such vehicle", body = Problem),
        (status = 409, description = "The car is retired (`retired`), or another car has the `tracker_id` (`already-registered`)", body = Problem),
        (status = 422, description = "Invalid fields (e.g. status `retired`), each listed in `errors`", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn update(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    ApiPath(id): ApiPath<VehicleId>,
    ApiJson(changes): ApiJson<VehicleChanges>,
) -> Result<ApiJson<VehicleDto>, ApiError> {
    let vehicle = state.services.vehicles.update(id, changes.into()).await?;
    Ok(ApiJson(vehicle_dto(&state, vehicle, Role::Admin).await?))
}

/// Retire a car for good (admin); answers the retired car (200). Refused while the car has
/// reservations that are not finished. Retiring a retired car answers it as it is (`DELETE`
/// is idempotent), while reading it answers 404 from then on.
#[utoipa::path(
    delete, path = "/v1/vehicles/{id}", tag = "vehicles", operation_id = "retire_vehicle",
    params(("id" = Uuid, Path, description = "Vehicle id")),
    responses(
        (status = 200, description = "Retired; the record stays for history (`GET /v1/vehicles?status=retired`)", body = VehicleDto,
            links(("get" = (operation_id = "get_vehicle", parameters(("id" = "$response.body#/id")))))
        ),
        (status = 400, description = "Not an id", body = Problem),
        (status = 404, description = "No such vehicle", body = Problem),
        (status = 409, description = "The car has open reservations (`open-reservations`)", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn retire(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    ApiPath(id): ApiPath<VehicleId>,
) -> Result<ApiJson<VehicleDto>, ApiError> {
    Ok(ApiJson(VehicleDto::for_admin(
        state.services.vehicles.retire(id).await?,
    )))
}
