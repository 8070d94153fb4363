//! Location: car units posting their fixes, a car's latest position, and its track.
//!
//! `POST /v1/units/{vehicle_id}/positions` is the busiest route of the API, so it is kept
//! cheap: the unit's credential is checked against a cache, the rate limit is taken, and only
//! then is the body read; the batch is parsed in one pass straight into the service's input
//! (no intermediate JSON tree, no copy), and the location service is asked once.
//!
//! A batch is parsed fix by fix: a fix that is not even well-typed (a string for a number, a
//! missing `recorded_at`, an unknown field) does not sink the batch; it is listed with its
//! index next to the fixes the service refused, and the well-formed ones are kept. A unit that
//! re-sends an unacknowledged batch therefore never loops on one bad fix.

use std::collections::BTreeMap;
use std::fmt;

use actors::customers::Role;
use actors::ids::{CustomerId, VehicleId};
use actors::location::{self, Fix, FixInput};
use actors::reservations::{Requester, ReservationFilter, ReservationStatus, ReservationsError};
use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::openapi::schema::{ArrayBuilder, OneOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::auth::{Caller, DeviceToken};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// Most fixes one batch may carry.
pub const MAX_BATCH: usize = location::MAX_BATCH;
/// Most fixes one track answer holds; `truncated` says when there were more.
pub const MAX_TRACK: usize = location::MAX_TRACK;

/// This resource's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/units/{vehicle_id}/positions", post(record_positions))
        .route("/v1/vehicles/{id}/position", get(latest_position))
        .route("/v1/vehicles/{id}/track", get(track))
}

// ---- DTOs ------------------------------------------------------------------------------------

/// A stored position of a car.
#[derive(Debug, Serialize, ToSchema)]
pub struct FixDto {
    /// Latitude, degrees (WGS 84).
    pub lat: f64,
    /// Longitude, degrees (WGS 84).
    pub lon: f64,
    /// When the unit took the fix (the unit's clock).
    pub recorded_at: DateTime<Utc>,
    /// Reported ground speed, km/h.
    pub speed_kmh: Option<f64>,
    /// Reported heading, degrees clockwise from north.
    pub heading_deg: Option<f64>,
    /// Reported traction battery charge, percent.
    pub battery_pct: Option<f64>,
    /// Implied an implausible speed from its time neighbours: kept for the record, never the
    /// car's position.
    pub flagged: bool,
    /// The car was outside the service area.
    pub outside_service_area: bool,
}

impl From<Fix> for FixDto {
    fn from(fix: Fix) -> Self {
        FixDto {
            lat: fix.lat,
            lon: fix.lon,
            recorded_at: fix.recorded_at,
            speed_kmh: fix.speed_kmh,
            heading_deg: fix.heading_deg,
            battery_pct: fix.battery_pct,
            flagged: fix.flagged,
            outside_service_area: fix.outside_service_area,
        }
    }
}

/// One fix as a car unit posts it (unknown fields are refused, per fix).
#[derive(ToSchema)]
#[allow(dead_code)] // documents the wire format; the body is parsed by `PositionsBody`
pub struct PositionFix {
    /// Latitude, -90 to 90 degrees.
    #[schema(example = -27.5954)]
    lat: f64,
    /// Longitude, -180 to 180 degrees.
    #[schema(example = -48.548)]
    lon: f64,
    /// When the unit took the fix, RFC 3339; at most 2 minutes ahead of the server's clock.
    recorded_at: DateTime<Utc>,
    /// Ground speed, 0 to 400 km/h.
    speed_kmh: Option<f64>,
    /// Heading, at least 0 and below 360 degrees.
    heading_deg: Option<f64>,
    /// Traction battery charge, 0 to 100 percent.
    battery_pct: Option<f64>,
}

/// The body of `POST /v1/units/{vehicle_id}/positions`: one fix, or an array of up to 500.
///
/// Parsed in one pass: the well-formed fixes go to `fixes` (in order), the others to
/// `malformed` with their index in the body.
#[derive(Debug, Default)]
pub struct PositionsBody {
    /// The well-formed fixes, in body order.
    fixes: Vec<FixInput>,
    /// The body index of each fix of `fixes`; `None` while it is the identity (no fix was
    /// malformed), so the common case costs nothing.
    origin: Option<Vec<usize>>,
    /// Fixes that could not be read, by body index.
    malformed: Vec<RejectedFixDto>,
}

impl PartialSchema for PositionsBody {
    fn schema() -> RefOr<Schema> {
        let fix = Ref::from_schema_name(PositionFix::name());
        OneOfBuilder::new()
            .item(fix.clone())
            .item(ArrayBuilder::new().items(fix).max_items(Some(MAX_BATCH)))
            .description(Some("One fix, or an array of up to 500 fixes"))
            .into()
    }
}

impl ToSchema for PositionsBody {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((PositionFix::name().into(), PositionFix::schema()));
    }
}

/// The outcome of a batch in which every fix was well-formed.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestDto {
    /// Fixes stored, the flagged ones included.
    pub accepted: u32,
    /// Fixes already stored for the same `recorded_at` (a re-sent batch): ignored, not errors.
    pub duplicates: u32,
    /// Among the accepted, those implying an implausible move (never the car's position).
    pub flagged: u32,
}

/// A refused fix of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedFixDto {
    /// Its index in the batch, from 0 (a single fix is index 0).
    pub index: usize,
    /// What is wrong, field by field (`fix` when it is not an object at all).
    pub errors: BTreeMap<String, String>,
}

/// The extra members of the 400 problem answered when some fixes of a batch were refused:
/// the other fixes were kept and are counted here.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedBatchDto {
    /// Fixes stored, the flagged ones included.
    pub accepted: u32,
    /// Fixes already stored (ignored).
    pub duplicates: u32,
    /// Among the accepted, those stored as implausible.
    pub flagged: u32,
    /// The refused fixes, by index.
    pub rejected: Vec<RejectedFixDto>,
}

/// A car's fixes over a span, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackDto {
    /// The fixes (flagged ones included and marked), oldest first, at most 10000.
    pub items: Vec<FixDto>,
    /// The limit was reached, so the span may hold more: ask again with `from` set to the last
    /// fix's `recorded_at` (that fix then comes again first).
    pub truncated: bool,
}

/// The span of `GET /v1/vehicles/{id}/track`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrackQuery {
    /// Start of the span (inclusive), RFC 3339.
    pub from: DateTime<Utc>,
    /// End of the span (exclusive), RFC 3339.
    pub to: DateTime<Utc>,
}

// ---- handlers --------------------------------------------------------------------------------

/// A car unit reports one fix or a batch of up to 500 (its buffer after a coverage gap).
///
/// 202 when every fix was well-formed. When some were not, 400: the well-formed fixes were
/// stored anyway, and the problem carries `accepted`, `duplicates`, `flagged` and
/// `rejected: [{index, errors: {field: reason}}]` (see `RejectedBatchDto`). A fix whose
/// `recorded_at` is already stored counts as a duplicate: re-sending a batch is safe.
#[utoipa::path(
    post, path = "/v1/units/{vehicle_id}/positions", tag = "location",
    params(("vehicle_id" = String, Path, description = "The unit's vehicle id")),
    request_body = PositionsBody,
    responses(
        (status = 202, description = "Stored", body = IngestDto),
        (status = 400, description = "Malformed JSON, more than 500 fixes, or some malformed fixes (the others were kept; counts and `rejected` in the body, as in RejectedBatchDto)", body = Problem),
        (status = 401, description = "No device token, or not this car's", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Not JSON", body = Problem),
        (status = 429, description = "Too many requests from this unit; see Retry-After", body = Problem,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "A service is not available; retry", body = Problem),
        (status = 504, description = "A service did not answer in time", body = Problem),
    ),
    security(("device" = []))
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
    };
    Err(ApiError::bad_request(detail).with_extra(json!(extra)))
}

/// The car's latest valid position (never a flagged fix).
#[utoipa::path(
    get, path = "/v1/vehicles/{id}/position", tag = "location",
    params(("id" = String, Path, description = "Vehicle id")),
    responses(
        (status = 200, body = FixDto),
        (status = 400, description = "Not an id", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 404, description = "No such vehicle, or it never reported a position", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn latest_position(
    State(state): State<AppState>,
    Caller(_caller): Caller,
    ApiPath(id): ApiPath<VehicleId>,
) -> Result<ApiJson<FixDto>, ApiError> {
    match state.services.location.latest(id).await? {
        Some(fix) => Ok(ApiJson(fix.into())),
        None => Err(ApiError::not_found("no position for this vehicle")),
    }
}

/// The car's fixes in `[from, to)`, oldest first, flagged ones included and marked; at most
/// 10000 (`truncated` says when there were more).
///
/// An admin sees any span. A customer sees only the parts of the span inside their own
/// reservations of this car (confirmed, active, completed or no-show), each from its start to
/// the car's release (or the reservation's end if not released); a customer without such a
/// reservation gets 404.
#[utoipa::path(
    get, path = "/v1/vehicles/{id}/track", tag = "location",
    params(("id" = String, Path, description = "Vehicle id"), TrackQuery),
    responses(
        (status = 200, body = TrackDto),
        (status = 400, description = "Not an id, a missing or malformed `from`/`to`, or an unknown parameter", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 404, description = "No such vehicle, or (customer) no reservation of it", body = Problem),
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
    let fixes = match principal.role {
        Role::Admin => {
            state.services.vehicles.get(id).await?;
            location.track(id, span.from, span.to, MAX_TRACK).await?
        }
        Role::Customer => {
            let windows = rental_windows(&state, CustomerId(principal.subject), id)?;
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

/// A span of time: start inclusive, end exclusive.
type Window = (DateTime<Utc>, DateTime<Utc>);

/// The spans in which `customer` held `vehicle`, oldest first: each reservation that kept
/// the car for them (not cancelled, rejected or still awaiting payment), from its start to the
/// release, or to its end if the car was not released.
fn rental_windows(
    state: &AppState,
    customer: CustomerId,
    vehicle: VehicleId,
) -> Result<Vec<Window>, ReservationsError> {
    // `customer_id` repeats the requester on purpose: the customer listing must never let
    // another customer's reservation through, whatever its range bounds do.
    let filter = ReservationFilter {
        vehicle_id: Some(vehicle),
        customer_id: Some(customer),
        ..ReservationFilter::default()
    };
    let mut windows = Vec::new();
    let mut after = None;
    loop {
        let page =
            state
                .services
                .reservations
                .list(Requester::Customer(customer), &filter, 200, after)?;
        windows.extend(
            page.items
                .iter()
                .filter(|reservation| {
                    matches!(
                        reservation.status,
                        ReservationStatus::Confirmed
                            | ReservationStatus::Active
                            | ReservationStatus::Completed
                            | ReservationStatus::NoShow
                    )
                })
                .map(|reservation| {
                    (
                        reservation.start_at,
                        reservation.released_at.unwrap_or(reservation.end_at),
                    )
                }),
        );
        match page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    windows.sort_unstable();
    Ok(windows)
}

// ---- the batch parser ------------------------------------------------------------------------

impl<'de> Deserialize<'de> for PositionsBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = PositionsBody;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one fix object or an array of at most {MAX_BATCH} fixes")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PositionsBody, A::Error> {
        let mut body = PositionsBody::default();
        body.push(0, read_fix(map)?);
        Ok(body)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PositionsBody, A::Error> {
        let mut body = PositionsBody {
            fixes: Vec::with_capacity(seq.size_hint().unwrap_or(16).min(MAX_BATCH)),
            ..PositionsBody::default()
        };
        let mut index = 0;
        while let Some(slot) = seq.next_element::<Slot>()? {
            if index == MAX_BATCH {
                // Refused before reading the rest.
                return Err(de::Error::custom(format_args!(
                    "a batch holds at most {MAX_BATCH} fixes; this one has more"
                )));
            }
            body.push(index, slot.0);
            index += 1;
        }
        Ok(body)
    }
}

impl PositionsBody {
    fn push(&mut self, index: usize, fix: Result<FixInput, BTreeMap<String, String>>) {
        match fix {
            Ok(fix) => {
                if let Some(origin) = &mut self.origin {
                    origin.push(index);
                }
                self.fixes.push(fix);
            }
            Err(errors) => {
                if self.origin.is_none() {
                    self.origin = Some((0..self.fixes.len()).collect());
                }
                self.malformed.push(RejectedFixDto { index, errors });
            }
        }
    }
}

/// One element of a batch: a fix, or what is wrong with it.
struct Slot(Result<FixInput, BTreeMap<String, String>>);

impl<'de> Deserialize<'de> for Slot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SlotVisitor)
    }
}

struct SlotVisitor;

fn not_an_object() -> Slot {
    Slot(Err(BTreeMap::from([(
        "fix".to_owned(),
        "a fix must be a JSON object".to_owned(),
    )])))
}

impl<'de> Visitor<'de> for SlotVisitor {
    type Value = Slot;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a fix object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Slot, A::Error> {
        read_fix(map).map(Slot)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Slot, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(not_an_object())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Slot, E> {
        Ok(not_an_object())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Slot, E> {
        Ok(not_an_object())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Slot, E> {
        Ok(not_an_object())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Slot, E> {
        Ok(not_an_object())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Slot, E> {
        Ok(not_an_object())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Slot, E> {
        Ok(not_an_object())
    }
}

/// The fields of a fix, by name.
enum Key {
    Lat,
    Lon,
    RecordedAt,
    SpeedKmh,
    HeadingDeg,
    BatteryPct,
    Unknown(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(match name {
                    "lat" => Key::Lat,
                    "lon" => Key::Lon,
                    "recorded_at" => Key::RecordedAt,
                    "speed_kmh" => Key::SpeedKmh,
                    "heading_deg" => Key::HeadingDeg,
                    "battery_pct" => Key::BatteryPct,
                    other => Key::Unknown(other.chars().take(64).collect()),
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// A field's value read without failing the parse: `Ok(None)` for null, `Err(reason)` for a
/// value of the wrong type.
struct Lenient<T>(Result<Option<T>, &'static str>);

const NOT_A_NUMBER: &str = "must be a number";
const NOT_A_TIME: &str = "must be an RFC 3339 time, e.g. 2026-03-01T12:00:00Z";

/// What a wrong-typed value answers; maps and arrays are skipped whole.
macro_rules! refuse_other_types {
    ($reason:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Lenient(Err($reason)))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Lenient(Ok(None)))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Lenient(Err($reason)))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Lenient(Err($reason)))
        }
    };
}

impl<'de> Deserialize<'de> for Lenient<f64> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumberVisitor;
        impl<'de> Visitor<'de> for NumberVisitor {
            type Value = Lenient<f64>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
                Ok(Lenient(Ok(Some(value))))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
                Ok(Lenient(Ok(Some(value as f64))))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
                Ok(Lenient(Ok(Some(value as f64))))
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Lenient(Err(NOT_A_NUMBER)))
            }

            refuse_other_types!(NOT_A_NUMBER);
        }
        deserializer.deserialize_any(NumberVisitor)
    }
}

impl<'de> Deserialize<'de> for Lenient<DateTime<Utc>> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;
        impl<'de> Visitor<'de> for TimeVisitor {
            type Value = Lenient<DateTime<Utc>>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 time")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Lenient(
                    DateTime::parse_from_rfc3339(text)
                        .map(|time| Some(time.with_timezone(&Utc)))
                        .map_err(|_| NOT_A_TIME),
                ))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient(Err(NOT_A_TIME)))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient(Err(NOT_A_TIME)))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient(Err(NOT_A_TIME)))
            }

            refuse_other_types!(NOT_A_TIME);
        }
        deserializer.deserialize_any(TimeVisitor)
    }
}

/// Reads one fix object; its problems are returned as field errors, never as a parse error
/// (only broken JSON is).
fn read_fix<'de, A: MapAccess<'de>>(
    mut map: A,
) -> Result<Result<FixInput, BTreeMap<String, String>>, A::Error> {
    let mut errors = BTreeMap::new();
    let (mut lat, mut lon, mut recorded_at) = (None, None, None);
    let (mut speed_kmh, mut heading_deg, mut battery_pct) = (None, None, None);
    let mut keep = |slot: &mut Option<f64>, name: &str, value: Lenient<f64>| match value.0 {
        Ok(value) => *slot = value,
        Err(reason) => {
            errors.insert(name.to_owned(), reason.to_owned());
        }
    };
    let mut unknown = Vec::new();
    let mut bad_time = false;
    while let Some(key) = map.next_key::<Key>()? {
        match key {
            Key::Lat => keep(&mut lat, "lat", map.next_value()?),
            Key::Lon => keep(&mut lon, "lon", map.next_value()?),
            Key::SpeedKmh => keep(&mut speed_kmh, "speed_kmh", map.next_value()?),
            Key::HeadingDeg => keep(&mut heading_deg, "heading_deg", map.next_value()?),
            Key::BatteryPct => keep(&mut battery_pct, "battery_pct", map.next_value()?),
            Key::RecordedAt => match map.next_value::<Lenient<DateTime<Utc>>>()?.0 {
                Ok(time) => recorded_at = time,
                Err(_) => bad_time = true,
            },
            Key::Unknown(name) => {
                map.next_value::<IgnoredAny>()?;
                unknown.push(name);
            }
        }
    }
    if bad_time {
        errors.insert("recorded_at".to_owned(), NOT_A_TIME.to_owned());
    }
    for name in unknown {
        errors.insert(name, "unknown field".to_owned());
    }
    for (name, missing) in [
        ("lat", lat.is_none()),
        ("lon", lon.is_none()),
        ("recorded_at", recorded_at.is_none()),
    ] {
        if missing {
            errors
                .entry(name.to_owned())
                .or_insert_with(|| "required".to_owned());
        }
    }
    Ok(match (lat, lon, recorded_at) {
        (Some(lat), Some(lon), Some(recorded_at)) if errors.is_empty() => Ok(FixInput {
            lat,
            lon,
            recorded_at,
            speed_kmh,
            heading_deg,
            battery_pct,
        }),
        _ => Err(errors),
    })
}

/// The OpenAPI part of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(record_positions, latest_position, track),
    components(schemas(
        PositionFix,
        PositionsBody,
        IngestDto,
        RejectedFixDto,
        RejectedBatchDto,
        FixDto,
        TrackDto
    ))
)]
pub struct LocationApi;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> PositionsBody {
        serde_json::from_str(json).expect("parses")
    }

    #[test]
    fn one_fix_or_an_array_and_bad_fixes_do_not_sink_the_batch() {
        let one = parse(r#"{"lat": -27.59, "lon": -48.54, "recorded_at": "2026-03-01T12:00:00Z"}"#);
        assert_eq!(one.fixes.len(), 1);
        assert!(one.origin.is_none() && one.malformed.is_empty());

        let batch = parse(
            r#"[{"lat": -27.59, "lon": -48.54, "recorded_at": "2026-03-01T12:00:00Z", "speed_kmh": null},
                {"lat": "north", "lon": -48.54, "recorded_at": "yesterday", "extra": {"a": [1]}},
                7,
                {"lat": -27.6, "lon": -48.5, "recorded_at": "2026-03-01T12:00:30-03:00", "battery_pct": 80}]"#,
        );
        assert_eq!(batch.fixes.len(), 2);
        assert_eq!(batch.fixes[1].battery_pct, Some(80.0));
        assert_eq!(
            batch.fixes[1].recorded_at.to_rfc3339(),
            "2026-03-01T15:00:30+00:00"
        );
        assert_eq!(batch.origin, Some(vec![0, 3]));
        let rejected: Vec<_> = batch
            .malformed
            .iter()
            .map(|r| (r.index, r.errors.keys().cloned().collect::<Vec<_>>()))
            .collect();
        assert_eq!(
            rejected,
            [
                (
                    1,
                    vec!["extra".to_owned(), "lat".into(), "recorded_at".into()]
                ),
                (2, vec!["fix".into()])
            ]
        );

        let missing = parse(r#"[{"lat": 1}]"#);
        assert_eq!(missing.malformed[0].errors["lon"], "required");
        assert_eq!(missing.malformed[0].errors["recorded_at"], "required");
    }

    #[test]
    fn more_than_the_limit_and_broken_json_are_errors() {
        let fix = r#"{"lat": 1, "lon": 1, "recorded_at": "2026-03-01T12:00:00Z"}"#;
        let full = format!("[{}]", vec![fix; MAX_BATCH].join(","));
        assert_eq!(parse(&full).fixes.len(), MAX_BATCH);
        let over = format!("[{}]", vec![fix; MAX_BATCH + 1].join(","));
        let error = serde_json::from_str::<PositionsBody>(&over).unwrap_err();
        assert!(error.to_string().contains("at most 500"), "{error}");
        assert!(serde_json::from_str::<PositionsBody>("[{\"lat\": 1,]").is_err());
        assert!(serde_json::from_str::<PositionsBody>("\"fix\"").is_err());
    }
}
