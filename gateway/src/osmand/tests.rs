//! The OsmAnd parsers, without a server: every timestamp form, the unit conversions, the
//! JSON form of Traccar Client, and garbage.

use actors::location::FixInput;
use chrono::{DateTime, TimeZone, Utc};

use super::json::{KMH_PER_MPS, from_json};
use super::parse::{
    KMH_PER_KNOT, MAX_PARAMETERS, METRES_PER_HDOP, Malformed, Reported, from_query, parse_timestamp,
};

const ID: &str = "phone-0123456789abcdef0123";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn query(text: &str) -> Result<Reported, Malformed> {
    from_query(text.as_bytes(), now())
}

fn fields(error: Malformed) -> Vec<String> {
    error.0.into_iter().map(|error| error.field).collect()
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn every_timestamp_form_traccar_accepts() {
    let at = utc("2013-08-22T13:14:27Z");
    assert_eq!(parse_timestamp("1377177267"), Some(at), "epoch seconds");
    assert_eq!(
        parse_timestamp("1377177267000"),
        Some(at),
        "epoch milliseconds"
    );
    assert_eq!(
        parse_timestamp("1442068686579"),
        Some(utc("2015-09-12T14:38:06.579Z")),
        "milliseconds keep their fraction"
    );
    assert_eq!(parse_timestamp("2013-08-22T13:14:27Z"), Some(at));
    assert_eq!(parse_timestamp("2013-08-22T13:14:27.000Z"), Some(at));
    assert_eq!(
        parse_timestamp("2013-08-22T10:14:27-03:00"),
        Some(at),
        "offset"
    );
    assert_eq!(
        parse_timestamp("2013-08-22T10:14:27-0300"),
        Some(at),
        "offset without colon"
    );
    assert_eq!(
        parse_timestamp("2013-08-22T13:14Z"),
        Some(utc("2013-08-22T13:14:00Z")),
        "ISO 8601 without seconds"
    );
    assert_eq!(
        parse_timestamp("2013-08-22 13:14:27"),
        Some(at),
        "Traccar's space-separated form, read as UTC"
    );
    for garbage in [
        "",
        "yesterday",
        "2013-08-22T13:14:27",
        "2013-08-22",
        "13771772.67",
        "99999999999999999999",
        "2013-13-40 25:61:61",
    ] {
        assert_eq!(parse_timestamp(garbage), None, "{garbage:?}");
    }
}

#[test]
fn the_query_form_with_every_field_converted() {
    let reported = query(&format!(
        "id={ID}&lat=-27.5954&lon=-48.548&timestamp=2026-03-01+11%3A59%3A30&speed=10\
         &bearing=270.5&altitude=12.5&accuracy=8&hdop=3&batt=87&charge=true&cell=724,5,1,2"
    ))
    .unwrap();
    assert_eq!(reported.tracker_id, ID);
    assert_eq!(reported.invalid, 0);
    let [fix] = reported.fixes.as_slice() else {
        panic!("one fix: {reported:?}");
    };
    assert_eq!((fix.lat, fix.lon), (-27.5954, -48.548));
    assert_eq!(fix.recorded_at, utc("2026-03-01T11:59:30Z"));
    assert_eq!(fix.speed_kmh, Some(10.0 * KMH_PER_KNOT), "knots to km/h");
    assert!((fix.speed_kmh.unwrap() - 18.52).abs() < 1e-9);
    assert_eq!(fix.heading_deg, Some(270.5));
    assert_eq!(fix.altitude_m, Some(12.5));
    assert_eq!(fix.accuracy_m, Some(8.0), "accuracy wins over hdop");
    assert_eq!(fix.battery_pct, Some(87.0));
    assert_eq!(fix.charging, Some(true));
}

#[test]
fn a_trackers_own_battery_is_dropped_and_nothing_else() {
    let reported = query(&format!(
        "id={ID}&lat=-27.5954&lon=-48.548&timestamp=1772366370&speed=10&batt=15&charge=false"
    ))
    .unwrap();
    let kept = reported.clone().without_battery();
    let ([before], [after]) = (reported.fixes.as_slice(), kept.fixes.as_slice()) else {
        panic!("one fix: {kept:?}");
    };
    assert_eq!((after.battery_pct, after.charging), (None, None));
    let as_reported = FixInput {
        battery_pct: None,
        charging: None,
        ..before.clone()
    };
    assert_eq!(after, &as_reported, "every other field as reported");
    assert_eq!(kept.tracker_id, reported.tracker_id);
}

#[test]
fn location_deviceid_hdop_and_a_missing_timestamp() {
    let reported = query(&format!(
        "deviceid={ID}&location=-27.6%2C-48.5&hdop=2.5&heading=360"
    ))
    .unwrap();
    let fix = &reported.fixes[0];
    assert_eq!((fix.lat, fix.lon), (-27.6, -48.5));
    assert_eq!(
        fix.recorded_at,
        now(),
        "no timestamp: the arrival time, as in Traccar"
    );
    assert_eq!(fix.accuracy_m, Some(2.5 * METRES_PER_HDOP));
    assert_eq!(fix.heading_deg, Some(0.0), "360 is north");
    assert_eq!(fix.speed_kmh, None);
    assert_eq!(fix.charging, None);

    let unknown = query(&format!(
        "id={ID}&lat=1&lon=2&speed=-1&bearing=-1&accuracy=-1"
    ))
    .unwrap();
    let fix = &unknown.fixes[0];
    assert_eq!(
        (fix.speed_kmh, fix.heading_deg, fix.accuracy_m),
        (None, None, None)
    );

    let off = query(&format!("id={ID}&lat=1&lon=2&charge=false&valid=0")).unwrap();
    assert!(off.fixes.is_empty(), "valid=0 is not recorded");
    assert_eq!(off.invalid, 1);
    let garbage_valid = query(&format!("id={ID}&lat=1&lon=2&valid=maybe")).unwrap();
    assert_eq!(
        garbage_valid.invalid, 1,
        "Traccar: anything but true or 1 is invalid"
    );
    let valid = query(&format!("id={ID}&lat=1&lon=2&valid=TRUE")).unwrap();
    assert_eq!((valid.fixes.len(), valid.invalid), (1, 0));
}

#[test]
fn bad_numbers_ranges_and_missing_fields_are_each_named() {
    let error =
        query("lat=north&lon=-48.5&timestamp=soon&speed=fast&batt=120&charge=maybe").unwrap_err();
    assert_eq!(
        fields(error),
        ["lat", "timestamp", "speed", "batt", "charge", "id"]
    );
    let error = query(&format!("id={ID}&lat=91&lon=-181")).unwrap_err();
    assert_eq!(fields(error), ["lat", "lon"]);
    let error = query(&format!("id={ID}&location=1;2")).unwrap_err();
    assert_eq!(fields(error), ["location"], "no extra lat/lon noise");
    let error = query(&format!("id={ID}&lat=1")).unwrap_err();
    assert_eq!(fields(error), ["lon"]);
    let error = query("id=&lat=1&lon=2").unwrap_err();
    assert_eq!(fields(error), ["id"], "an empty id is no id");
    let error = query(&format!("id={ID}&lat=NaN&lon=inf")).unwrap_err();
    assert_eq!(fields(error), ["lat", "lon"]);
    assert_eq!(
        query(&format!("id={ID}&lat=1&lon=2&batt=-5"))
            .unwrap_err()
            .to_string(),
        "batt: must be between 0 and 100 percent"
    );
}

#[test]
fn garbage_is_refused_not_panicked_on() {
    assert!(query("").is_err());
    assert!(query("%%%&&&===").is_err());
    assert!(query("\u{0}\u{1}id").is_err());
    let flood = (0..=MAX_PARAMETERS)
        .map(|n| format!("p{n}=1"))
        .collect::<Vec<_>>()
        .join("&");
    assert_eq!(fields(query(&flood).unwrap_err()), ["parameters"]);
    let lossy = from_query(b"id=\xff\xfe&lat=1&lon=2", now()).unwrap();
    assert_eq!(
        lossy.tracker_id, "\u{fffd}\u{fffd}",
        "kept, and unknown to any car"
    );
}

/// The sample of Traccar's own decoder test (`OsmAndProtocolDecoderTest.testDecodeJson`),
/// in the shape of Traccar Client's location template.
const CLIENT_SAMPLE: &str = r#"{"location":{"event":"motionchange","is_moving":false,
    "uuid":"0e9a2473-a9a7-4c00-997b-fb97d2154e75","timestamp":"2021-07-21T08:06:34.444Z",
    "odometer":0,"coords":{"latitude":-6.1148096,"longitude":106.6837015,"accuracy":3.8,
    "speed":18.67,"speed_accuracy":0.26,"heading":63,"heading_accuracy":0.28,"altitude":35.7,
    "altitude_accuracy":3.8},"activity":{"type":"still","confidence":100},
    "battery":{"is_charging":false,"level":0.79},"extras":{}},"device_id":"8737767034"}"#;

#[test]
fn the_json_form_of_traccar_client() {
    let reported = from_json(CLIENT_SAMPLE.as_bytes()).unwrap();
    assert_eq!(reported.tracker_id, "8737767034");
    let fix = &reported.fixes[0];
    assert_eq!((fix.lat, fix.lon), (-6.1148096, 106.6837015));
    assert_eq!(fix.recorded_at, utc("2021-07-21T08:06:34.444Z"));
    assert_eq!(fix.speed_kmh, Some(18.67 * KMH_PER_MPS), "m/s to km/h");
    assert!((fix.speed_kmh.unwrap() - 67.212).abs() < 1e-9);
    assert_eq!(fix.heading_deg, Some(63.0));
    assert_eq!(fix.accuracy_m, Some(3.8));
    assert_eq!(fix.altitude_m, Some(35.7));
    assert!(
        (fix.battery_pct.unwrap() - 79.0).abs() < 1e-9,
        "level 0..1 to percent"
    );
    assert_eq!(fix.charging, Some(false));
}

#[test]
fn unknowns_in_the_json_form_are_absent_and_batches_are_taken() {
    let unknown = r#"{"device_id": "x", "location": {"timestamp": "2025-05-09T04:11:30.579Z",
        "coords": {"latitude": 37.7858, "longitude": -122.4064, "speed": -1, "heading": -1,
                   "accuracy": -1, "altitude": 0},
        "battery": {"level": -1, "is_charging": true}}}"#;
    let fix = &from_json(unknown.as_bytes()).unwrap().fixes[0];
    assert_eq!(
        (
            fix.speed_kmh,
            fix.heading_deg,
            fix.accuracy_m,
            fix.battery_pct
        ),
        (None, None, None, None)
    );
    assert_eq!(fix.charging, Some(true));

    let batch = r#"{"device_id": "x", "location": [
        {"timestamp": "2025-05-09T04:11:30Z", "coords": {"latitude": 1, "longitude": 2}},
        {"timestamp": "2025-05-09T04:12:00Z", "coords": {"latitude": 1.001, "longitude": 2}}]}"#;
    assert_eq!(from_json(batch.as_bytes()).unwrap().fixes.len(), 2);
}

#[test]
fn malformed_json_names_the_path() {
    let cases: [(&str, &[&str]); 7] = [
        ("not json", &["body"]),
        ("[1, 2]", &["body"]),
        (
            r#"{"location": {}}"#,
            &["device_id", "location.timestamp", "location.coords"],
        ),
        (
            r#"{"device_id": 7, "location": {"timestamp": "now", "coords": {"latitude": "n"}}}"#,
            &[
                "device_id",
                "location.timestamp",
                "location.coords.latitude",
                "location.coords.longitude",
            ],
        ),
        (
            r#"{"device_id": "x", "location": {"timestamp": "2025-05-09T04:11:30Z",
                "coords": {"latitude": 95, "longitude": 2}, "battery": {"level": 79}}}"#,
            &["location.battery.level", "location.coords.latitude"],
        ),
        (r#"{"device_id": "x", "location": []}"#, &["location"]),
        (
            r#"{"device_id": "x", "location": [{"timestamp": "2025-05-09T04:11:30Z",
                "coords": {"latitude": 1, "longitude": 2}}, 5]}"#,
            &["location[1]"],
        ),
    ];
    for (body, expected) in cases {
        let error = from_json(body.as_bytes()).unwrap_err();
        assert_eq!(fields(error), expected, "{body}");
    }
}
