//! The JSON form Traccar Client 9 and later posts (`Content-Type: application/json`):
//!
//! ```json
//! {"location": {"timestamp": "2021-07-21T08:06:34.444Z",
//!               "coords": {"latitude": -6.11, "longitude": 106.68, "accuracy": 3.8,
//!                          "speed": 18.67, "heading": 63, "altitude": 35.7},
//!               "is_moving": true, "battery": {"level": 0.79, "is_charging": false}},
//!  "device_id": "8737767034"}
//! ```
//!
//! The shape is the client's `locationTemplate` with its `params: {"device_id": …}` merged in
//! at the root by the background-geolocation plugin (`Preferences.geolocationConfig` in
//! <https://github.com/traccar/traccar-client/blob/main/lib/preferences.dart>). The units are
//! the plugin's: `coords.speed` in metres per second and `battery.level` from 0 to 1, with -1
//! for "unknown" in speed, heading, accuracy and level. Traccar's own reading of it
//! (`OsmAndProtocolDecoder.decodeJson`, commit 9e5c458ad0bf44ceaddf72534bf6874787f41b6c of
//! <https://github.com/traccar/traccar>) converts the speed with `UnitsConverter.knotsFromMps`,
//! keeps speed and heading only when `>= 0`, and stores `level * 100` as the battery percent.
//! With `batchSync` the plugin sends an array of locations under `location`: taken too.

use actors::location::FixInput;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::parse::{
    FieldError, Malformed, NOT_A_NUMBER, Reported, check_coordinates, heading, known,
    parse_timestamp,
};

/// km/h in one metre per second.
pub const KMH_PER_MPS: f64 = 3.6;

/// Most locations one batch may carry (the location service's own batch limit).
const MAX_LOCATIONS: usize = actors::location::MAX_BATCH;

/// Reads the JSON form. Unknown members (`odometer`, `activity`, `extras`, `_`, …) are
/// ignored; a member of the wrong type is an error naming its path.
pub fn from_json(body: &[u8]) -> Result<Reported, Malformed> {
    let root: Value = serde_json::from_slice(body)
        .map_err(|_| Malformed(vec![FieldError::new("body", "not a JSON document")]))?;
    let Some(root) = root.as_object() else {
        return Err(Malformed(vec![FieldError::new(
            "body",
            "not a JSON object",
        )]));
    };
    let mut errors = Vec::new();
    let tracker_id = match root.get("device_id").or_else(|| root.get("id")) {
        Some(Value::String(id)) if !id.trim().is_empty() => Some(id.trim().to_owned()),
        None | Some(Value::Null) => {
            errors.push(FieldError::new("device_id", "required"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new("device_id", "must be a non-empty string"));
            None
        }
    };
    let locations: Vec<(String, &Value)> = match root.get("location") {
        Some(Value::Array(items)) if items.len() > MAX_LOCATIONS => {
            errors.push(FieldError::new("location", "at most 500 locations"));
            Vec::new()
        }
        Some(Value::Array(items)) if items.is_empty() => {
            errors.push(FieldError::new("location", "required"));
            Vec::new()
        }
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(n, item)| (format!("location[{n}]"), item))
            .collect(),
        Some(item) => vec![("location".to_owned(), item)],
        None => {
            errors.push(FieldError::new("location", "required"));
            Vec::new()
        }
    };
    let mut fixes = Vec::with_capacity(locations.len());
    for (path, location) in locations {
        if let Some(fix) = read_location(&path, location, &mut errors) {
            fixes.push(fix);
        }
    }
    match tracker_id {
        Some(tracker_id) if errors.is_empty() => Ok(Reported {
            tracker_id,
            fixes,
            invalid: 0,
        }),
        _ => Err(Malformed(errors)),
    }
}

/// One location object; its errors are added under `path`.
fn read_location(path: &str, location: &Value, errors: &mut Vec<FieldError>) -> Option<FixInput> {
    let Some(location) = location.as_object() else {
        errors.push(FieldError::new(path, "must be an object"));
        return None;
    };
    let before = errors.len();
    let recorded_at = timestamp(path, location, errors);
    let coords = match location.get("coords") {
        Some(Value::Object(coords)) => Some(coords),
        None | Some(Value::Null) => {
            errors.push(FieldError::new(format!("{path}.coords"), "required"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(
                format!("{path}.coords"),
                "must be an object",
            ));
            None
        }
    };
    let empty = Map::new();
    let coords = coords.unwrap_or(&empty);
    let mut number =
        |name: &str| number(&format!("{path}.coords.{name}"), coords.get(name), errors);
    let (lat, lon) = (number("latitude"), number("longitude"));
    let speed = number("speed");
    let heading_deg = number("heading");
    let accuracy = number("accuracy");
    let altitude = number("altitude");
    let (battery_pct, charging) = battery(path, location.get("battery"), errors);
    let coords_given = matches!(location.get("coords"), Some(Value::Object(_)));
    for (name, value) in [("latitude", lat), ("longitude", lon)] {
        let field = format!("{path}.coords.{name}");
        if value.is_none() && coords_given && !errors.iter().any(|error| error.field == field) {
            errors.push(FieldError::new(field, "required"));
        }
    }
    let mut range_errors = Vec::new();
    check_coordinates(lat, lon, &mut range_errors);
    errors.extend(range_errors.into_iter().map(|error| {
        let name = if error.field == "lat" {
            "latitude"
        } else {
            "longitude"
        };
        FieldError::new(format!("{path}.coords.{name}"), error.reason)
    }));
    let (Some(lat), Some(lon), Some(recorded_at)) = (lat, lon, recorded_at) else {
        if errors.len() == before {
            errors.push(FieldError::new(path, "incomplete location"));
        }
        return None;
    };
    if errors.len() > before {
        return None;
    }
    Some(FixInput {
        lat,
        lon,
        recorded_at,
        speed_kmh: known(speed).map(|mps| mps * KMH_PER_MPS),
        heading_deg: known(heading_deg).map(heading),
        battery_pct,
        altitude_m: altitude,
        accuracy_m: known(accuracy),
        charging,
    })
}

/// `timestamp` is required here: the plugin always sends it, and Traccar reads it without a
/// fallback.
fn timestamp(
    path: &str,
    location: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    let field = format!("{path}.timestamp");
    let parsed = match location.get("timestamp") {
        Some(Value::String(text)) => parse_timestamp(text),
        Some(Value::Number(number)) => number
            .as_i64()
            .and_then(|n| parse_timestamp(&n.to_string())),
        None | Some(Value::Null) => {
            errors.push(FieldError::new(field, "required"));
            return None;
        }
        Some(_) => None,
    };
    if parsed.is_none() {
        errors.push(FieldError::new(
            field,
            "must be an ISO 8601 time with an offset",
        ));
    }
    parsed
}

/// `battery.level` (0..=1, negative for unknown) as a percent, and `battery.is_charging`.
fn battery(
    path: &str,
    battery: Option<&Value>,
    errors: &mut Vec<FieldError>,
) -> (Option<f64>, Option<bool>) {
    let battery = match battery {
        None | Some(Value::Null) => return (None, None),
        Some(Value::Object(battery)) => battery,
        Some(_) => {
            errors.push(FieldError::new(
                format!("{path}.battery"),
                "must be an object",
            ));
            return (None, None);
        }
    };
    let level_field = format!("{path}.battery.level");
    let level = match known(number(&level_field, battery.get("level"), errors)) {
        Some(level) if level > 1.0 => {
            errors.push(FieldError::new(level_field, "must be between 0 and 1"));
            None
        }
        level => level.map(|level| level * 100.0),
    };
    let charging = match battery.get("is_charging") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(charging)) => Some(*charging),
        Some(_) => {
            errors.push(FieldError::new(
                format!("{path}.battery.is_charging"),
                "must be true or false",
            ));
            None
        }
    };
    (level, charging)
}

/// An optional number: absent or null is `None`; anything but a finite number is an error.
fn number(field: &str, value: Option<&Value>, errors: &mut Vec<FieldError>) -> Option<f64> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::Number(number)) => number.as_f64().filter(|value| value.is_finite()),
        Some(_) => {
            errors.push(FieldError::new(field, NOT_A_NUMBER));
            None
        }
    }
}
