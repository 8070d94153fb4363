//! The fleet over HTTP: registration with the unit's credential, listings with their filters
//! and paging, the nearby search, changes and retirement, with every refusal the routes can
//! answer.

use crate::helpers::*;

use reqwest::Method;
use serde_json::{Value, json};

mod battery;
mod changes;
mod listing;
mod trackers;

const RATE: i64 = 3_000;

/// Centro, Florianópolis.
const CENTRO: (f64, f64) = (-27.5954, -48.5480);

fn body(plate: &str) -> Value {
    json!({"plate": plate, "model": "BYD Dolphin", "year": 2025, "hourly_rate_cents": RATE})
}

/// A time `minutes` from now, RFC 3339 with `Z` (safe in a query string).
fn at(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Reports one parked fix of the car at `(lat, lon)`, taken now.
async fn park(app: &TestApp, vehicle: &str, device: &str, (lat, lon): (f64, f64)) {
    let fix = json!({"lat": lat, "lon": lon, "recorded_at": in_minutes(0), "speed_kmh": 0.0});
    let answer = app
        .post(&format!("/v1/units/{vehicle}/positions"), device, fix)
        .await
        .expect(202);
    assert_eq!(
        answer,
        json!({"accepted": 1, "duplicates": 0, "flagged": 0})
    );
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn an_admin_registers_a_car_and_gets_its_device_token_once() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            "/v1/vehicles",
            &app.admin_token,
            json!({
                "plate": "qjz-4b17", "model": "BYD Dolphin", "year": 2025, "hourly_rate_cents": 4_990,
                "battery_kwh": 44.9, "range_km": 291.0, "color": "azul"
            }),
        )
        .await
        .expect(201);
    assert_eq!(created["plate"], "QJZ4B17");
    assert_eq!(created["model"], "BYD Dolphin");
    assert_eq!(created["year"], 2025);
    assert_eq!(created["hourly_rate_cents"], 4_990);
    assert_eq!(created["currency"], "BRL");
    assert_eq!(created["battery_kwh"], 44.9);
    assert_eq!(created["range_km"], 291.0);
    assert_eq!(created["color"], "azul");
    assert_eq!(created["status"], "available");
    let token = created["device_token"].as_str().expect("device token");
    assert!(token.len() >= 32, "{token}");
    let id = created["id"].as_str().expect("id");
    for field in ["created_at", "updated_at"] {
        let text = created[field].as_str().expect(field);
        assert!(
            chrono::DateTime::parse_from_rfc3339(text).is_ok(),
            "{field}: {text}"
        );
    }

    // Read back: the same car, never the token.
    let read = app
        .get(&format!("/v1/vehicles/{id}"), &app.admin_token)
        .await
        .expect(200);
    assert_eq!(read["id"], id);
    assert_eq!(read["plate"], "QJZ4B17");
    assert!(read.get("device_token").is_none(), "{read}");
    // Any authenticated caller may read a car.
    let (_, customer) = app.customer(1, VISA).await;
    let read = app
        .get(&format!("/v1/vehicles/{id}"), &customer)
        .await
        .expect(200);
    assert!(read.get("device_token").is_none(), "{read}");
    // The token works for the car's unit.
    let fix = json!({"lat": CENTRO.0, "lon": CENTRO.1, "recorded_at": in_minutes(0)});
    app.post(&format!("/v1/units/{id}/positions"), token, fix)
        .await
        .expect(202);
}

#[tokio::test]
async fn registration_refusals() {
    let app = TestApp::spawn().await;

    // Every invalid field is listed.
    let problem = app
        .post(
            "/v1/vehicles",
            &app.admin_token,
            json!({"plate": "12345", "model": "", "year": 1990, "hourly_rate_cents": 5, "battery_kwh": 1.0}),
        )
        .await
        .expect_problem(422);
    let errors = problem["errors"].as_object().expect("errors");
    for field in ["plate", "model", "year", "hourly_rate_cents", "battery_kwh"] {
        assert!(errors.contains_key(field), "{field} missing in {problem}");
    }
    assert!(!errors.contains_key("range_km"), "{problem}");

    // The same plate twice, whatever its layout and case.
    app.post("/v1/vehicles", &app.admin_token, body("ABC1D23"))
        .await
        .expect(201);
    let problem = app
        .post("/v1/vehicles", &app.admin_token, body("abc-1d23"))
        .await
        .expect_problem(409);
    assert_eq!(problem["errors"]["plate"], "already registered");

    // A field outside the contract, a missing one, not JSON.
    let mut extra = body("ABC1D24");
    extra["device_token"] = json!("mine");
    app.post("/v1/vehicles", &app.admin_token, extra)
        .await
        .expect_problem(400);
    app.post(
        "/v1/vehicles",
        &app.admin_token,
        json!({"plate": "ABC1D24", "model": "BYD Dolphin"}),
    )
    .await
    .expect_problem(400);
    let answer = app
        .client
        .post(app.url("/v1/vehicles"))
        .bearer_auth(&app.admin_token)
        .body(body("ABC1D24").to_string())
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status().as_u16(), 415);

    // Only admins register cars.
    let (_, customer) = app.customer(1, VISA).await;
    app.post("/v1/vehicles", &customer, body("ABC1D25"))
        .await
        .expect_problem(403);
    app.call(Method::POST, "/v1/vehicles", None, Some(body("ABC1D25")))
        .await
        .expect_problem(401);
    app.post("/v1/vehicles", "not-a-jwt", body("ABC1D25"))
        .await
        .expect_problem(401);

    // None of the refused ones was registered.
    let page = app.get("/v1/vehicles", &app.admin_token).await.expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
}

#[tokio::test]
async fn reading_a_car_that_does_not_exist() {
    let app = TestApp::spawn().await;
    let unknown = uuid::Uuid::now_v7();
    let problem = app
        .get(&format!("/v1/vehicles/{unknown}"), &app.admin_token)
        .await
        .expect_problem(404);
    assert_eq!(problem["detail"], "no such vehicle");
    app.get("/v1/vehicles/not-an-id", &app.admin_token)
        .await
        .expect_problem(400);
    app.call(Method::GET, &format!("/v1/vehicles/{unknown}"), None, None)
        .await
        .expect_problem(401);
}

#[test]
fn the_openapi_part_documents_every_vehicle_route() {
    let part = assert_documented(&[
        (
            "/v1/vehicles",
            "post",
            &["201", "400", "401", "403", "409", "422"][..],
        ),
        ("/v1/vehicles", "get", &["200", "400", "401", "422"][..]),
        (
            "/v1/vehicles/nearby",
            "get",
            &["200", "400", "401", "422"][..],
        ),
        (
            "/v1/vehicles/{id}",
            "get",
            &["200", "400", "401", "404"][..],
        ),
        (
            "/v1/vehicles/{id}",
            "patch",
            &["200", "400", "401", "403", "404", "409", "422"][..],
        ),
        (
            "/v1/vehicles/{id}",
            "delete",
            &["200", "401", "403", "404", "409"][..],
        ),
    ]);
    for schema in [
        "NewVehicleBody",
        "VehicleChanges",
        "VehicleDto",
        "RegisteredVehicleDto",
        "NearbyVehicleDto",
        "FixDto",
    ] {
        assert!(
            part["components"]["schemas"][schema].is_object(),
            "{schema}"
        );
    }
}
