//! Positions over HTTP: car units posting fixes (one or a batch, with duplicates, late and
//! implausible fixes, malformed ones), the device credential and rate limit, the latest
//! position, and the track with its access rules.

use crate::helpers::*;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use serde_json::{Value, json};

mod privacy;
mod refusals;
mod track;

const RATE: i64 = 3_000;

/// Centro, Florianópolis.
const CENTRO: (f64, f64) = (-27.5954, -48.5480);
/// Campeche, about 11 km from Centro.
const CAMPECHE: (f64, f64) = (-27.6847, -48.4836);

/// RFC 3339 with every digit the instant has, so that the stored time is the same instant.
fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn fix((lat, lon): (f64, f64), at: DateTime<Utc>) -> Value {
    json!({"lat": lat, "lon": lon, "recorded_at": time(at), "speed_kmh": 0.0, "heading_deg": 90.0, "battery_pct": 80.0})
}

/// `metres` north of Centro (one degree of latitude is about 111 km).
fn north(metres: f64) -> (f64, f64) {
    (CENTRO.0 + metres / 111_000.0, CENTRO.1)
}

fn positions(vehicle: &str) -> String {
    format!("/v1/units/{vehicle}/positions")
}

/// For a query string: RFC 3339 with `Z` (a `+` would need encoding).
fn query_time(at: DateTime<Utc>) -> String {
    time(at)
}

fn recorded(items: &Value) -> Vec<String> {
    items
        .as_array()
        .expect("items")
        .iter()
        .map(|fix| fix["recorded_at"].as_str().expect("recorded_at").to_owned())
        .collect()
}

/// Same instant, whatever the digits the server prints.
fn same_time(text: &str, at: DateTime<Utc>) -> bool {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)) == Ok(at)
}

#[tokio::test]
async fn a_single_fix_is_accepted_and_becomes_the_position() {
    let app = TestApp::spawn().await;
    let (vehicle, device) = app.vehicle(1, RATE).await;
    let (_, customer) = app.customer(1, VISA).await;

    // Nothing reported yet.
    let problem = app
        .get(&format!("/v1/vehicles/{vehicle}/position"), &customer)
        .await
        .expect_problem(404);
    assert_eq!(problem["detail"], "no position for this vehicle");

    let at = Utc::now() - TimeDelta::seconds(5);
    let answer = app
        .post(&positions(&vehicle), &device, fix(CENTRO, at))
        .await
        .expect(202);
    assert_eq!(
        answer,
        json!({"accepted": 1, "duplicates": 0, "flagged": 0})
    );

    for token in [&customer, &app.admin_token] {
        let position = app
            .get(&format!("/v1/vehicles/{vehicle}/position"), token)
            .await
            .expect(200);
        assert_eq!(position["lat"], CENTRO.0);
        assert_eq!(position["lon"], CENTRO.1);
        assert!(
            same_time(position["recorded_at"].as_str().unwrap(), at),
            "{position}"
        );
        assert_eq!(position["speed_kmh"], 0.0);
        assert_eq!(position["heading_deg"], 90.0);
        assert_eq!(position["battery_pct"], 80.0);
        assert_eq!(position["flagged"], false);
        assert_eq!(position["outside_service_area"], false);
    }

    // An empty batch is fine; the same fix again is a duplicate.
    let answer = app
        .post(&positions(&vehicle), &device, json!([]))
        .await
        .expect(202);
    assert_eq!(
        answer,
        json!({"accepted": 0, "duplicates": 0, "flagged": 0})
    );
    let answer = app
        .post(&positions(&vehicle), &device, fix(CENTRO, at))
        .await
        .expect(202);
    assert_eq!(
        answer,
        json!({"accepted": 0, "duplicates": 1, "flagged": 0})
    );

    // Reading a position needs a token; an unknown car has none.
    app.call(
        Method::GET,
        &format!("/v1/vehicles/{vehicle}/position"),
        None,
        None,
    )
    .await
    .expect_problem(401);
    let unknown = uuid::Uuid::now_v7();
    app.get(&format!("/v1/vehicles/{unknown}/position"), &customer)
        .await
        .expect_problem(404);
    app.get("/v1/vehicles/nope/position", &customer)
        .await
        .expect_problem(400);
}

#[tokio::test]
async fn a_batch_counts_duplicates_and_implausible_jumps_and_keeps_the_right_position() {
    let app = TestApp::spawn().await;
    let (vehicle, device) = app.vehicle(1, RATE).await;
    let t0 = Utc::now() - TimeDelta::minutes(10);
    app.post(&positions(&vehicle), &device, fix(CENTRO, t0))
        .await
        .expect(202);

    let newest_plausible = north(300.0);
    let batch = json!([
        fix(newest_plausible, t0 + TimeDelta::seconds(60)),
        // The first fix again: a unit re-sending after a lost acknowledgement.
        fix(CENTRO, t0),
        // Older than the one before it in the batch, and plausible between its neighbours.
        fix(north(150.0), t0 + TimeDelta::seconds(30)),
        // 11 km in 30 s: stored, flagged, never the position.
        fix(CAMPECHE, t0 + TimeDelta::seconds(90)),
    ]);
    let answer = app
        .post(&positions(&vehicle), &device, batch)
        .await
        .expect(202);
    assert_eq!(
        answer,
        json!({"accepted": 3, "duplicates": 1, "flagged": 1})
    );

    let position = app
        .get(
            &format!("/v1/vehicles/{vehicle}/position"),
            &app.admin_token,
        )
        .await
        .expect(200);
    assert_eq!(position["lat"], newest_plausible.0);
    assert_eq!(position["lon"], newest_plausible.1);
    assert!(
        same_time(
            position["recorded_at"].as_str().unwrap(),
            t0 + TimeDelta::seconds(60)
        ),
        "{position}"
    );
    assert_eq!(position["flagged"], false);

    // The track has them all, in time order, the jump marked.
    let path = format!(
        "/v1/vehicles/{vehicle}/track?from={}&to={}",
        query_time(t0 - TimeDelta::minutes(1)),
        query_time(Utc::now() + TimeDelta::minutes(1))
    );
    let track = app.get(&path, &app.admin_token).await.expect(200);
    let times = recorded(&track["items"]);
    assert_eq!(times.len(), 4, "{track}");
    for (text, seconds) in times.iter().zip([0, 30, 60, 90]) {
        assert!(
            same_time(text, t0 + TimeDelta::seconds(seconds)),
            "{times:?}"
        );
    }
    let flagged: Vec<bool> = track["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["flagged"].as_bool().unwrap())
        .collect();
    assert_eq!(flagged, [false, false, false, true]);
    assert_eq!(track["truncated"], false);
}

#[tokio::test]
async fn malformed_fixes_are_listed_and_the_others_kept() {
    let app = TestApp::spawn().await;
    let (vehicle, device) = app.vehicle(1, RATE).await;
    let t0 = Utc::now() - TimeDelta::minutes(5);

    let batch = json!([
        fix(CENTRO, t0),
        // Not even well-typed: still only this fix is refused.
        {"lat": "north", "lon": CENTRO.1, "recorded_at": "yesterday", "foo": 12},
        // Well-typed, refused by the service (index 1 of what reached it, 2 of the batch).
        {"lat": 95.0, "lon": CENTRO.1, "recorded_at": time(t0 + TimeDelta::seconds(10))},
        fix(north(100.0), t0 + TimeDelta::seconds(20)),
        {"lon": CENTRO.1, "recorded_at": time(t0 + TimeDelta::seconds(40)), "speed_kmh": 90.0},
        fix(north(200.0), t0 + TimeDelta::seconds(50)),
    ]);
    let problem = app
        .post(&positions(&vehicle), &device, batch)
        .await
        .expect_problem(400);
    assert_eq!(problem["accepted"], 3, "{problem}");
    assert_eq!(problem["duplicates"], 0);
    assert_eq!(problem["flagged"], 0);
    let rejected = problem["rejected"].as_array().expect("rejected");
    let indexes: Vec<u64> = rejected
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, [1, 2, 4], "{problem}");
    assert_eq!(rejected[0]["errors"]["lat"], "must be a number");
    assert!(rejected[0]["errors"]["recorded_at"].is_string());
    assert_eq!(
        rejected[0]["errors"].as_object().unwrap().len(),
        2,
        "{problem}"
    );
    assert_eq!(
        problem["ignored_fields"],
        json!(["foo"]),
        "named, not a fault"
    );
    assert!(
        rejected[1]["errors"]["lat"]
            .as_str()
            .unwrap()
            .contains("between -90 and 90"),
        "{problem}"
    );
    assert_eq!(rejected[1]["errors"].as_object().unwrap().len(), 1);
    assert_eq!(rejected[2]["errors"]["lat"], "required");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("3 fix(es) refused"),
        "{problem}"
    );

    // The well-formed ones were stored.
    let position = app
        .get(
            &format!("/v1/vehicles/{vehicle}/position"),
            &app.admin_token,
        )
        .await
        .expect(200);
    assert_eq!(position["lat"], north(200.0).0);
    let path = format!(
        "/v1/vehicles/{vehicle}/track?from={}&to={}",
        query_time(t0 - TimeDelta::minutes(1)),
        query_time(Utc::now() + TimeDelta::minutes(1))
    );
    assert_eq!(
        recorded(&app.get(&path, &app.admin_token).await.expect(200)["items"]).len(),
        3
    );

    // One bad fix alone: index 0.
    let problem = app
        .post(
            &positions(&vehicle),
            &device,
            json!({"lat": CENTRO.0, "lon": 181.0, "recorded_at": time(t0)}),
        )
        .await
        .expect_problem(400);
    assert_eq!(problem["accepted"], 0);
    assert_eq!(problem["rejected"][0]["index"], 0);
    assert!(
        problem["rejected"][0]["errors"]["lon"].is_string(),
        "{problem}"
    );
    // A fix from the future (a broken unit clock).
    let problem = app
        .post(
            &positions(&vehicle),
            &device,
            fix(CENTRO, Utc::now() + TimeDelta::minutes(10)),
        )
        .await
        .expect_problem(400);
    assert!(
        problem["rejected"][0]["errors"]["recorded_at"].is_string(),
        "{problem}"
    );

    // Not a fix or an array of fixes; broken JSON.
    app.post(&positions(&vehicle), &device, json!("fix"))
        .await
        .expect_problem(400);
    let answer = app
        .client
        .post(app.url(&positions(&vehicle)))
        .bearer_auth(&device)
        .header("content-type", "application/json")
        .body("[{\"lat\": 1,")
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status().as_u16(), 400);
}

#[tokio::test]
async fn altitude_accuracy_and_charging_are_kept_and_unknown_fields_named() {
    let app = TestApp::spawn().await;
    let (vehicle, device) = app.vehicle(1, RATE).await;
    let at = Utc::now() - TimeDelta::seconds(5);
    let mut body = fix(CENTRO, at);
    body["altitude_m"] = json!(4.5);
    body["accuracy_m"] = json!(6.0);
    body["charging"] = json!(true);
    body["foo"] = json!({"nested": [1, 2]});
    let answer = app
        .post(&positions(&vehicle), &device, body)
        .await
        .expect(202);
    assert_eq!(
        answer,
        json!({"accepted": 1, "duplicates": 0, "flagged": 0, "ignored_fields": ["foo"]})
    );
    let latest = app
        .get(
            &format!("/v1/vehicles/{vehicle}/position"),
            &app.admin_token,
        )
        .await
        .expect(200);
    assert_eq!(latest["altitude_m"], 4.5);
    assert_eq!(latest["accuracy_m"], 6.0);
    assert_eq!(latest["charging"], true);
    assert!(same_time(latest["recorded_at"].as_str().unwrap(), at));
}
