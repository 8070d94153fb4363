//! Reservations over HTTP: booking with the card hold, reading, cancelling, finishing and the
//! charge records, with every refusal the routes can answer.

use crate::helpers::*;

use reqwest::Method;
use serde_json::{Value, json};

mod endings;
mod extend;
mod finish_rules;
mod refusals;

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
    Answer::read(response).await
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
    // Finishing is the renter's own act: an operator only ends a rental by force, and says so.
    let problem = app
        .post(&format!("{path}/finish"), &app.admin_token, json!({}))
        .await
        .expect_problem(422);
    assert!(problem["errors"]["force"].is_string(), "{problem}");
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
