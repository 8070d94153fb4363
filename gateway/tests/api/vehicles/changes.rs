//! Changing a car and retiring it, with the refusals of both.

use super::*;

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
