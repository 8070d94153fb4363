//! Reservations that end other than by a rental: cancelled, finished without an unlock, and
//! the outstanding balance that blocks the next booking.

use super::*;

#[tokio::test]
async fn cancelling_before_the_start_voids_the_hold_and_after_it_is_409() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (_, other) = app.customer(2, VISA).await;
    let (car_a, _) = app.vehicle(1, RATE).await;
    let (car_b, _) = app.vehicle(2, RATE).await;

    let later = reserve(&app, &token, booking(&car_a, 60, 120))
        .await
        .expect(201);
    let path = format!("/v1/reservations/{}", id(&later));
    let cancelled = app
        .post(&format!("{path}/cancel"), &token, json!({}))
        .await
        .expect(200);
    assert_eq!(cancelled["id"], later["id"]);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        app.get(&path, &token).await.expect(200)["status"],
        "cancelled"
    );
    let charges = app
        .get(&format!("{path}/charges"), &token)
        .await
        .expect(200);
    assert_eq!(kinds(&charges), ["hold", "void"]);
    assert_eq!(charges["items"][1]["amount_cents"], 6_000);
    // Cancelling again is harmless: same answer, no second void.
    let twice = app
        .post(&format!("{path}/cancel"), &token, json!({}))
        .await
        .expect(200);
    assert_eq!(twice["status"], "cancelled");
    let charges = app
        .get(&format!("{path}/charges"), &token)
        .await
        .expect(200);
    assert_eq!(kinds(&charges), ["hold", "void"]);
    // The interval is free again.
    reserve(&app, &other, booking(&car_a, 60, 120))
        .await
        .expect(201);

    // An admin may cancel anyone's reservation before it starts.
    let by_admin = reserve(&app, &token, booking(&car_b, 24 * 60, 120))
        .await
        .expect(201);
    let cancelled = app
        .post(
            &format!("/v1/reservations/{}/cancel", id(&by_admin)),
            &app.admin_token,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(cancelled["status"], "cancelled");

    // Once the window has started, the renter finishes instead.
    let started = reserve(
        &app,
        &token,
        json!({"vehicle_id": car_b, "start_at": in_minutes(0), "end_at": in_minutes(120)}),
    )
    .await
    .expect(201);
    let started_path = format!("/v1/reservations/{}", id(&started));
    let problem = app
        .post(&format!("{started_path}/cancel"), &token, json!({}))
        .await
        .expect_problem(409);
    assert_eq!(problem["type"], "urn:ev-rental:problem:invalid-state");
    assert_eq!(
        app.get(&started_path, &token).await.expect(200)["status"],
        "confirmed"
    );
}

#[tokio::test]
async fn finishing_a_reservation_never_unlocked_is_409() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let created = reserve(&app, &token, booking(&vehicle, 0, 120))
        .await
        .expect(201);
    let path = format!("/v1/reservations/{}", id(&created));

    let problem = app
        .post(&format!("{path}/finish"), &token, json!({}))
        .await
        .expect_problem(409);
    assert_eq!(problem["type"], "urn:ev-rental:problem:invalid-state");
    assert_eq!(
        app.get(&path, &token).await.expect(200)["status"],
        "confirmed"
    );
    let charges = app
        .get(&format!("{path}/charges"), &token)
        .await
        .expect(200);
    assert_eq!(kinds(&charges), ["hold"]);
    // No command was sent to the car.
    assert!(app.units().delivered().is_empty());
}

#[tokio::test]
async fn a_customer_with_an_outstanding_balance_is_told_to_pay_before_booking() {
    let app = TestApp::spawn().await;
    let (id, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, 3_000).await;
    let customer: actors::ids::CustomerId = id.parse().unwrap();
    // An earlier rental whose overtime the card refused.
    app.system()
        .services()
        .customers
        .record_outstanding(customer, actors::ids::ReservationId::new(), 7_500)
        .await
        .unwrap();
    let me = app.get("/v1/customers/me", &token).await.expect(200);
    assert_eq!(me["outstanding_cents"], 7_500);

    let problem = app
        .post(
            "/v1/reservations",
            &token,
            json!({"vehicle_id": vehicle, "start_at": in_minutes(10), "end_at": in_minutes(130)}),
        )
        .await
        .expect_problem(402);
    assert_eq!(problem["type"], "urn:ev-rental:problem:outstanding-balance");
    assert_eq!(problem["outstanding_cents"], 7_500);
}
