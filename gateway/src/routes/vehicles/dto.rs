//! The wire types of vehicles.

use super::*;

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

// The patterns restate the vehicles service's rules, so that what the document allows is what
// the service accepts: surrounding white space (Unicode `White_Space`) is trimmed first, and
// what remains may hold no control character.

/// A car to add to the fleet.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "plate": "QJZ4B17", "model": "BYD Dolphin", "year": 2025, "hourly_rate_cents": 4990,
    "battery_kwh": 44.9, "range_km": 291, "color": "branco"
}))]
pub struct NewVehicleBody {
    /// Mercosul (`ABC1D23`) or old (`ABC1234`) plate, optionally with `-` or a space after the
    /// letters; case is ignored. A plate registered before (retired cars included) is 409.
    #[schema(
        example = "QJZ4B17",
        pattern = r"^[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[A-Za-z]{3}[- ]?[0-9][A-Za-z0-9][0-9]{2}[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub plate: String,
    /// Make and model, 1 to 60 characters once trimmed, no control characters.
    #[schema(
        example = "BYD Dolphin",
        pattern = r"^[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]([^\x00-\x1F\x7F-\x9F]{0,58}[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub model: String,
    /// Model year, from 2010 to next year (the maximum is set when the document is built).
    #[schema(example = 2025, minimum = 2010)]
    #[serde(deserialize_with = "crate::extract::whole::integer")]
    pub year: i32,
    /// Price of one hour, integer centavos (BRL): R$ 1 to R$ 1,000.
    #[schema(example = 4990, minimum = 100, maximum = 100_000)]
    #[serde(deserialize_with = "crate::extract::whole::integer")]
    pub hourly_rate_cents: i64,
    /// Usable battery capacity, 5 to 250 kWh.
    #[schema(minimum = 5, maximum = 250)]
    pub battery_kwh: Option<f64>,
    /// Rated range, 10 to 1500 km.
    #[schema(minimum = 10, maximum = 1500)]
    pub range_km: Option<f64>,
    /// Body colour, at most 30 characters once trimmed, no control characters; empty is none.
    #[schema(
        pattern = r"^[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*([^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]([^\x00-\x1F\x7F-\x9F]{0,28}[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?)?[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
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

/// The statuses an admin may set; retiring goes through `DELETE`, which checks the car's
/// reservations.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // documents the wire format; the body is read as `VehicleStatusDto`
pub enum ChangeableVehicleStatus {
    /// In service: offered to customers.
    Available,
    /// Temporarily out of service.
    Maintenance,
}

/// The changes an admin may make to a car; any other field is refused (400). Absent fields
/// stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"hourly_rate_cents": 5490, "status": "maintenance"}))]
pub struct VehicleChanges {
    /// New price of one hour, integer centavos: R$ 1 to R$ 1,000.
    #[schema(minimum = 100, maximum = 100_000)]
    #[serde(default, deserialize_with = "crate::extract::whole::optional")]
    pub hourly_rate_cents: Option<i64>,
    /// `available` or `maintenance` (`retired` is refused with 422: retire with `DELETE`).
    #[schema(value_type = Option<ChangeableVehicleStatus>)]
    pub status: Option<VehicleStatusDto>,
    /// New make and model, 1 to 60 characters once trimmed, no control characters.
    #[schema(
        pattern = r"^[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]([^\x00-\x1F\x7F-\x9F]{0,58}[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub model: Option<String>,
    /// New colour, at most 30 characters once trimmed, no control characters; an empty string
    /// removes it.
    #[schema(
        pattern = r"^[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*([^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]([^\x00-\x1F\x7F-\x9F]{0,28}[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?)?[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub color: Option<String>,
    /// The id the car's OsmAnd tracker (Traccar Client, an OsmAnd-protocol GPS unit) reports:
    /// 20 to 64 characters of `A-Z a-z 0-9 . _ -`, compared exactly, unique in the fleet
    /// (409 if another car has it); `null` removes it. It is the tracker's only credential
    /// (the protocol has no other), so make it random, e.g. `openssl rand -hex 16`.
    #[schema(value_type = Option<String>, nullable, min_length = 20, max_length = 64, pattern = r"^[A-Za-z0-9._-]{20,64}$")]
    #[serde(default, deserialize_with = "present")]
    pub tracker_id: Option<Option<String>>,
}

/// A member that is present, `null` included: `null` clears, absence leaves as is.
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

impl From<VehicleChanges> for VehiclePatch {
    fn from(changes: VehicleChanges) -> Self {
        VehiclePatch {
            hourly_rate_cents: changes.hourly_rate_cents,
            status: changes.status.map(VehicleStatus::from),
            model: changes.model,
            color: changes.color,
            tracker_id: changes.tracker_id,
        }
    }
}

/// A car of the fleet.
#[derive(Debug, Serialize, ToSchema)]
pub struct VehicleDto {
    /// Id.
    #[schema(format = Uuid)]
    pub id: String,
    /// Plate, canonical form (upper case, no separator).
    pub plate: String,
    /// Make and model.
    pub model: String,
    /// Model year.
    #[serde(deserialize_with = "crate::extract::whole::integer")]
    pub year: i32,
    /// Price of one hour, integer centavos.
    pub hourly_rate_cents: i64,
    /// Always `BRL`.
    #[schema(example = "BRL")]
    pub currency: &'static str,
    /// Usable battery capacity, kWh.
    pub battery_kwh: Option<f64>,
    /// Rated range on a full charge, km, as registered (not the current range: see
    /// `estimated_range_km`).
    pub range_km: Option<f64>,
    /// Body colour.
    pub color: Option<String>,
    /// Where the car is in its life.
    pub status: VehicleStatusDto,
    /// When it joined the fleet.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The id the car's OsmAnd tracker reports, `null` when it has none. Admins only: it is
    /// the tracker's credential, so customers never get this member.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, nullable)]
    pub tracker_id: Option<Option<String>>,
    /// State of charge the car's unit last reported, percent (shown even when stale).
    pub battery_pct: Option<f64>,
    /// Whether the car was charging at that report.
    pub charging: Option<bool>,
    /// When the unit took that report.
    pub battery_reported_at: Option<DateTime<Utc>>,
    /// `ok`, `low` (below `fleet.min_battery_pct`) or `unknown` (no report, or a stale one).
    pub battery_state: BatteryStateDto,
    /// Estimated range on the current charge, km: the rated `range_km` scaled by the charge,
    /// or else `battery_kwh` at the fleet's city consumption. Null when the state is `unknown`
    /// or the car has neither figure.
    pub estimated_range_km: Option<f64>,
}

impl VehicleDto {
    /// The car as an admin sees it: with its tracker id.
    pub fn for_admin(vehicle: Vehicle) -> Self {
        let tracker_id = vehicle.tracker_id.clone();
        VehicleDto {
            tracker_id: Some(tracker_id),
            ..VehicleDto::from(vehicle)
        }
    }

    /// The car as `role` sees it.
    pub fn for_role(vehicle: Vehicle, role: Role) -> Self {
        match role {
            Role::Admin => VehicleDto::for_admin(vehicle),
            Role::Customer => VehicleDto::from(vehicle),
        }
    }
}

/// The customer's view: no tracker id.
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
            tracker_id: None,
            battery_pct: None,
            charging: None,
            battery_reported_at: None,
            battery_state: BatteryStateDto::Unknown,
            estimated_range_km: None,
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
            vehicle: VehicleDto::for_admin(registered.vehicle),
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

impl NearbyVehicleDto {
    /// The found car as `role` sees it.
    pub fn for_role(found: NearbyVehicle, role: Role) -> Self {
        NearbyVehicleDto {
            vehicle: VehicleDto::with_battery(found.vehicle, &found.battery, role),
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
    /// `[available_from, available_to)` (RFC 3339). One without the other, or a window whose
    /// end is not after its start, is 422.
    pub available_from: Option<DateTime<Utc>>,
    /// With `available_from`: the end of the window (exclusive).
    pub available_to: Option<DateTime<Utc>>,
    /// Admins only (a customer gets an empty page): `true` lists the cars, retired ones aside, whose
    /// last battery report is below `fleet.min_battery_pct` and that were not charging at it,
    /// stale reports included (a parked car does not charge itself); cars that never
    /// reported are not listed. Combines with `status`, not with the window.
    pub needs_charging: Option<bool>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[param(format = Uuid)]
    pub cursor: Option<String>,
}

/// Parameters of `GET /v1/vehicles/nearby`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NearbyQuery {
    /// Latitude of the search point, degrees (WGS 84); outside the service area is 422.
    #[param(example = -27.5954, minimum = -90, maximum = 90)]
    pub lat: f64,
    /// Longitude of the search point, degrees (WGS 84); outside the service area is 422.
    #[param(example = -48.5480, minimum = -180, maximum = 180)]
    pub lon: f64,
    /// Search radius, 1 to 50000 metres (default 2000).
    #[param(minimum = 1, maximum = 50_000)]
    pub radius_m: Option<f64>,
    /// Most cars returned, 1 to 200 (default 20).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
}
