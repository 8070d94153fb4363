//! The end of a rental over HTTP: 409 problems while the car is moving or outside the service
//! area, and an operator's forced end (a customer may not force).

use super::*;

const CENTRO: (f64, f64) = (-27.5954, -48.5480);
/// Outside the service area.
const PALHOCA: (f64, f64) = (-27.6453, -48.6697);

/// Books `vehicle` from now for two hours and unlocks it: the reservation's path.
async fn under_way(app: &TestApp, token: &str, vehicle: &str) -> String {
    let created = reserve(app, token, booking(vehicle, 0, 120))
        .await
        .expect(201);
    app.post(&format!("/v1/vehicles/{vehicle}/unlock"), token, json!({}))
        .await
        .expect(200);
    format!("/v1/reservations/{}", id(&created))
}

/// The car's unit reports it at `(lat, lon)` now, at `speed_kmh`.
async fn report(app: &TestApp, vehicle: &str, device: &str, (lat, lon): (f64, f64), speed: f64) {
    let fix = json!({
        "lat": lat, "lon": lon, "recorded_at": chrono::Utc::now().to_rfc3339(),
        "speed_kmh": speed,
    });
    app.post(&format!("/v1/units/{vehicle}/positions"), device, fix)
        .await
        .expect(202);
}

#[tokio::test]
async fn a_moving_car_is_409_car_moving_and_the_rental_goes_on() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, device) = app.vehicle(1, RATE).await;
    let path = under_way(&app, &token, &vehicle).await;
    let finish = format!("{path}/finish");

    report(&app, &vehicle, &device, CENTRO, 35.0).await;
    let problem = app
        .post(&finish, &token, json!({}))
        .await
        .expect_problem(409);
    assert_eq!(problem["type"], "urn:ev-rental:problem:car-moving");
    assert_eq!(app.get(&path, &token).await.expect(200)["status"], "active");

    // Parked where it was (a jump within the same second would be flagged as implausible).
    report(&app, &vehicle, &device, CENTRO, 0.0).await;
    let finished = app.post(&finish, &token, json!({})).await.expect(200);
    assert_eq!(finished["reservation"]["status"], "completed");
    assert_eq!(finished["reservation"]["ended_by"], "customer");
}

#[tokio::test]
async fn only_an_operator_forces_the_end_and_the_audit_lists_the_reason() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, device) = app.vehicle(1, RATE).await;
    let path = under_way(&app, &token, &vehicle).await;
    let finish = format!("{path}/finish");
    report(&app, &vehicle, &device, PALHOCA, 0.0).await;

    let problem = app
        .post(&finish, &token, json!({}))
        .await
        .expect_problem(409);
    assert_eq!(
        problem["type"],
        "urn:ev-rental:problem:outside-service-area"
    );
    let distance = problem["distance_m"].as_u64().expect("distance_m");
    assert!(distance > 1_000, "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains(&format!("{distance} m")), "{problem}");

    let forced = json!({"force": true, "reason": "car towed from Palhoça"});
    let problem = app
        .post(&finish, &token, forced.clone())
        .await
        .expect_problem(403);
    assert_eq!(problem["type"], "urn:ev-rental:problem:forbidden");
    let problem = app
        .post(&finish, &app.admin_token, json!({}))
        .await
        .expect_problem(422);
    assert!(problem["errors"]["force"].is_string(), "{problem}");
    let problem = app
        .post(
            &finish,
            &app.admin_token,
            json!({"force": true, "reason": " "}),
        )
        .await
        .expect_problem(422);
    assert!(problem["errors"]["reason"].is_string(), "{problem}");
    assert_eq!(app.get(&path, &token).await.expect(200)["status"], "active");

    let finished = app
        .post(&finish, &app.admin_token, forced)
        .await
        .expect(200);
    assert_eq!(finished["reservation"]["status"], "completed");
    assert_eq!(finished["reservation"]["ended_by"], "admin");
    assert_eq!(finished["charge"]["status"], "captured");

    let audit = app.get("/v1/audit", &app.admin_token).await.expect(200);
    assert_eq!(audit["incidents"]["admin_forced_end"], 1, "{audit}");
    let listed = &audit["forced_ends"][0];
    assert_eq!(listed["reservation_id"], finished["reservation"]["id"]);
    assert_eq!(listed["reason"], "car towed from Palhoça");
}
