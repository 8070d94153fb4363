//! Vehicles: registering cars, listing them (by status or by free time), the "cars near me"
//! search, and changing or retiring a car.
//!
//! `GET /v1/vehicles/{id}/position` and `/track` are location's (see [`super::location`]);
//! `/unlock` and `/lock` are locks'.

use actors::domain::InvalidField;
use actors::ids::VehicleId;
use actors::vehicles::{
    NearbyVehicle, NewVehicle, Page as VehiclePage, Registered, Vehicle, VehicleFilter,
    VehiclePatch, VehicleStatus,
};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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

/// This resource's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/vehicles", get(list).post(create))
        .route("/v1/vehicles/nearby", get(nearby))
        .route("/v1/vehicles/{id}", get(read).patch(update).delete(retire))
}

// ---- DTOs ------------------------------------------------------------------------------------

/// Where a car is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VehicleStatusDto {
    /// In service: offered to customers.
    Available,
    /// Temporarily out of service.
    Maintenance,
    /// Out of the fleet for good (only through `DELETE`).
    Retired,
}

impl From<VehicleStatus> for VehicleStatusDto {
    fn from(status: VehicleStatus) -> Self {
        match status {
            VehicleStatus::Available => VehicleStatusDto::Available,
            VehicleStatus::Maintenance => VehicleStatusDto::Maintenance,
            VehicleStatus::Retired => VehicleStatusDto::Retired,
        }
    }
}

impl From<VehicleStatusDto> for VehicleStatus {
    fn from(status: VehicleStatusDto) -> Self {
        match status {
            VehicleStatusDto::Available => VehicleStatus::Available,
            VehicleStatusDto::Maintenance => VehicleStatus::Maintenance,
            VehicleStatusDto::Retired => VehicleStatus::Retired,
        }
    }
}

/// A car to add to the fleet.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVehicleBody {
    /// Mercosul (`ABC1D23`) or old (`ABC1234`) plate; case and a separator are ignored.
    #[schema(example = "QJZ4B17")]
    pub plate: String,
    /// Make and model.
    #[schema(example = "BYD Dolphin")]
    pub model: String,
    /// Model year.
    #[schema(example = 2025)]
    pub year: i32,
    /// Price of one hour, integer centavos (BRL).
    #[schema(example = 4990)]
    pub hourly_rate_cents: i64,
    /// Usable battery capacity, kWh.
    pub battery_kwh: Option<f64>,
    /// Rated range, km.
    pub range_km: Option<f64>,
    /// Body colour.
    pub color: Option<String>,
}

impl From<NewVehicleBody> for NewVehicle {
    fn from(body: NewVehicleBody) -> Self {
        NewVehicle {
            plate: body.plate,
            model: body.model,
            year: body.year,
            hourly_rate_cents: body.hourly_rate_cents,
            battery_kwh: body.battery_kwh,
            range_km: body.range_km,
            color: body.color,
        }
    }
}

/// The changes an admin may make to a car; any other field is refused (400). Absent fields
/// stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VehicleChanges {
    /// New price of one hour, integer centavos.
    pub hourly_rate_cents: Option<i64>,
    /// `available` or `maintenance` (`retired` is refused with 422: retire with `DELETE`).
    pub status: Option<VehicleStatusDto>,
    /// New make and model.
    pub model: Option<String>,
    /// New colour; an empty string removes it.
    pub color: Option<String>,
}

impl From<VehicleChanges> for VehiclePatch {
    fn from(changes: VehicleChanges) -> Self {
        VehiclePatch {
            hourly_rate_cents: changes.hourly_rate_cents,
            status: changes.status.map(VehicleStatus::from),
            model: changes.model,
            color: changes.color,
        }
    }
}

/// A car of the fleet.
#[derive(Debug, Serialize, ToSchema)]
pub struct VehicleDto {
    /// Id (UUID).
    pub id: String,
    /// Plate, canonical form (upper case, no separator).
    pub plate: String,
    /// Make and model.
    pub model: String,
    /// Model year.
    pub year: i32,
    /// Price of one hour, integer centavos.
    pub hourly_rate_cents: i64,
    /// Always `BRL`.
    #[schema(example = "BRL")]
    pub currency: &'static str,
    /// Usable battery capacity, kWh.
    pub battery_kwh: Option<f64>,
    /// Rated range, km.
    pub range_km: Option<f64>,
    /// Body colour.
    pub color: Option<String>,
    /// Where the car is in its life.
    pub status: VehicleStatusDto,
    /// When it joined the fleet.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Vehicle> for VehicleDto {
    fn from(vehicle: Vehicle) -> Self {
        VehicleDto {
            id: vehicle.id.to_string(),
            plate: vehicle.plate,
            model: vehicle.model,
            year: vehicle.year,
            hourly_rate_cents: vehicle.hourly_rate_cents,
            currency: vehicle.currency,
            battery_kwh: vehicle.battery_kwh,
            range_km: vehicle.range_km,
            color: vehicle.color,
            status: vehicle.status.into(),
            created_at: vehicle.created_at,
            updated_at: vehicle.updated_at,
        }
    }
}

/// A newly registered car with its unit's credential. The `device_token` is shown in this
/// answer only (the server keeps its SHA-256): configure it in the car's unit now.
#[derive(Serialize, ToSchema)]
pub struct RegisteredVehicleDto {
    /// The car.
    #[serde(flatten)]
    pub vehicle: VehicleDto,
    /// The unit's bearer credential for `/v1/units/{vehicle_id}/...`.
    pub device_token: String,
}

impl From<Registered> for RegisteredVehicleDto {
    fn from(registered: Registered) -> Self {
        RegisteredVehicleDto {
            vehicle: registered.vehicle.into(),
            device_token: registered.device_token,
        }
    }
}

/// An available car near the search point.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearbyVehicleDto {
    /// The car.
    pub vehicle: VehicleDto,
    /// Its latest position.
    pub position: FixDto,
    /// Great-circle distance from the search point, metres.
    pub distance_m: f64,
}

impl From<NearbyVehicle> for NearbyVehicleDto {
    fn from(found: NearbyVehicle) -> Self {
        NearbyVehicleDto {
            vehicle: found.vehicle.into(),
            position: found.position.into(),
            distance_m: found.distance_m,
        }
    }
}

/// Filters and paging of `GET /v1/vehicles`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VehicleListQuery {
    /// Only cars in this status.
    pub status: Option<VehicleStatusDto>,
    /// With `available_to`: only available cars with no reservation overlapping
    /// `[available_from, available_to)` (RFC 3339).
    pub available_from: Option<DateTime<Utc>>,
    /// With `available_from`: the end of the window (exclusive).
    pub available_to: Option<DateTime<Utc>>,
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Parameters of `GET /v1/vehicles/nearby`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NearbyQuery {
    /// Latitude of the search point, degrees (WGS 84).
    #[param(example = -27.5954)]
    pub lat: f64,
    /// Longitude of the search point, degrees (WGS 84).
    #[param(example = -48.5480)]
    pub lon: f64,
    /// Search radius, 1 to 50000 metres (default 2000).
    pub radius_m: Option<f64>,
    /// Most cars returned, 1 to 200 (default 20).
    pub limit: Option<usize>,
}

// ---- handlers --------------------------------------------------------------------------------

/// Add a car to the fleet (admin). The answer carries the unit's `device_token`, shown only
/// this once.
#[utoipa::path(
    post, path = "/v1/vehicles", tag = "vehicles",
    request_body = NewVehicleBody,
    responses(
        (status = 201, description = "Registered, available at once", body = RegisteredVehicleDto),
        (status = 400, description = "Malformed body, missing or unknown field", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 409, description = "The plate is already registered (retired cars included)", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Not JSON", body = Problem),
        (status = 422, description = "Invalid fields, each listed in `errors`", body = Problem),
        (status = 503, description = "A service is not available; retry", body = Problem),
        (status = 504, description = "A service did not answer in time", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    ApiJson(body): ApiJson<NewVehicleBody>,
) -> Result<(StatusCode, ApiJson<RegisteredVehicleDto>), ApiError> {
    let registered = state.services.vehicles.register(body.into()).await?;
    Ok((StatusCode::CREATED, ApiJson(registered.into())))
}

/// The fleet, in registration order: every car, the cars in one `status`, or (with
/// `available_from` and `available_to`) the available cars free for that whole window.
#[utoipa::path(
    get, path = "/v1/vehicles", tag = "vehicles",
    params(VehicleListQuery),
    responses(
        (status = 200, body = Page<VehicleDto>),
        (status = 400, description = "Bad limit, cursor, status or time, or an unknown parameter", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 422, description = "Only one end of the window, or an end not after the start", body = Problem),
        (status = 503, description = "A service is not available; retry", body = Problem),
        (status = 504, description = "A service did not answer in time", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(_caller): Caller,
    ApiQuery(query): ApiQuery<VehicleListQuery>,
) -> Result<ApiJson<Page<VehicleDto>>, ApiError> {
    let paging = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let (limit, after) = (paging.limit()?, paging.cursor::<VehicleId>()?);
    let vehicles = &state.services.vehicles;
    let page = match (query.available_from, query.available_to) {
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
    let items = page.items.into_iter().map(VehicleDto::from).collect();
    Ok(ApiJson(Page::new(items, page.next_cursor)))
}

fn window_half(missing: &'static str) -> ApiError {
    ApiError::invalid(&[InvalidField {
        field: missing,
        reason: "give available_from and available_to together".into(),
    }])
}

/// Available cars near a point, nearest first (`[{vehicle, position, distance_m}]`). Cars in
/// maintenance, retired, or booked for the next shortest rental are left out.
#[utoipa::path(
    get, path = "/v1/vehicles/nearby", tag = "vehicles",
    params(NearbyQuery),
    responses(
        (status = 200, description = "Nearest first", body = Vec<NearbyVehicleDto>),
        (status = 400, description = "Missing or non-numeric lat/lon, or an unknown parameter", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 422, description = "Bad radius or limit, or a point outside the service area", body = Problem),
        (status = 503, description = "A service is not available; retry", body = Problem),
        (status = 504, description = "A service did not answer in time", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn nearby(
    State(state): State<AppState>,
    Caller(_caller): Caller,
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
        found.into_iter().map(NearbyVehicleDto::from).collect(),
    ))
}

/// One car.
#[utoipa::path(
    get, path = "/v1/vehicles/{id}", tag = "vehicles",
    params(("id" = String, Path, description = "Vehicle id")),
    responses(
        (status = 200, body = VehicleDto),
        (status = 400, description = "Not an id", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 404, description = "No such vehicle", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn read(
    State(state): State<AppState>,
    Caller(_caller): Caller,
    ApiPath(id): ApiPath<VehicleId>,
) -> Result<ApiJson<VehicleDto>, ApiError> {
    Ok(ApiJson(state.services.vehicles.get(id).await?.into()))
}

/// Change a car (admin): rate, model, colour, or status between `available` and `maintenance`.
#[utoipa::path(
    patch, path = "/v1/vehicles/{id}", tag = "vehicles",
    params(("id" = String, Path, description = "Vehicle id")),
    request_body = VehicleChanges,
    responses(
        (status = 200, description = "The car as changed", body = VehicleDto),
        (status = 400, description = "Not an id, malformed body, or a field that cannot be changed", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such vehicle", body = Problem),
        (status = 409, description = "The car is retired", body = Problem),
        (status = 415, description = "Not JSON", body = Problem),
        (status = 422, description = "Invalid fields (e.g. status `retired`), each listed in `errors`", body = Problem),
        (status = 503, description = "A service is not available; retry", body = Problem),
        (status = 504, description = "A service did not answer in time", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    ApiPath(id): ApiPath<VehicleId>,
    ApiJson(changes): ApiJson<VehicleChanges>,
) -> Result<ApiJson<VehicleDto>, ApiError> {
    Ok(ApiJson(
        state
            .services
            .vehicles
            .update(id, changes.into())
            .await?
            .into(),
    ))
}

/// Retire a car for good (admin); answers the retired car (200). Refused while the car has
/// reservations that are not finished. Retiring a retired car answers it as it is.
#[utoipa::path(
    delete, path = "/v1/vehicles/{id}", tag = "vehicles",
    params(("id" = String, Path, description = "Vehicle id")),
    responses(
        (status = 200, description = "Retired; the car's record stays for history", body = VehicleDto),
        (status = 400, description = "Not an id", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such vehicle", body = Problem),
        (status = 409, description = "The car has open reservations", body = Problem),
        (status = 503, description = "A service is not available; retry", body = Problem),
        (status = 504, description = "A service did not answer in time", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn retire(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    ApiPath(id): ApiPath<VehicleId>,
) -> Result<ApiJson<VehicleDto>, ApiError> {
    Ok(ApiJson(state.services.vehicles.retire(id).await?.into()))
}

/// The OpenAPI part of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create, list, nearby, read, update, retire),
    components(schemas(
        NewVehicleBody,
        VehicleChanges,
        VehicleStatusDto,
        VehicleDto,
        RegisteredVehicleDto,
        NearbyVehicleDto,
        FixDto,
        Page<VehicleDto>
    ))
)]
pub struct VehiclesApi;
