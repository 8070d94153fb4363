//! The wire types of positions and tracks.

use super::*;

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
    /// Reported altitude, metres above the WGS 84 ellipsoid.
    pub altitude_m: Option<f64>,
    /// Reported horizontal accuracy radius, metres.
    pub accuracy_m: Option<f64>,
    /// Reported: the car is plugged in and charging.
    pub charging: Option<bool>,
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
            altitude_m: fix.altitude_m,
            accuracy_m: fix.accuracy_m,
            charging: fix.charging,
            flagged: fix.flagged,
            outside_service_area: fix.outside_service_area,
        }
    }
}

/// One fix as a car unit posts it. Unknown fields are ignored (the fix is kept) and named in
/// the answer's `ignored_fields`, so a unit newer than the server keeps working.
#[derive(ToSchema)]
#[schema(example = json!({
    "lat": -27.5954, "lon": -48.548, "recorded_at": "2026-03-01T12:00:00Z",
    "speed_kmh": 32.5, "heading_deg": 270, "battery_pct": 81,
    "altitude_m": 4.5, "accuracy_m": 6, "charging": false
}))]
#[allow(dead_code)] // documents the wire format; the body is parsed by `PositionsBody`
pub struct PositionFix {
    /// Latitude, -90 to 90 degrees.
    #[schema(example = -27.5954, minimum = -90, maximum = 90)]
    lat: f64,
    /// Longitude, -180 to 180 degrees.
    #[schema(example = -48.548, minimum = -180, maximum = 180)]
    lon: f64,
    /// When the unit took the fix, RFC 3339; at most 2 minutes ahead of the server's clock.
    recorded_at: DateTime<Utc>,
    /// Ground speed, 0 to 400 km/h.
    #[schema(minimum = 0, maximum = 400)]
    speed_kmh: Option<f64>,
    /// Heading, at least 0 and below 360 degrees.
    #[schema(minimum = 0, exclusive_maximum = 360)]
    heading_deg: Option<f64>,
    /// Traction battery charge, 0 to 100 percent.
    #[schema(minimum = 0, maximum = 100)]
    battery_pct: Option<f64>,
    /// Altitude above the WGS 84 ellipsoid, -500 to 20000 metres.
    #[schema(minimum = -500, maximum = 20_000)]
    altitude_m: Option<f64>,
    /// Horizontal accuracy radius, 0 to 100000 metres.
    #[schema(minimum = 0, maximum = 100_000)]
    accuracy_m: Option<f64>,
    /// Whether the car is plugged in and charging.
    charging: Option<bool>,
}

/// The body of `POST /v1/units/{vehicle_id}/positions`: one fix, or an array of up to 500.
///
/// Parsed in one pass: the well-formed fixes go to `fixes` (in order), the others to
/// `malformed` with their index in the body.
#[derive(Debug, Default)]
pub struct PositionsBody {
    /// The well-formed fixes, in body order.
    pub(super) fixes: Vec<FixInput>,
    /// The body index of each fix of `fixes`; `None` while it is the identity (no fix was
    /// malformed), so the common case costs nothing.
    pub(super) origin: Option<Vec<usize>>,
    /// Fixes that could not be read, by body index.
    pub(super) malformed: Vec<RejectedFixDto>,
    /// Unknown field names met in the body, first seen first, at most
    /// [`batch::MAX_IGNORED_FIELDS`].
    pub(super) ignored: Vec<String>,
}

impl PartialSchema for PositionsBody {
    fn schema() -> RefOr<Schema> {
        let fix = Ref::from_schema_name(PositionFix::name());
        OneOfBuilder::new()
            .item(fix.clone())
            .item(ArrayBuilder::new().items(fix).max_items(Some(MAX_BATCH)))
            .description(Some("One fix, or an array of up to 500 fixes"))
            .examples([json!([
                {"lat": -27.5954, "lon": -48.548, "recorded_at": "2026-03-01T12:00:00Z", "speed_kmh": 0},
                {"lat": -27.5961, "lon": -48.5473, "recorded_at": "2026-03-01T12:00:30Z", "speed_kmh": 14.2, "battery_pct": 80}
            ])])
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
    /// Fields of the body this server does not know, ignored (the fixes were kept); each
    /// name once, at most 16, each cut to 64 characters. Absent when there were none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 16)]
    pub ignored_fields: Vec<String>,
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
    /// Unknown fields ignored, as in the 202 answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 16)]
    pub ignored_fields: Vec<String>,
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
    /// End of the span (exclusive), RFC 3339; it must be after `from` (422 otherwise).
    pub to: DateTime<Utc>,
}
