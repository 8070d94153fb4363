//! The fleet over HTTP: registration with the unit's credential, listings with their filters
//! and paging, the nearby search, changes and retirement, with every refusal the routes can
//! answer.

mod common;
use common::*;

use reqwest::Method;
use serde_json::{Value, json};

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

#[tokio::test]
async fn the_list_pages_with_a_cursor_and_filters_by_status() {
    let app = TestApp::spawn().await;
    let (_, customer) = app.customer(1, VISA).await;
    let (first, _) = app.vehicle(1, RATE).await;
    let (second, _) = app.vehicle(2, RATE).await;
    let (third, _) = app.vehicle(3, RATE).await;

    let page = app.get("/v1/vehicles?limit=2", &customer).await.expect(200);
    assert_eq!(ids(&page), [first.clone(), second.clone()]);
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let page = app
        .get(&format!("/v1/vehicles?limit=2&cursor={cursor}"), &customer)
        .await
        .expect(200);
    assert_eq!(ids(&page), std::slice::from_ref(&third));
    assert_eq!(page["next_cursor"], Value::Null);

    // Default page size holds all three.
    let page = app.get("/v1/vehicles", &app.admin_token).await.expect(200);
    assert_eq!(ids(&page), [first.clone(), second.clone(), third.clone()]);
    assert_eq!(page["next_cursor"], Value::Null);

    app.call(
        Method::PATCH,
        &format!("/v1/vehicles/{second}"),
        Some(&app.admin_token),
        Some(json!({"status": "maintenance"})),
    )
    .await
    .expect(200);
    let page = app
        .get("/v1/vehicles?status=maintenance", &customer)
        .await
        .expect(200);
    assert_eq!(ids(&page), std::slice::from_ref(&second));
    let page = app
        .get("/v1/vehicles?status=available", &customer)
        .await
        .expect(200);
    assert_eq!(ids(&page), [first.clone(), third.clone()]);
    let page = app
        .get("/v1/vehicles?status=retired", &customer)
        .await
        .expect(200);
    assert_eq!(ids(&page), Vec::<String>::new());

    // Bad parameters.
    for query in [
        "limit=0",
        "limit=201",
        "cursor=nope",
        "status=parked",
        "colour=red",
        "limit=two",
    ] {
        app.get(&format!("/v1/vehicles?{query}"), &customer)
            .await
            .expect_problem(400);
    }
    app.call(Method::GET, "/v1/vehicles", None, None)
        .await
        .expect_problem(401);
}

#[tokio::test]
async fn the_availability_filter_leaves_out_booked_cars_and_cars_in_maintenance() {
    let app = TestApp::spawn().await;
    let (_, customer) = app.customer(1, VISA).await;
    let (booked, _) = app.vehicle(1, RATE).await;
    let (free, _) = app.vehicle(2, RATE).await;
    let (repairing, _) = app.vehicle(3, RATE).await;
    let (also_free, _) = app.vehicle(4, RATE).await;
    app.call(
        Method::PATCH,
        &format!("/v1/vehicles/{repairing}"),
        Some(&app.admin_token),
        Some(json!({"status": "maintenance"})),
    )
    .await
    .expect(200);
    app.post(
        "/v1/reservations",
        &customer,
        json!({"vehicle_id": booked, "start_at": in_minutes(60), "end_at": in_minutes(180)}),
    )
    .await
    .expect(201);

    // Overlapping the booking.
    let window = format!("available_from={}&available_to={}", at(90), at(150));
    let page = app
        .get(&format!("/v1/vehicles?{window}"), &customer)
        .await
        .expect(200);
    assert_eq!(ids(&page), [free.clone(), also_free.clone()]);
    // Paged.
    let page = app
        .get(&format!("/v1/vehicles?{window}&limit=1"), &customer)
        .await
        .expect(200);
    assert_eq!(ids(&page), std::slice::from_ref(&free));
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let page = app
        .get(
            &format!("/v1/vehicles?{window}&limit=1&cursor={cursor}"),
            &customer,
        )
        .await
        .expect(200);
    assert_eq!(ids(&page), std::slice::from_ref(&also_free));
    assert_eq!(page["next_cursor"], Value::Null);
    // Free again after the booking ends.
    let later = format!("available_from={}&available_to={}", at(200), at(320));
    let page = app
        .get(&format!("/v1/vehicles?{later}"), &customer)
        .await
        .expect(200);
    assert_eq!(
        ids(&page),
        [booked.clone(), free.clone(), also_free.clone()]
    );
    // An offset with `+` is fine when encoded.
    let start = (chrono::Utc::now() + chrono::TimeDelta::minutes(90))
        .to_rfc3339()
        .replace('+', "%2B");
    let end = (chrono::Utc::now() + chrono::TimeDelta::minutes(150))
        .to_rfc3339()
        .replace('+', "%2B");
    let page = app
        .get(
            &format!("/v1/vehicles?available_from={start}&available_to={end}"),
            &customer,
        )
        .await
        .expect(200);
    assert_eq!(ids(&page), [free.clone(), also_free.clone()]);
    // With a status: only `available` can be free.
    let page = app
        .get(
            &format!("/v1/vehicles?{window}&status=available"),
            &customer,
        )
        .await
        .expect(200);
    assert_eq!(ids(&page), [free.clone(), also_free.clone()]);
    let page = app
        .get(
            &format!("/v1/vehicles?{window}&status=maintenance"),
            &customer,
        )
        .await
        .expect(200);
    assert_eq!(ids(&page), Vec::<String>::new());

    // Both ends or neither; the end after the start.
    let problem = app
        .get(
            &format!("/v1/vehicles?available_from={}", at(90)),
            &customer,
        )
        .await
        .expect_problem(422);
    assert!(problem["errors"]["available_to"].is_string(), "{problem}");
    let problem = app
        .get(&format!("/v1/vehicles?available_to={}", at(90)), &customer)
        .await
        .expect_problem(422);
    assert!(problem["errors"]["available_from"].is_string(), "{problem}");
    let problem = app
        .get(
            &format!(
                "/v1/vehicles?available_from={}&available_to={}",
                at(150),
                at(90)
            ),
            &customer,
        )
        .await
        .expect_problem(422);
    assert!(problem["errors"]["available_to"].is_string(), "{problem}");
    app.get(
        "/v1/vehicles?available_from=tomorrow&available_to=later",
        &customer,
    )
    .await
    .expect_problem(400);
}

#[tokio::test]
async fn nearby_finds_parked_available_cars_nearest_first() {
    let app = TestApp::spawn().await;
    let (_, customer) = app.customer(1, VISA).await;
    let (close, close_device) = app.vehicle(1, RATE).await;
    let (farther, farther_device) = app.vehicle(2, 4_000).await;
    let (repairing, repairing_device) = app.vehicle(3, RATE).await;
    let (far_away, far_device) = app.vehicle(4, RATE).await;
    let (booked, booked_device) = app.vehicle(5, RATE).await;
    let (_never_reported, _) = app.vehicle(6, RATE).await;
    park(&app, &close, &close_device, (-27.5956, -48.5482)).await;
    park(&app, &farther, &farther_device, (-27.5990, -48.5440)).await;
    park(&app, &repairing, &repairing_device, (-27.5955, -48.5481)).await;
    // Campeche, about 12 km away.
    park(&app, &far_away, &far_device, (-27.6847, -48.4836)).await;
    park(&app, &booked, &booked_device, (-27.5957, -48.5483)).await;
    app.call(
        Method::PATCH,
        &format!("/v1/vehicles/{repairing}"),
        Some(&app.admin_token),
        Some(json!({"status": "maintenance"})),
    )
    .await
    .expect(200);
    let (_, renter) = app.customer(2, VISA).await;
    app.post(
        "/v1/reservations",
        &renter,
        json!({"vehicle_id": booked, "start_at": in_minutes(30), "end_at": in_minutes(150)}),
    )
    .await
    .expect(201);

    let path = format!("/v1/vehicles/nearby?lat={}&lon={}", CENTRO.0, CENTRO.1);
    let found = app.get(&path, &customer).await.expect(200);
    let found = found.as_array().expect("a JSON array");
    let vehicles: Vec<&str> = found
        .iter()
        .map(|item| item["vehicle"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(vehicles, [close.as_str(), farther.as_str()], "{found:?}");
    let distances: Vec<f64> = found
        .iter()
        .map(|item| item["distance_m"].as_f64().unwrap())
        .collect();
    assert!(
        distances[0] < 50.0 && distances[0] < distances[1] && distances[1] < 2_000.0,
        "{distances:?}"
    );
    assert_eq!(found[0]["position"]["lat"], -27.5956);
    assert_eq!(found[0]["position"]["lon"], -48.5482);
    assert_eq!(found[0]["position"]["flagged"], false);
    assert_eq!(found[1]["vehicle"]["hourly_rate_cents"], 4_000);
    assert_eq!(found[1]["vehicle"]["currency"], "BRL");

    // A wider radius reaches Campeche; a limit cuts the list.
    let found = app
        .get(&format!("{path}&radius_m=20000"), &app.admin_token)
        .await
        .expect(200);
    let vehicles: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["vehicle"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        vehicles,
        [close.as_str(), farther.as_str(), far_away.as_str()]
    );
    let found = app
        .get(&format!("{path}&limit=1"), &customer)
        .await
        .expect(200);
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["vehicle"]["id"], close.as_str());

    // Outside the service area (Palhoça), bad parameters, no token.
    let problem = app
        .get("/v1/vehicles/nearby?lat=-27.6453&lon=-48.6697", &customer)
        .await
        .expect_problem(422);
    assert_eq!(
        problem["type"],
        "urn:ev-rental:problem:outside-service-area"
    );
    let problem = app
        .get(&format!("{path}&radius_m=0"), &customer)
        .await
        .expect_problem(422);
    assert!(problem["errors"]["radius_m"].is_string(), "{problem}");
    let problem = app
        .get(&format!("{path}&limit=500"), &customer)
        .await
        .expect_problem(422);
    assert!(problem["errors"]["limit"].is_string(), "{problem}");
    app.get("/v1/vehicles/nearby?lat=-27.59", &customer)
        .await
        .expect_problem(400);
    app.get("/v1/vehicles/nearby?lat=north&lon=-48.5", &customer)
        .await
        .expect_problem(400);
    app.call(Method::GET, &path, None, None)
        .await
        .expect_problem(401);
}

#[tokio::test]
async fn an_admin_changes_a_car_and_only_the_allowed_fields() {
    let app = TestApp::spawn().await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let path = format!("/v1/vehicles/{vehicle}");
    let patch = |body: Value| app.call(Method::PATCH, &path, Some(&app.admin_token), Some(body));

    let changed =
        patch(json!({"hourly_rate_cents": 4_500, "model": "BYD Dolphin Mini", "color": "verde"}))
            .await
            .expect(200);
    assert_eq!(changed["hourly_rate_cents"], 4_500);
    assert_eq!(changed["model"], "BYD Dolphin Mini");
    assert_eq!(changed["color"], "verde");
    assert_eq!(changed["status"], "available");

    let changed = patch(json!({"status": "maintenance"})).await.expect(200);
    assert_eq!(changed["status"], "maintenance");
    assert_eq!(changed["hourly_rate_cents"], 4_500, "untouched fields stay");
    let read = app.get(&path, &app.admin_token).await.expect(200);
    assert_eq!(read["status"], "maintenance");
    let changed = patch(json!({"status": "available", "color": ""}))
        .await
        .expect(200);
    assert_eq!(changed["status"], "available");
    assert_eq!(changed["color"], Value::Null, "an empty colour removes it");

    // Fields outside the patch, and values the service refuses.
    for body in [
        json!({"plate": "XYZ9Z99"}),
        json!({"year": 2020}),
        json!({"device_token": "x"}),
    ] {
        let problem = patch(body.clone()).await.expect_problem(400);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("unknown field"),
            "{body}: {problem}"
        );
    }
    patch(json!({"status": "parked"})).await.expect_problem(400);
    let problem = patch(json!({"status": "retired"}))
        .await
        .expect_problem(422);
    assert!(problem["errors"]["status"].is_string(), "{problem}");
    let problem = patch(json!({"hourly_rate_cents": 1, "model": ""}))
        .await
        .expect_problem(422);
    assert!(
        problem["errors"]["hourly_rate_cents"].is_string()
            && problem["errors"]["model"].is_string(),
        "{problem}"
    );
    let read = app.get(&path, &app.admin_token).await.expect(200);
    assert_eq!(
        read["hourly_rate_cents"], 4_500,
        "a refused patch changes nothing"
    );

    // Who and what.
    let (_, customer) = app.customer(1, VISA).await;
    app.call(
        Method::PATCH,
        &path,
        Some(&customer),
        Some(json!({"hourly_rate_cents": 100})),
    )
    .await
    .expect_problem(403);
    app.call(
        Method::PATCH,
        &path,
        None,
        Some(json!({"hourly_rate_cents": 100})),
    )
    .await
    .expect_problem(401);
    let unknown = uuid::Uuid::now_v7();
    app.call(
        Method::PATCH,
        &format!("/v1/vehicles/{unknown}"),
        Some(&app.admin_token),
        Some(json!({"hourly_rate_cents": 4_000})),
    )
    .await
    .expect_problem(404);
}

#[tokio::test]
async fn retiring_a_car_and_the_car_with_an_open_reservation() {
    let app = TestApp::spawn().await;
    let (vehicle, device) = app.vehicle(1, RATE).await;
    let path = format!("/v1/vehicles/{vehicle}");

    let (_, customer) = app.customer(1, VISA).await;
    app.call(Method::DELETE, &path, Some(&customer), None)
        .await
        .expect_problem(403);
    app.call(Method::DELETE, &path, None, None)
        .await
        .expect_problem(401);

    let retired = app
        .call(Method::DELETE, &path, Some(&app.admin_token), None)
        .await
        .expect(200);
    assert_eq!(retired["id"], vehicle.as_str());
    assert_eq!(retired["status"], "retired");
    // Gone from the fleet: reading it answers 404, as schemathesis' use-after-free expects.
    for reader in [&customer, &app.admin_token] {
        app.get(&path, reader).await.expect_problem(404);
    }
    let track = format!("{path}/track?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z");
    app.get(&track, &app.admin_token).await.expect_problem(404);
    // Again: answered as it is.
    let again = app
        .call(Method::DELETE, &path, Some(&app.admin_token), None)
        .await
        .expect(200);
    assert_eq!(again["status"], "retired");
    // History cannot change, the plate stays taken, the unit is shut out, nobody books it.
    let problem = app
        .call(
            Method::PATCH,
            &path,
            Some(&app.admin_token),
            Some(json!({"hourly_rate_cents": 4_000})),
        )
        .await
        .expect_problem(409);
    assert_eq!(problem["type"], "urn:ev-rental:problem:retired");
    app.post("/v1/vehicles", &app.admin_token, body(&plate(1)))
        .await
        .expect_problem(409);
    let fix = json!({"lat": CENTRO.0, "lon": CENTRO.1, "recorded_at": in_minutes(0)});
    app.post(&format!("/v1/units/{vehicle}/positions"), &device, fix)
        .await
        .expect_problem(401);
    app.post(
        "/v1/reservations",
        &customer,
        json!({"vehicle_id": vehicle, "start_at": in_minutes(60), "end_at": in_minutes(180)}),
    )
    .await
    .expect_problem(409);
    let page = app
        .get("/v1/vehicles?status=retired", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(ids(&page), std::slice::from_ref(&vehicle));

    // A car with an open reservation stays.
    let (busy, _) = app.vehicle(2, RATE).await;
    app.post(
        "/v1/reservations",
        &customer,
        json!({"vehicle_id": busy, "start_at": in_minutes(0), "end_at": in_minutes(120)}),
    )
    .await
    .expect(201);
    let busy_path = format!("/v1/vehicles/{busy}");
    let problem = app
        .call(Method::DELETE, &busy_path, Some(&app.admin_token), None)
        .await
        .expect_problem(409);
    assert_eq!(problem["type"], "urn:ev-rental:problem:open-reservations");
    assert_eq!(
        app.get(&busy_path, &app.admin_token).await.expect(200)["status"],
        "available"
    );

    let unknown = uuid::Uuid::now_v7();
    app.call(
        Method::DELETE,
        &format!("/v1/vehicles/{unknown}"),
        Some(&app.admin_token),
        None,
    )
    .await
    .expect_problem(404);
}

#[test]
fn the_openapi_part_documents_every_vehicle_route() {
    let part = serde_json::to_value(gateway::routes::ops::document()).unwrap();
    for (path, method, statuses) in [
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
