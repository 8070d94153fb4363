//! Money beyond the happy path over HTTP: the payment provider down during bookings and
//! releases, operators' refunds, and the providers' signed webhooks.

use crate::helpers::*;

use reqwest::Method;
use serde_json::{Value, json};

mod outages;
mod refunds;
pub(crate) mod webhooks;

const RATE: i64 = 3_000;

fn booking(vehicle: &str) -> Value {
    json!({"vehicle_id": vehicle, "start_at": in_minutes(0), "end_at": in_minutes(120)})
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

/// A customer's whole rental of a new car, released at once: (reservation id, customer token).
async fn finished_rental(app: &TestApp, n: u32) -> (String, String) {
    let (_, token) = app.customer(n, VISA).await;
    let (vehicle, _) = app.vehicle(n, RATE).await;
    let created = app
        .post("/v1/reservations", &token, booking(&vehicle))
        .await
        .expect(201);
    let id = created["id"].as_str().expect("id").to_owned();
    app.post(&format!("/v1/vehicles/{vehicle}/unlock"), &token, json!({}))
        .await
        .expect(200);
    app.post(&format!("/v1/reservations/{id}/finish"), &token, json!({}))
        .await
        .expect(200);
    (id, token)
}

/// The charge records of a reservation, read by the admin.
async fn charges(app: &TestApp, id: &str) -> Vec<Value> {
    app.get(&format!("/v1/reservations/{id}/charges"), &app.admin_token)
        .await
        .expect(200)["items"]
        .as_array()
        .expect("items")
        .clone()
}

async fn audit(app: &TestApp) -> Value {
    app.call(Method::GET, "/v1/audit", Some(&app.admin_token), None)
        .await
        .expect(200)
}
