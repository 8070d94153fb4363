//! Bookings the rules refuse (overlaps, declined cards, windows, malformed bodies) and the
//! idempotency key that replays a booking.

use super::*;

#[tokio::test]
async fn overlapping_bookings_of_a_car_or_of_a_customer_conflict() {
    let app = TestApp::spawn().await;
    let (_, first) = app.customer(1, VISA).await;
    let (_, second) = app.customer(2, VISA).await;
    let (car_a, _) = app.vehicle(1, RATE).await;
    let (car_b, _) = app.vehicle(2, RATE).await;

    let base = chrono::Utc::now();
    let at = |minutes: i64| (base + chrono::TimeDelta::minutes(minutes)).to_rfc3339();
    let span = |car: &str, from: i64, to: i64| json!({"vehicle_id": car, "start_at": at(from), "end_at": at(to)});

    reserve(&app, &first, span(&car_a, 60, 180))
        .await
        .expect(201);
    let busy_car = reserve(&app, &second, span(&car_a, 120, 300))
        .await
        .expect_problem(409);
    assert_eq!(busy_car["type"], "urn:ev-rental:problem:vehicle-busy");
    let inside = reserve(&app, &second, span(&car_a, 0, 240))
        .await
        .expect_problem(409);
    assert_eq!(inside["type"], "urn:ev-rental:problem:vehicle-busy");
    let busy_customer = reserve(&app, &first, span(&car_b, 90, 210))
        .await
        .expect_problem(409);
    assert_eq!(busy_customer["type"], "urn:ev-rental:problem:customer-busy");

    // Half-open windows: a booking may start exactly where another one ends.
    reserve(&app, &second, span(&car_a, 180, 300))
        .await
        .expect(201);
    reserve(&app, &first, span(&car_b, 180 + 120, 180 + 240))
        .await
        .expect(201);
}

#[tokio::test]
async fn a_declined_card_is_402_with_the_rejected_reservation_and_frees_the_car() {
    let app = TestApp::spawn().await;
    let (_, declined) = app.customer(1, DECLINED).await;
    let (_, good) = app.customer(2, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let body = booking(&vehicle, 0, 120);

    let problem = reserve(&app, &declined, body.clone())
        .await
        .expect_problem(402);
    assert_eq!(problem["type"], "urn:ev-rental:problem:payment-declined");
    let reservation = problem["reservation_id"]
        .as_str()
        .expect("reservation_id")
        .to_owned();
    let rejected = app
        .get(&format!("/v1/reservations/{reservation}"), &declined)
        .await
        .expect(200);
    assert_eq!(rejected["status"], "rejected");
    let charges = app
        .get(
            &format!("/v1/reservations/{reservation}/charges"),
            &declined,
        )
        .await
        .expect(200);
    assert_eq!(kinds(&charges), ["hold_declined"]);

    // A rejected booking does not keep the car.
    reserve(&app, &good, body).await.expect(201);
}

#[tokio::test]
async fn windows_outside_the_rules_are_422() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;

    for minutes in [60, 7 * 60, 119, 6 * 60 + 1, -120] {
        let problem = reserve(&app, &token, booking(&vehicle, 10, minutes))
            .await
            .expect_problem(422);
        assert_eq!(
            problem["type"], "urn:ev-rental:problem:validation",
            "{minutes} min"
        );
        assert!(
            problem["errors"]["end_at"].is_string(),
            "{minutes} min: {problem}"
        );
    }
    let past = reserve(&app, &token, booking(&vehicle, -30, 120))
        .await
        .expect_problem(422);
    assert!(past["errors"]["start_at"].is_string(), "{past}");
    let far = reserve(&app, &token, booking(&vehicle, 6 * 24 * 60, 120))
        .await
        .expect_problem(422);
    assert!(far["errors"]["start_at"].is_string(), "{far}");
    let unknown_car = reserve(
        &app,
        &token,
        booking(&uuid::Uuid::now_v7().to_string(), 10, 120),
    )
    .await
    .expect_problem(422);
    assert!(
        unknown_car["errors"]["vehicle_id"].is_string(),
        "{unknown_car}"
    );

    // The bounds themselves are accepted (on other days, so that they do not overlap).
    reserve(&app, &token, booking(&vehicle, 10, 120))
        .await
        .expect(201);
    reserve(&app, &token, booking(&vehicle, 24 * 60, 6 * 60))
        .await
        .expect(201);
    // Nothing was booked by the refusals.
    let mine = app.get("/v1/reservations", &token).await.expect(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn malformed_bookings_are_400_or_415() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let mut extra = booking(&vehicle, 10, 120);
    extra["price_cents"] = json!(1);
    reserve(&app, &token, extra).await.expect_problem(400);
    let mut bad_id = booking(&vehicle, 10, 120);
    bad_id["vehicle_id"] = json!("car-1");
    reserve(&app, &token, bad_id).await.expect_problem(400);
    let mut bad_time = booking(&vehicle, 10, 120);
    bad_time["start_at"] = json!("tomorrow at noon");
    reserve(&app, &token, bad_time).await.expect_problem(400);
    reserve(&app, &token, json!({"vehicle_id": vehicle}))
        .await
        .expect_problem(400);

    let response = app
        .client
        .post(app.url("/v1/reservations"))
        .bearer_auth(&token)
        .body(booking(&vehicle, 10, 120).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_same_booking_and_refuses_another_body() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (_, declined) = app.customer(2, DECLINED).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let (other_car, _) = app.vehicle(2, RATE).await;
    let body = booking(&vehicle, 10, 120);

    let first = reserve_with_key(&app, &token, "booking-1", &body)
        .await
        .expect(201);
    let again = reserve_with_key(&app, &token, "booking-1", &body)
        .await
        .expect(201);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["status"], "confirmed");
    assert_eq!(again["hold"], first["hold"]);
    let mine = app.get("/v1/reservations", &token).await.expect(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let charges = app
        .get(&format!("/v1/reservations/{}/charges", id(&first)), &token)
        .await
        .expect(200);
    assert_eq!(kinds(&charges), ["hold"], "one hold only");

    let mut different = body.clone();
    different["vehicle_id"] = json!(other_car);
    let mismatch = reserve_with_key(&app, &token, "booking-1", &different)
        .await
        .expect_problem(422);
    assert_eq!(
        mismatch["type"],
        "urn:ev-rental:problem:idempotency-mismatch"
    );
    // Without the key, the same body is a new booking of an interval already taken.
    reserve(&app, &token, body.clone())
        .await
        .expect_problem(409);

    // A declined booking replays as the same refusal.
    let other_body = booking(&other_car, 24 * 60, 120);
    let refused = reserve_with_key(&app, &declined, "booking-1", &other_body)
        .await
        .expect_problem(402);
    let refused_again = reserve_with_key(&app, &declined, "booking-1", &other_body)
        .await
        .expect_problem(402);
    assert_eq!(refused_again["reservation_id"], refused["reservation_id"]);

    let too_long = "k".repeat(129);
    for bad in [too_long.as_str(), "has space", "ç"] {
        reserve_with_key(&app, &token, bad, &booking(&other_car, 48 * 60, 120))
            .await
            .expect_problem(400);
    }
    reserve_with_key(
        &app,
        &token,
        &"k".repeat(128),
        &booking(&other_car, 48 * 60, 120),
    )
    .await
    .expect(201);
}
