//! Reservations over HTTP: booking with the card hold, reading, cancelling, finishing and the
//! charge records, with every refusal the routes can answer.

mod common;
use common::*;

use reqwest::Method;
use serde_json::{Value, json};

const RATE: i64 = 3_000;

/// A window of `minutes` starting `start_min` from now, both from the same instant.
fn window(start_min: i64, minutes: i64) -> (String, String) {
    let start = chrono::Utc::now() + chrono::TimeDelta::minutes(start_min);
    let end = start + chrono::TimeDelta::minutes(minutes);
    (start.to_rfc3339(), end.to_rfc3339())
}

fn booking(vehicle: &str, start_min: i64, minutes: i64) -> Value {
    let (start_at, end_at) = window(start_min, minutes);
    json!({"vehicle_id": vehicle, "start_at": start_at, "end_at": end_at})
}

async fn reserve(app: &TestApp, token: &str, body: Value) -> Answer {
    app.post("/v1/reservations", token, body).await
}

/// POST /v1/reservations with an `Idempotency-Key` header.
async fn reserve_with_key(app: &TestApp, token: &str, key: &str, body: &Value) -> Answer {
    let response = app
        .client
        .post(app.url("/v1/reservations"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("id").to_owned()
}

fn kinds(charges: &Value) -> Vec<String> {
    charges["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|entry| entry["kind"].as_str().expect("kind").to_owned())
        .collect()
}

#[tokio::test]
async fn a_whole_rental_books_unlocks_locks_finishes_and_captures() {
    let app = TestApp::spawn().await;
    let (customer, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;

    let body = json!({"vehicle_id": vehicle, "start_at": in_minutes(0), "end_at": in_minutes(120)});
    let created = reserve(&app, &token, body.clone()).await.expect(201);
    assert_eq!(created["status"], "confirmed");
    assert_eq!(created["vehicle_id"], vehicle.as_str());
    assert_eq!(created["customer_id"], customer.as_str());
    assert_eq!(
        created["hold"],
        json!({"amount_cents": 6_000, "currency": "BRL"})
    );
    assert_eq!(created["total"], Value::Null);
    assert_eq!(created["unlocked_at"], Value::Null);
    for field in ["start_at", "end_at", "created_at", "updated_at"] {
        let text = created[field].as_str().expect(field);
        chrono::DateTime::parse_from_rfc3339(text).expect("RFC 3339");
    }
    let reservation = id(&created);
    let path = format!("/v1/reservations/{reservation}");

    let read = app.get(&path, &token).await.expect(200);
    assert_eq!(read["id"], reservation.as_str());
    assert_eq!(read["status"], "confirmed");
    let mine = app.get("/v1/reservations", &token).await.expect(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], reservation.as_str());
    assert_eq!(mine["next_cursor"], Value::Null);

    let unlock = format!("/v1/vehicles/{vehicle}/unlock");
    let lock = format!("/v1/vehicles/{vehicle}/lock");
    let opened = app.post(&unlock, &token, json!({})).await.expect(200);
    assert_eq!(opened["state"], "done");
    assert!(
        opened["command_id"]
            .as_str()
            .is_some_and(|id| id.len() == 36),
        "{opened}"
    );
    let active = app.get(&path, &token).await.expect(200);
    assert_eq!(active["status"], "active");
    assert!(active["unlocked_at"].is_string(), "{active}");

    let closed = app.post(&lock, &token, json!({})).await.expect(200);
    assert_eq!(closed["state"], "done");
    assert_ne!(closed["command_id"], opened["command_id"]);
    app.post(&unlock, &token, json!({})).await.expect(200);
    assert_eq!(app.get(&path, &token).await.expect(200)["status"], "active");

    let finished = app
        .post(&format!("{path}/finish"), &token, json!({}))
        .await
        .expect(200);
    assert_eq!(finished["reservation"]["id"], reservation.as_str());
    assert_eq!(finished["reservation"]["status"], "completed");
    assert!(finished["reservation"]["released_at"].is_string());
    assert_eq!(
        finished["reservation"]["total"],
        json!({"amount_cents": 6_000, "currency": "BRL"})
    );
    assert_eq!(
        finished["charge"],
        json!({
            "status": "captured",
            "held_cents": 6_000,
            "captured_cents": 6_000,
            "charged_cents": 0,
            "refunded_cents": 0,
            "currency": "BRL"
        })
    );
    assert_eq!(
        app.get(&path, &token).await.expect(200)["status"],
        "completed"
    );

    let charges = app
        .get(&format!("{path}/charges"), &token)
        .await
        .expect(200);
    let kinds = kinds(&charges);
    assert_eq!(kinds.first().map(String::as_str), Some("hold"), "{charges}");
    assert!(kinds.contains(&"capture".to_owned()), "{charges}");
    let items = charges["items"].as_array().unwrap();
    for entry in items {
        assert_eq!(entry["currency"], "BRL");
        assert!(entry["at"].is_string());
    }
    let capture = items
        .iter()
        .find(|entry| entry["kind"] == "capture")
        .unwrap();
    assert_eq!(capture["amount_cents"], 6_000);
    assert_eq!(items[0]["amount_cents"], 6_000);

    // The car is released: the renter cannot open it any more, and finishing again changes nothing.
    app.post(&unlock, &token, json!({}))
        .await
        .expect_problem(409);
    let again = app
        .post(&format!("{path}/finish"), &token, json!({}))
        .await
        .expect(200);
    assert_eq!(again["charge"]["captured_cents"], 6_000);
    let charges_again = app
        .get(&format!("{path}/charges"), &token)
        .await
        .expect(200);
    assert_eq!(
        charges_again["items"].as_array().unwrap().len(),
        items.len()
    );
}

#[tokio::test]
async fn tokens_and_roles_are_checked() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, device_token) = app.vehicle(1, RATE).await;
    let body = booking(&vehicle, 0, 120);

    let none = app
        .call(Method::POST, "/v1/reservations", None, Some(body.clone()))
        .await;
    assert_eq!(none.headers["www-authenticate"], "Bearer");
    none.expect_problem(401);
    app.post("/v1/reservations", "not-a-jwt", body.clone())
        .await
        .expect_problem(401);
    app.post("/v1/reservations", &device_token, body.clone())
        .await
        .expect_problem(401);
    app.call(Method::GET, "/v1/reservations", None, None)
        .await
        .expect_problem(401);

    let forbidden = app
        .post("/v1/reservations", &app.admin_token, body.clone())
        .await
        .expect_problem(403);
    assert_eq!(forbidden["type"], "urn:ev-rental:problem:forbidden");

    let created = reserve(&app, &token, body).await.expect(201);
    let path = format!("/v1/reservations/{}", id(&created));
    app.call(Method::GET, &path, None, None)
        .await
        .expect_problem(401);
    app.call(Method::POST, &format!("{path}/cancel"), None, None)
        .await
        .expect_problem(401);
    app.call(Method::GET, &format!("{path}/charges"), None, None)
        .await
        .expect_problem(401);
    // Finishing is the renter's own act: an admin token is refused.
    app.post(&format!("{path}/finish"), &app.admin_token, json!({}))
        .await
        .expect_problem(403);
}

#[tokio::test]
async fn another_customers_reservation_is_not_found_but_admins_see_all() {
    let app = TestApp::spawn().await;
    let (owner, owner_token) = app.customer(1, VISA).await;
    let (_, stranger_token) = app.customer(2, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let created = reserve(&app, &owner_token, booking(&vehicle, 60, 120))
        .await
        .expect(201);
    let path = format!("/v1/reservations/{}", id(&created));

    let problem = app.get(&path, &stranger_token).await.expect_problem(404);
    assert_eq!(problem["type"], "urn:ev-rental:problem:not-found");
    app.post(&format!("{path}/cancel"), &stranger_token, json!({}))
        .await
        .expect_problem(404);
    app.get(&format!("{path}/charges"), &stranger_token)
        .await
        .expect_problem(404);
    app.post(&format!("{path}/finish"), &stranger_token, json!({}))
        .await
        .expect_problem(404);
    // The stranger's list holds only their own booking, even when asking for the owner's.
    let (other_car, _) = app.vehicle(2, RATE).await;
    let own = reserve(&app, &stranger_token, booking(&other_car, 60, 120))
        .await
        .expect(201);
    let theirs = app
        .get("/v1/reservations", &stranger_token)
        .await
        .expect(200);
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1, "{theirs}");
    assert_eq!(theirs["items"][0]["id"], own["id"]);
    let asked = app
        .get(
            &format!("/v1/reservations?customer_id={owner}"),
            &stranger_token,
        )
        .await
        .expect(200);
    assert_eq!(asked["items"], json!([]));
    let by_car = app
        .get(
            &format!("/v1/reservations?vehicle_id={vehicle}"),
            &stranger_token,
        )
        .await
        .expect(200);
    assert_eq!(by_car["items"], json!([]));
    // The stranger's attempt to cancel changed nothing.
    assert_eq!(
        app.get(&path, &owner_token).await.expect(200)["status"],
        "confirmed"
    );

    let read = app.get(&path, &app.admin_token).await.expect(200);
    assert_eq!(read["customer_id"], owner.as_str());
    let charges = app
        .get(&format!("{path}/charges"), &app.admin_token)
        .await
        .expect(200);
    assert_eq!(kinds(&charges), ["hold"]);

    let unknown = format!("/v1/reservations/{}", uuid::Uuid::now_v7());
    app.get(&unknown, &owner_token).await.expect_problem(404);
    app.get(&unknown, &app.admin_token)
        .await
        .expect_problem(404);
    app.post(&format!("{unknown}/cancel"), &owner_token, json!({}))
        .await
        .expect_problem(404);
    app.get("/v1/reservations/not-a-uuid", &owner_token)
        .await
        .expect_problem(400);
}

#[tokio::test]
async fn admins_list_everything_with_filters_and_pages() {
    let app = TestApp::spawn().await;
    let (first, first_token) = app.customer(1, VISA).await;
    let (_, second_token) = app.customer(2, VISA).await;
    let (car_a, _) = app.vehicle(1, RATE).await;
    let (car_b, _) = app.vehicle(2, RATE).await;
    let one = reserve(&app, &first_token, booking(&car_a, 60, 120))
        .await
        .expect(201);
    let two = reserve(&app, &second_token, booking(&car_b, 60, 120))
        .await
        .expect(201);
    let three = reserve(&app, &first_token, booking(&car_a, 240, 120))
        .await
        .expect(201);
    app.post(
        &format!("/v1/reservations/{}/cancel", id(&three)),
        &first_token,
        json!({}),
    )
    .await
    .expect(200);

    let all = app
        .get("/v1/reservations", &app.admin_token)
        .await
        .expect(200);
    let ids: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id(&one), id(&two), id(&three)]);

    let by_customer = app
        .get(
            &format!("/v1/reservations?customer_id={first}"),
            &app.admin_token,
        )
        .await
        .expect(200);
    assert_eq!(by_customer["items"].as_array().unwrap().len(), 2);
    let by_car = app
        .get(
            &format!("/v1/reservations?vehicle_id={car_b}"),
            &app.admin_token,
        )
        .await
        .expect(200);
    assert_eq!(by_car["items"].as_array().unwrap().len(), 1);
    assert_eq!(by_car["items"][0]["id"], id(&two).as_str());
    let cancelled = app
        .get("/v1/reservations?status=cancelled", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(cancelled["items"].as_array().unwrap().len(), 1);
    assert_eq!(cancelled["items"][0]["id"], id(&three).as_str());
    let own_confirmed = app
        .get("/v1/reservations?status=confirmed", &first_token)
        .await
        .expect(200);
    assert_eq!(own_confirmed["items"].as_array().unwrap().len(), 1);
    assert_eq!(own_confirmed["items"][0]["id"], id(&one).as_str());

    let page = app
        .get("/v1/reservations?limit=2", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let rest = app
        .get(
            &format!("/v1/reservations?limit=2&cursor={cursor}"),
            &app.admin_token,
        )
        .await
        .expect(200);
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["id"], id(&three).as_str());
    assert_eq!(rest["next_cursor"], Value::Null);

    for bad in [
        "limit=0",
        "limit=201",
        "cursor=nope",
        "status=lost",
        "vehicle_id=123",
    ] {
        app.get(&format!("/v1/reservations?{bad}"), &app.admin_token)
            .await
            .expect_problem(400);
    }
}

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
