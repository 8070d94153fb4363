//! The batch parser's cases: shapes, limits, the optional fields and unknown ones.

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
            (1, vec!["lat".to_owned(), "recorded_at".into()]),
            (2, vec!["fix".into()])
        ]
    );

    assert_eq!(
        batch.ignored,
        ["extra"],
        "an unknown field is named, not an error"
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

#[test]
fn altitude_accuracy_and_charging_are_read_and_unknown_fields_listed_once() {
    let batch = parse(
        r#"[{"lat": 1, "lon": 2, "recorded_at": "2026-03-01T12:00:00Z", "altitude_m": 12.5,
             "accuracy_m": 4, "charging": true, "foo": 1, "bar": {"x": [1]}},
            {"lat": 1, "lon": 2, "recorded_at": "2026-03-01T12:00:30Z", "charging": null,
             "foo": "again"},
            {"lat": 1, "lon": 2, "recorded_at": "2026-03-01T12:01:00Z", "charging": "yes"}]"#,
    );
    assert_eq!(batch.fixes.len(), 2);
    let first = &batch.fixes[0];
    assert_eq!(
        (first.altitude_m, first.accuracy_m, first.charging),
        (Some(12.5), Some(4.0), Some(true))
    );
    assert_eq!(batch.fixes[1].charging, None);
    assert_eq!(batch.ignored, ["foo", "bar"]);
    assert_eq!(batch.malformed[0].index, 2);
    assert_eq!(batch.malformed[0].errors["charging"], NOT_A_BOOLEAN);

    let many: Vec<String> = (0..40)
        .map(|n| format!(r#""field_{n}_{}": 1"#, "x".repeat(100)))
        .collect();
    let noisy = parse(&format!(
        r#"{{"lat": 1, "lon": 2, "recorded_at": "2026-03-01T12:00:00Z", {}}}"#,
        many.join(",")
    ));
    assert_eq!(noisy.fixes.len(), 1);
    assert_eq!(noisy.ignored.len(), MAX_IGNORED_FIELDS);
    assert!(noisy.ignored.iter().all(|name| name.chars().count() <= 64));
}
