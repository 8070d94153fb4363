//! The whole rental with billing on Mercado Pago, against the fake Mercado Pago server of
//! `actors::testing`: the app sends a card token, the booking holds with a reserve, the finish
//! captures it, and a card without funds is refused.

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
