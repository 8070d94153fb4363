//! The whole rental with billing on Mercado Pago, against the fake Mercado Pago server of
//! `actors::testing`: the app sends a card token, the booking holds with a reserve, the finish
//! captures it, and a card without funds is refused; notifications are applied by reading the
//! payment back, and a day reconciles with Mercado Pago's payment search.

use actors::testing::PASSWORD;
use actors::testing::mercadopago::{ACCESS_TOKEN, FakeMercadoPago, Holder};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn app_on(fake: &FakeMercadoPago) -> TestApp {
    let base = fake.base_url();
    TestApp::spawn_with(move |config| {
        config.billing.provider = "mercadopago".into();
        config.billing.mercadopago_api_base = base;
        config.billing.mercadopago_access_token = ACCESS_TOKEN.into();
        config.billing.mercadopago_webhook_secret = "test-webhook-secret".into();
    })
    .await
}

/// Registers customer `n` with a card token the app got from Mercado Pago's SDK and logs in:
/// (the registration's answer, access token).
async fn customer_with_token(app: &TestApp, n: u32, card_token: &str) -> (Value, String) {
    let mut body = customer_body(n, "");
    body["card"] = json!({ "token": card_token });
    let created = app
        .call(Method::POST, "/v1/customers", None, Some(body))
        .await
        .expect(201);
    let tokens = app
        .call(
            Method::POST,
            "/v1/auth/token",
            None,
            Some(json!({"email": email(n), "password": PASSWORD})),
        )
        .await
        .expect(200);
    let token = tokens["access_token"].as_str().expect("token").to_owned();
    app.confirm(created["id"].as_str().expect("id"), &token)
        .await;
    (created, token)
}

#[tokio::test]
async fn a_rental_on_mercado_pago_holds_at_booking_and_captures_at_the_finish() {
    let fake = FakeMercadoPago::start().await;
    let app = app_on(&fake).await;
    let (created, token) = customer_with_token(&app, 1, &fake.app_token(Holder::Apro)).await;
    assert_eq!(
        created["card"],
        json!({"brand": "mastercard", "last4": "6351", "exp_month": 11, "exp_year": 2030})
    );
    let (vehicle, _) = app.vehicle(1, 3_000).await;

    let body = json!({"vehicle_id": vehicle, "start_at": in_minutes(0), "end_at": in_minutes(120)});
    let booked = app.post("/v1/reservations", &token, body).await.expect(201);
    let [payment] = fake.payments().try_into().expect("one payment");
    assert_eq!(
        (payment.status.as_str(), payment.amount_cents),
        ("authorized", 6_000)
    );

    app.post(&format!("/v1/vehicles/{vehicle}/unlock"), &token, json!({}))
        .await
        .expect(200);
    let path = format!("/v1/reservations/{}", booked["id"].as_str().expect("id"));
    let finished = app
        .post(&format!("{path}/finish"), &token, json!({}))
        .await
        .expect(200);
    assert_eq!(finished["charge"]["status"], "captured");
    assert_eq!(finished["charge"]["captured_cents"], 6_000);
    let [payment] = fake.payments().try_into().expect("still one payment");
    assert_eq!(
        (
            payment.status.as_str(),
            payment.amount_cents,
            payment.captured
        ),
        ("approved", 6_000, true)
    );
}

#[tokio::test]
async fn on_mercado_pago_a_card_without_funds_is_402_and_card_numbers_are_refused() {
    let fake = FakeMercadoPago::start().await;
    let app = app_on(&fake).await;
    let (_, token) = customer_with_token(&app, 1, &fake.app_token(Holder::Fund)).await;
    let (vehicle, _) = app.vehicle(1, 3_000).await;
    let body = json!({"vehicle_id": vehicle, "start_at": in_minutes(0), "end_at": in_minutes(120)});
    let problem = app
        .post("/v1/reservations", &token, body)
        .await
        .expect_problem(402);
    assert_eq!(problem["type"], "urn:ev-rental:problem:payment-declined");
    assert_eq!(
        fake.payments()[0].status_detail,
        "cc_rejected_insufficient_amount"
    );

    let problem = app
        .call(
            Method::POST,
            "/v1/customers",
            None,
            Some(customer_body(2, VISA)),
        )
        .await
        .expect_problem(422);
    assert!(problem["errors"]["card.number"].is_string(), "{problem}");
}

const WEBHOOK_SECRET: &str = "test-webhook-secret";

/// Books a car for customer `n` (a card approved by the fake) `minutes_ahead` from now for two
/// hours: (reservation id, customer token, vehicle id, Mercado Pago's payment id of the hold).
async fn booked(
    app: &TestApp,
    fake: &FakeMercadoPago,
    n: u32,
    minutes_ahead: i64,
) -> (String, String, String, u64) {
    let (_, token) = customer_with_token(app, n, &fake.app_token(Holder::Apro)).await;
    let (vehicle, _) = app.vehicle(n, 3_000).await;
    let body = json!({"vehicle_id": vehicle, "start_at": in_minutes(minutes_ahead), "end_at": in_minutes(minutes_ahead + 120)});
    let reservation = app.post("/v1/reservations", &token, body).await.expect(201);
    let id = reservation["id"].as_str().expect("id").to_owned();
    let payment = fake.payments().last().expect("the hold's payment").id;
    (id, token, vehicle, payment)
}

/// A whole rental of customer `n`, captured: (reservation id, payment id).
async fn finished(app: &TestApp, fake: &FakeMercadoPago, n: u32) -> (String, u64) {
    let (id, token, vehicle, payment) = booked(app, fake, n, 0).await;
    app.post(&format!("/v1/vehicles/{vehicle}/unlock"), &token, json!({}))
        .await
        .expect(200);
    app.post(&format!("/v1/reservations/{id}/finish"), &token, json!({}))
        .await
        .expect(200);
    (id, payment)
}

/// Delivers Mercado Pago's notification `notification_id` about payment `payment`, signed as
/// Mercado Pago signs it.
async fn notify(app: &TestApp, notification_id: u64, payment: u64) -> Answer {
    let body = json!({
        "id": notification_id, "live_mode": false, "type": "payment",
        "action": "payment.updated", "api_version": "v1", "data": {"id": payment.to_string()}
    });
    crate::billing::webhooks::mercadopago(
        app,
        &payment.to_string(),
        &format!("req-{notification_id}"),
        &body,
        WEBHOOK_SECRET,
        chrono::Utc::now().timestamp(),
    )
    .await
}

/// The reservation's ledger entries, read by the admin.
async fn entries(app: &TestApp, id: &str) -> Vec<Value> {
    app.get(&format!("/v1/reservations/{id}/charges"), &app.admin_token)
        .await
        .expect(200)["items"]
        .as_array()
        .expect("items")
        .clone()
}

#[tokio::test]
async fn a_refund_made_in_mercado_pagos_dashboard_is_recorded_once_from_its_notification() {
    let fake = FakeMercadoPago::start().await;
    let app = app_on(&fake).await;
    let (id, payment) = finished(&app, &fake, 1).await;
    // Our capture's own notification says nothing new.
    assert_eq!(
        notify(&app, 9_001, payment).await.expect(200)["outcome"],
        "unchanged"
    );

    assert!(fake.refund_in_dashboard(payment, 1_500));
    let answer = notify(&app, 9_002, payment).await.expect(200);
    assert_eq!(answer["outcome"], "applied");
    let replay = notify(&app, 9_002, payment).await.expect(200);
    assert_eq!(replay["outcome"], "duplicate");
    // Another notification of the same payment: the refund is already in the ledger.
    let again = notify(&app, 9_003, payment).await.expect(200);
    assert_eq!(again["outcome"], "unchanged");

    let refunds: Vec<_> = entries(&app, &id)
        .await
        .into_iter()
        .filter(|entry| entry["kind"] == "refund")
        .map(|entry| (entry["amount_cents"].clone(), entry["note"].clone()))
        .collect();
    assert_eq!(refunds, [(json!(1_500), json!("refunded at the provider"))]);

    // A payment no charge of ours names is acknowledged, and Mercado Pago is not asked.
    let asked = fake.received().len();
    let foreign = notify(&app, 9_004, 4_242_424_242).await.expect(200);
    assert_eq!(foreign["outcome"], "unknown_payment");
    assert_eq!(fake.received().len(), asked);
}

#[tokio::test]
async fn a_reserve_lapsed_at_mercado_pago_is_recorded_as_cancelled_from_its_notification() {
    let fake = FakeMercadoPago::start().await;
    let app = app_on(&fake).await;
    let (id, _, _, payment) = booked(&app, &fake, 1, 24 * 60).await;
    assert!(fake.expire_reserve(payment));
    let answer = notify(&app, 9_101, payment).await.expect(200);
    assert_eq!(answer["outcome"], "applied");
    let records = entries(&app, &id).await;
    let last = records.last().expect("an entry");
    assert_eq!(last["kind"], "void");
    assert_eq!(last["note"], "cancelled at the provider: expired");
    let audit = app
        .call(Method::GET, "/v1/audit", Some(&app.admin_token), None)
        .await
        .expect(200);
    assert_eq!(
        audit["incidents"]["hold_cancelled_at_provider"], 1,
        "{audit}"
    );
    // Mercado Pago asked for the payment with our access token.
    let reads: Vec<_> = fake
        .received()
        .into_iter()
        .filter(|request| {
            request.method == "GET" && request.path == format!("/v1/payments/{payment}")
        })
        .collect();
    assert_eq!(reads.len(), 1, "{reads:?}");
}

#[tokio::test]
async fn a_days_rentals_on_mercado_pago_reconcile_with_its_payment_search() {
    let fake = FakeMercadoPago::start().await;
    let app = app_on(&fake).await;
    let (_, payment) = finished(&app, &fake, 1).await;
    booked(&app, &fake, 2, 24 * 60).await;
    let today = chrono::Utc::now().date_naive();
    let path = format!("/v1/billing/reconciliation?date={today}");
    let day = app.get(&path, &app.admin_token).await.expect(200);
    assert_eq!(day["provider_listed"], true, "{day}");
    assert_eq!(day["matched"], 2, "{day}");
    assert_eq!(day["differences"], json!([]), "{day}");
    assert!(
        fake.received()
            .iter()
            .any(|request| request.path.starts_with("/v1/payments/search?")
                && request.path.contains("range=date_created")),
        "the search was asked"
    );

    // A refund made in the dashboard and not notified is a difference.
    assert!(fake.refund_in_dashboard(payment, 500));
    let day = app.get(&path, &app.admin_token).await.expect(200);
    assert_eq!(day["differences"][0]["kind"], "amounts_differ", "{day}");
    assert_eq!(
        day["differences"][0]["provider"]["refunded_cents"], 500,
        "{day}"
    );
}
