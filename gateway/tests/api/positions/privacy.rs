//! Who may read a car's latest position: the admins; the renter during their rental; anyone
//! else only while the car is offered to everyone (available and not booked soon, as nearby
//! search lists it). Otherwise 404, the answer for a car that does not exist.

use super::*;

fn position(vehicle: &str) -> String {
    format!("/v1/vehicles/{vehicle}/position")
}

/// A car that reported where it is parked.
async fn parked_car(app: &TestApp, n: u32) -> String {
    let (vehicle, device) = app.vehicle(n, RATE).await;
    app.post(
        &positions(&vehicle),
        &device,
        fix(CENTRO, Utc::now() - TimeDelta::seconds(1)),
    )
    .await
    .expect(202);
    vehicle
}

/// Asserts the answer is the one an unknown car gets.
async fn hidden(app: &TestApp, vehicle: &str, token: &str) {
    let problem = app.get(&position(vehicle), token).await.expect_problem(404);
    assert_eq!(problem["detail"], "no such vehicle", "{problem}");
}

#[tokio::test]
async fn an_available_car_is_seen_by_everyone_and_a_car_in_maintenance_by_the_admins_only() {
    let app = TestApp::spawn().await;
    let vehicle = parked_car(&app, 1).await;
    let (_, customer) = app.customer(1, VISA).await;

    let seen = app.get(&position(&vehicle), &customer).await.expect(200);
    assert_eq!(seen["lat"], CENTRO.0, "{seen}");

    app.call(
        Method::PATCH,
        &format!("/v1/vehicles/{vehicle}"),
        Some(&app.admin_token),
        Some(json!({"status": "maintenance"})),
    )
    .await
    .expect(200);
    hidden(&app, &vehicle, &customer).await;
    app.get(&position(&vehicle), &app.admin_token)
        .await
        .expect(200);
    // Unknown cars answer the same.
    hidden(&app, &uuid_like(), &customer).await;
}

#[tokio::test]
async fn a_rented_car_is_seen_by_its_renter_and_the_admins_only_until_it_is_released() {
    let app = TestApp::spawn().await;
    let vehicle = parked_car(&app, 1).await;
    let (_, renter) = app.customer(1, VISA).await;
    let (_, stranger) = app.customer(2, VISA).await;

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

    // Booked from now: the renter's window has begun, nobody else's car any more.
    app.get(&position(&vehicle), &renter).await.expect(200);
    app.get(&position(&vehicle), &app.admin_token)
        .await
        .expect(200);
    hidden(&app, &vehicle, &stranger).await;

    // Under way.
    app.post(
        &format!("/v1/vehicles/{vehicle}/unlock"),
        &renter,
        json!({}),
    )
    .await
    .expect(200);
    app.get(&position(&vehicle), &renter).await.expect(200);
    hidden(&app, &vehicle, &stranger).await;

    // Released: offered to everyone again, the former renter included.
    app.post(
        &format!("/v1/reservations/{reservation}/finish"),
        &renter,
        json!({}),
    )
    .await
    .expect(200);
    app.get(&position(&vehicle), &stranger).await.expect(200);
    app.get(&position(&vehicle), &renter).await.expect(200);
}

#[tokio::test]
async fn a_car_booked_soon_is_hidden_from_everyone_but_the_admins_until_the_rental_starts() {
    let app = TestApp::spawn().await;
    let vehicle = parked_car(&app, 1).await;
    let (_, renter) = app.customer(1, VISA).await;
    let (_, stranger) = app.customer(2, VISA).await;

    // Starting within the shortest rental from now: nearby search no longer offers it.
    app.post(
        "/v1/reservations",
        &renter,
        json!({"vehicle_id": vehicle, "start_at": in_minutes(60), "end_at": in_minutes(180)}),
    )
    .await
    .expect(201);
    let nearby = app
        .get(
            &format!("/v1/vehicles/nearby?lat={}&lon={}", CENTRO.0, CENTRO.1),
            &stranger,
        )
        .await
        .expect(200);
    assert_eq!(nearby, json!([]), "nearby search hides it too");
    hidden(&app, &vehicle, &stranger).await;
    // The renter's window has not begun: not theirs to follow yet.
    hidden(&app, &vehicle, &renter).await;
    app.get(&position(&vehicle), &app.admin_token)
        .await
        .expect(200);
}

fn uuid_like() -> String {
    "01890000-0000-7000-8000-000000000000".to_owned()
}
