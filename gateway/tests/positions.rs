//! Positions over HTTP: car units posting fixes (one or a batch, with duplicates, late and
//! implausible fixes, malformed ones), the device credential and rate limit, the latest
//! position, and the track with its access rules.

mod common;
use common::*;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use serde_json::{Value, json};

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
        {"lat": "north", "lon": CENTRO.1, "recorded_at": "yesterday", "altitude_m": 12},
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
    assert_eq!(rejected[0]["errors"]["altitude_m"], "unknown field");
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
async fn a_batch_of_more_than_500_is_refused_whole() {
    let app = TestApp::spawn().await;
    let (vehicle, device) = app.vehicle(1, RATE).await;
    let t0 = Utc::now() - TimeDelta::hours(5);
    let batch = |count: i64| {
        Value::Array(
            (0..count)
                .map(|i| fix(CENTRO, t0 + TimeDelta::seconds(30 * i)))
                .collect(),
        )
    };

    let problem = app
        .post(&positions(&vehicle), &device, batch(501))
        .await
        .expect_problem(400);
    assert!(
        problem["detail"].as_str().unwrap().contains("at most 500"),
        "{problem}"
    );
    app.get(
        &format!("/v1/vehicles/{vehicle}/position"),
        &app.admin_token,
    )
    .await
    .expect_problem(404);

    let answer = app
        .post(&positions(&vehicle), &device, batch(500))
        .await
        .expect(202);
    assert_eq!(
        answer,
        json!({"accepted": 500, "duplicates": 0, "flagged": 0})
    );
}

#[tokio::test]
async fn only_the_cars_own_unit_may_post() {
    let app = TestApp::spawn().await;
    let (vehicle, device) = app.vehicle(1, RATE).await;
    let (other, other_device) = app.vehicle(2, RATE).await;
    let (_, customer) = app.customer(1, VISA).await;
    let body = fix(CENTRO, Utc::now());

    let problem = app
        .post(&positions(&vehicle), "not-the-token", body.clone())
        .await
        .expect_problem(401);
    assert_eq!(
        problem["detail"],
        "the device token does not belong to this vehicle"
    );
    app.post(&positions(&vehicle), &other_device, body.clone())
        .await
        .expect_problem(401);
    app.post(&positions(&vehicle), &customer, body.clone())
        .await
        .expect_problem(401);
    app.post(&positions(&vehicle), &app.admin_token, body.clone())
        .await
        .expect_problem(401);
    app.call(Method::POST, &positions(&vehicle), None, Some(body.clone()))
        .await
        .expect_problem(401);
    // An unknown car looks the same as a wrong token.
    let unknown = uuid::Uuid::now_v7();
    app.post(&positions(&unknown.to_string()), &device, body.clone())
        .await
        .expect_problem(401);
    app.post("/v1/units/nope/positions", &device, body.clone())
        .await
        .expect_problem(400);
    app.get(
        &format!("/v1/vehicles/{vehicle}/position"),
        &app.admin_token,
    )
    .await
    .expect_problem(404);

    app.post(&positions(&vehicle), &device, body.clone())
        .await
        .expect(202);
    app.post(&positions(&other), &other_device, body)
        .await
        .expect(202);
}

#[tokio::test]
async fn a_unit_posting_too_often_is_told_to_wait() {
    let app = TestApp::spawn_with(|config| config.server.device_requests_per_min = 3).await;
    let (vehicle, device) = app.vehicle(1, RATE).await;
    let (other, other_device) = app.vehicle(2, RATE).await;
    let t0 = Utc::now() - TimeDelta::minutes(5);

    // Wrong credentials do not use up the car's allowance.
    for _ in 0..3 {
        app.post(&positions(&vehicle), "forged", fix(CENTRO, t0))
            .await
            .expect_problem(401);
    }
    for i in 0..3 {
        app.post(
            &positions(&vehicle),
            &device,
            fix(CENTRO, t0 + TimeDelta::seconds(30 * i)),
        )
        .await
        .expect(202);
    }
    let answer = app
        .post(
            &positions(&vehicle),
            &device,
            fix(CENTRO, t0 + TimeDelta::seconds(120)),
        )
        .await;
    let retry_after: u64 = answer
        .headers
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=21).contains(&retry_after), "{retry_after}");
    let problem = answer.expect_problem(429);
    assert_eq!(problem["type"], "urn:ev-rental:problem:rate-limited");
    // The limit is per car.
    app.post(&positions(&other), &other_device, fix(CENTRO, t0))
        .await
        .expect(202);
}

/// Posts fixes of the parked car at the given instants.
async fn report(app: &TestApp, vehicle: &str, device: &str, instants: &[DateTime<Utc>]) {
    let batch: Vec<Value> = instants.iter().map(|at| fix(CENTRO, *at)).collect();
    let answer = app
        .post(&positions(vehicle), device, Value::Array(batch))
        .await
        .expect(202);
    assert_eq!(answer["accepted"], instants.len(), "{answer}");
    assert_eq!(answer["flagged"], 0, "{answer}");
}

#[tokio::test]
async fn the_track_is_the_admins_and_the_renters_for_their_rental_only() {
    let app = TestApp::spawn().await;
    let (vehicle, device) = app.vehicle(1, RATE).await;
    let (_, renter) = app.customer(1, VISA).await;
    let (_, stranger) = app.customer(2, VISA).await;

    // Before the rental.
    let before = [
        Utc::now() - TimeDelta::minutes(20),
        Utc::now() - TimeDelta::minutes(10),
    ];
    report(&app, &vehicle, &device, &before).await;

    // The rental: from now, unlocked, driven (parked fixes), released.
    let start = Utc::now();
    let reservation = app
        .post(
            "/v1/reservations",
            &renter,
            json!({"vehicle_id": vehicle, "start_at": time(start), "end_at": time(start + TimeDelta::hours(2))}),
        )
        .await
        .expect(201);
    let reservation = reservation["id"].as_str().unwrap().to_owned();
    // Before any unlock the renter already sees their window (empty so far).
    let span = format!(
        "from={}&to={}",
        query_time(Utc::now() - TimeDelta::hours(1)),
        query_time(Utc::now() + TimeDelta::hours(3))
    );
    let track_path = format!("/v1/vehicles/{vehicle}/track?{span}");
    let early = app.get(&track_path, &renter).await.expect(200);
    assert_eq!(early["items"], json!([]), "{early}");

    app.post(
        &format!("/v1/vehicles/{vehicle}/unlock"),
        &renter,
        json!({}),
    )
    .await
    .expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let during = [Utc::now() - TimeDelta::milliseconds(10), Utc::now()];
    report(&app, &vehicle, &device, &during).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.post(
        &format!("/v1/reservations/{reservation}/finish"),
        &renter,
        json!({}),
    )
    .await
    .expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // After the release, still inside the reserved window.
    let after = [Utc::now()];
    report(&app, &vehicle, &device, &after).await;

    // The admin sees everything, in time order.
    let all = app.get(&track_path, &app.admin_token).await.expect(200);
    let times = recorded(&all["items"]);
    assert_eq!(times.len(), 5, "{all}");
    for (text, at) in times.iter().zip(before.iter().chain(&during).chain(&after)) {
        assert!(same_time(text, *at), "{times:?}");
    }

    // The renter sees only their rental, from its start to the release.
    let own = app.get(&track_path, &renter).await.expect(200);
    let times = recorded(&own["items"]);
    assert_eq!(times.len(), 2, "{own}");
    for (text, at) in times.iter().zip(&during) {
        assert!(same_time(text, *at), "{times:?}");
    }
    // Narrowed by the span asked for.
    let narrow = format!(
        "/v1/vehicles/{vehicle}/track?from={}&to={}",
        query_time(during[1]),
        query_time(during[1] + TimeDelta::minutes(5))
    );
    let own = app.get(&narrow, &renter).await.expect(200);
    assert_eq!(recorded(&own["items"]).len(), 1, "{own}");
    // A span entirely before the rental: nothing, but not hidden.
    let earlier = format!(
        "/v1/vehicles/{vehicle}/track?from={}&to={}",
        query_time(before[0] - TimeDelta::minutes(1)),
        query_time(before[1] + TimeDelta::minutes(1))
    );
    assert_eq!(
        app.get(&earlier, &renter).await.expect(200)["items"],
        json!([])
    );
    assert_eq!(
        recorded(&app.get(&earlier, &app.admin_token).await.expect(200)["items"]).len(),
        2
    );

    // Someone who never rented the car: as if it did not exist.
    let problem = app.get(&track_path, &stranger).await.expect_problem(404);
    assert_eq!(problem["detail"], "no such vehicle");
    // A cancelled reservation gives no access either.
    let (other_car, _) = app.vehicle(2, RATE).await;
    let booked = app
        .post(
            "/v1/reservations",
            &stranger,
            json!({"vehicle_id": other_car, "start_at": in_minutes(60), "end_at": in_minutes(180)}),
        )
        .await
        .expect(201);
    app.post(
        &format!("/v1/reservations/{}/cancel", booked["id"].as_str().unwrap()),
        &stranger,
        json!({}),
    )
    .await
    .expect(200);
    app.get(&format!("/v1/vehicles/{other_car}/track?{span}"), &stranger)
        .await
        .expect_problem(404);

    // Bad spans, unknown cars, no token.
    let backwards = format!(
        "/v1/vehicles/{vehicle}/track?from={}&to={}",
        query_time(Utc::now()),
        query_time(Utc::now() - TimeDelta::hours(1))
    );
    for token in [&app.admin_token, &renter] {
        let problem = app.get(&backwards, token).await.expect_problem(422);
        assert!(problem["errors"]["to"].is_string(), "{problem}");
    }
    app.get(&format!("/v1/vehicles/{vehicle}/track"), &app.admin_token)
        .await
        .expect_problem(400);
    app.get(
        &format!("/v1/vehicles/{vehicle}/track?from=yesterday&to=today"),
        &app.admin_token,
    )
    .await
    .expect_problem(400);
    let unknown = uuid::Uuid::now_v7();
    app.get(
        &format!("/v1/vehicles/{unknown}/track?{span}"),
        &app.admin_token,
    )
    .await
    .expect_problem(404);
    app.call(Method::GET, &track_path, None, None)
        .await
        .expect_problem(401);
}

#[test]
fn the_openapi_part_documents_every_location_route() {
    let part = serde_json::to_value(gateway::routes::ops::document()).unwrap();
    for (path, method, statuses) in [
        (
            "/v1/units/{vehicle_id}/positions",
            "post",
            &["202", "400", "401", "429"][..],
        ),
        (
            "/v1/vehicles/{id}/position",
            "get",
            &["200", "401", "404"][..],
        ),
        (
            "/v1/vehicles/{id}/track",
            "get",
            &["200", "400", "401", "404", "422"][..],
        ),
    ] {
        let operation = &part["paths"][path][method];
        assert!(operation.is_object(), "{method} {path}");
        for status in statuses {
            assert!(
                operation["responses"][status].is_object(),
                "{method} {path} {status}"
            );
        }
    }
    let post = &part["paths"]["/v1/units/{vehicle_id}/positions"]["post"];
    assert_eq!(post["security"], json!([{"device": []}]));
    for schema in [
        "PositionFix",
        "PositionsBody",
        "IngestDto",
        "RejectedBatchDto",
        "FixDto",
        "TrackDto",
    ] {
        assert!(
            part["components"]["schemas"][schema].is_object(),
            "{schema}"
        );
    }
}
