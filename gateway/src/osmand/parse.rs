//! The OsmAnd query form (`?id=…&lat=…&lon=…&timestamp=…`, in the URL or as an
//! `application/x-www-form-urlencoded` body) turned into a tracker id and our [`FixInput`].
//!
//! Pure functions of the parameters and the arrival time, so every rule is unit-tested without
//! a server. The names and units follow Traccar's decoder, which is what OsmAnd-style trackers
//! are written against: `OsmAndProtocolDecoder.decodeQuery` in
//! <https://github.com/traccar/traccar/blob/master/src/main/java/org/traccar/protocol/OsmAndProtocolDecoder.java>
//! (read at commit 9e5c458ad0bf44ceaddf72534bf6874787f41b6c).

use std::borrow::Cow;

use actors::location::FixInput;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// Most parameters one request may carry: a fix has about fifteen, Traccar Client's extras
/// a few more; anything past this is garbage and is refused before it is looked at.
pub const MAX_PARAMETERS: usize = 64;

/// km/h in one knot. Traccar reads the query form's `speed` as knots
/// (`convertSpeed(Double.parseDouble(value), "kn")` in `decodeQuery`).
pub const KMH_PER_KNOT: f64 = 1.852;

/// Metres of horizontal error per unit of HDOP when a tracker sends `hdop` but no
/// `accuracy`: the usual user-equivalent range error of a consumer GNSS receiver. An estimate,
/// used only when the tracker gives nothing better.
pub const METRES_PER_HDOP: f64 = 5.0;

/// Epoch values below this are seconds, the others milliseconds: Traccar's own rule
/// (`if (timestamp < Integer.MAX_VALUE) timestamp *= 1000`).
const SECONDS_LIMIT: i64 = i32::MAX as i64;

/// What one OsmAnd request reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    /// The tracker's id (`id`, `deviceid` or `device_id`), not yet resolved to a car.
    pub tracker_id: String,
    /// The fixes to record, in the order sent.
    pub fixes: Vec<FixInput>,
    /// Fixes the tracker itself marked invalid (`valid=false`): not recorded (see
    /// [`super`] for why they are answered 200).
    pub invalid: usize,
}

/// One field that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The parameter (or JSON path) as the tracker named it.
    pub field: String,
    /// Why, in a few words.
    pub reason: &'static str,
}

impl Reported {
    /// Drops what the tracker said of its battery, when that battery is not the car's
    /// (`fleet.osmand_battery_is_car = false`).
    pub fn without_battery(mut self) -> Reported {
        for fix in &mut self.fixes {
            fix.battery_pct = None;
            fix.charging = None;
        }
        self
    }
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, reason: &'static str) -> Self {
        FieldError {
            field: field.into(),
            reason,
        }
    }
}

/// Why a request is not a fix; every bad field is listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub Vec<FieldError>);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (n, error) in self.0.iter().enumerate() {
            let separator = if n == 0 { "" } else { "; " };
            write!(f, "{separator}{}: {}", error.field, error.reason)?;
        }
        Ok(())
    }
}

pub(crate) const NOT_A_NUMBER: &str = "must be a number";
const NOT_A_TIME: &str =
    "must be epoch seconds or milliseconds, ISO 8601 with an offset, or YYYY-MM-DD HH:MM:SS (UTC)";
const NOT_A_BOOLEAN: &str = "must be true, false, 1 or 0";
const REQUIRED: &str = "required";
const BAD_LOCATION: &str = "must be \"lat,lon\"";
const BATTERY_RANGE: &str = "must be between 0 and 100 percent";

/// Reads the query form from its raw text (a URL's query, or a form body); `now` stands in for
/// a missing `timestamp`, as in Traccar.
pub fn from_query(raw: &[u8], now: DateTime<Utc>) -> Result<Reported, Malformed> {
    let mut pairs = Vec::new();
    for pair in form_urlencoded::parse(raw) {
        if pairs.len() == MAX_PARAMETERS {
            return Err(Malformed(vec![FieldError::new(
                "parameters",
                "too many parameters (at most 64)",
            )]));
        }
        pairs.push(pair);
    }
    from_pairs(&pairs, now)
}

/// Reads decoded `(name, value)` pairs. A repeated name keeps its last value; names that are
/// not part of a fix (`cell`, `wifi`, a tracker's own extras) are ignored, as Traccar keeps
/// them only as free attributes.
pub fn from_pairs(
    pairs: &[(Cow<'_, str>, Cow<'_, str>)],
    now: DateTime<Utc>,
) -> Result<Reported, Malformed> {
    let mut errors = Vec::new();
    let mut tracker_id = None;
    let (mut lat, mut lon, mut recorded_at) = (None, None, None);
    let mut fix = FixInput {
        lat: 0.0,
        lon: 0.0,
        recorded_at: now,
        speed_kmh: None,
        heading_deg: None,
        battery_pct: None,
        altitude_m: None,
        accuracy_m: None,
        charging: None,
    };
    let (mut hdop, mut valid) = (None, true);
    for (name, value) in pairs {
        let value = value.trim();
        match name.as_ref() {
            "id" | "deviceid" | "device_id" => {
                tracker_id = (!value.is_empty()).then(|| value.to_owned());
            }
            "lat" => lat = number("lat", value, &mut errors),
            "lon" => lon = number("lon", value, &mut errors),
            "location" => match split_location(value) {
                Some((latitude, longitude)) => (lat, lon) = (Some(latitude), Some(longitude)),
                None => errors.push(FieldError::new("location", BAD_LOCATION)),
            },
            "timestamp" => match parse_timestamp(value) {
                Some(time) => recorded_at = Some(time),
                None => errors.push(FieldError::new("timestamp", NOT_A_TIME)),
            },
            "speed" => {
                fix.speed_kmh =
                    known(number("speed", value, &mut errors)).map(|knots| knots * KMH_PER_KNOT)
            }
            "bearing" | "heading" => {
                fix.heading_deg = known(number(name, value, &mut errors)).map(heading)
            }
            "altitude" => fix.altitude_m = number("altitude", value, &mut errors),
            "accuracy" => fix.accuracy_m = known(number("accuracy", value, &mut errors)),
            "hdop" => hdop = known(number("hdop", value, &mut errors)),
            "batt" => match number("batt", value, &mut errors) {
                Some(pct) if !(0.0..=100.0).contains(&pct) => {
                    errors.push(FieldError::new("batt", BATTERY_RANGE));
                }
                pct => fix.battery_pct = pct,
            },
            "charge" => match boolean(value) {
                Some(charging) => fix.charging = Some(charging),
                None => errors.push(FieldError::new("charge", NOT_A_BOOLEAN)),
            },
            // Traccar: `Boolean.parseBoolean(value) || "1".equals(value)`; anything else is an
            // invalid fix, not a malformed request.
            "valid" => valid = boolean(value) == Some(true),
            _ => {}
        }
    }
    if fix.accuracy_m.is_none() {
        fix.accuracy_m = hdop.map(|hdop| hdop * METRES_PER_HDOP);
    }
    if tracker_id.is_none() {
        errors.push(FieldError::new("id", REQUIRED));
    }
    for (field, value) in [("lat", lat), ("lon", lon)] {
        let named = |error: &FieldError| error.field == field || error.field == "location";
        if value.is_none() && !errors.iter().any(named) {
            errors.push(FieldError::new(field, REQUIRED));
        }
    }
    check_coordinates(lat, lon, &mut errors);
    match (tracker_id, lat, lon) {
        (Some(tracker_id), Some(lat), Some(lon)) if errors.is_empty() => {
            fix.lat = lat;
            fix.lon = lon;
            fix.recorded_at = recorded_at.unwrap_or(now);
            Ok(Reported {
                tracker_id,
                fixes: if valid { vec![fix] } else { Vec::new() },
                invalid: usize::from(!valid),
            })
        }
        _ => Err(Malformed(errors)),
    }
}

/// A timestamp as Traccar reads one: an integer is epoch seconds below 2^31 - 1 and epoch
/// milliseconds above; text with a `T` is ISO 8601 with an offset (`Z`, `+hh:mm`, `+hhmm`);
/// other text is `YYYY-MM-DD HH:MM:SS`. Traccar reads that last form in its server's own
/// time zone; ours run on UTC, so it is read as UTC here.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(epoch) = text.parse::<i64>() {
        return if epoch < SECONDS_LIMIT {
            DateTime::from_timestamp(epoch, 0)
        } else {
            DateTime::from_timestamp_millis(epoch)
        };
    }
    if text.contains('T') {
        if let Ok(time) = DateTime::parse_from_rfc3339(text) {
            return Some(time.with_timezone(&Utc));
        }
        // ISO 8601 forms RFC 3339 leaves out: `+hhmm` or `+hh` offsets, no seconds.
        let zulu = text.strip_suffix(['Z', 'z']).map_or_else(
            || Cow::Borrowed(text),
            |bare| Cow::Owned(format!("{bare}+00:00")),
        );
        return ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z"]
            .iter()
            .find_map(|format| DateTime::parse_from_str(&zulu, format).ok())
            .map(|time| time.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|local| Utc.from_utc_datetime(&local))
}

/// A finite number, or the field's error.
fn number(field: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<f64> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Some(value),
        _ => {
            errors.push(FieldError::new(field, NOT_A_NUMBER));
            None
        }
    }
}

/// Trackers send a negative speed, heading or accuracy for "unknown" (Android's and the
/// background-geolocation plugin's -1): absent, not an error.
pub(crate) fn known(value: Option<f64>) -> Option<f64> {
    value.filter(|value| *value >= 0.0)
}

/// 360° is north again; the location service takes headings in `[0, 360)`.
pub(crate) fn heading(degrees: f64) -> f64 {
    if degrees == 360.0 { 0.0 } else { degrees }
}

fn boolean(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

fn split_location(text: &str) -> Option<(f64, f64)> {
    let (lat, lon) = text.split_once(',')?;
    let parse = |part: &str| part.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    Some((parse(lat)?, parse(lon)?))
}

/// Range checks the tracker can be told about precisely; the location service checks the
/// rest (speed, altitude, the clock) with its own rules.
pub(crate) fn check_coordinates(lat: Option<f64>, lon: Option<f64>, errors: &mut Vec<FieldError>) {
    if lat.is_some_and(|lat| !(-90.0..=90.0).contains(&lat)) {
        errors.push(FieldError::new("lat", "must be between -90 and 90"));
    }
    if lon.is_some_and(|lon| !(-180.0..=180.0).contains(&lon)) {
        errors.push(FieldError::new("lon", "must be between -180 and 180"));
    }
}
