//! The whole server with `billing.provider = "stripe"` against localstripe: cards registered by
//! PaymentMethod id, holds as manually captured PaymentIntents, captures, the overtime charge,
//! cancellations, declines and refunds, each checked in the fake's own records.

mod localstripe;

use crate::helpers::*;

use actors::billing::EntryKind;
use actors::ids::ReservationId;
use actors::testing::PASSWORD;
use reqwest::Method;
use serde_json::{Value, json};

use localstripe::{LocalStripe, SECRET_KEY};

const RATE: i64 = 3_000;

async fn app_on(stripe: &LocalStripe) -> TestApp {
    let base = stripe.base.clone();
    TestApp::spawn_with(move |config| {
        config.billing.provider = "stripe".into();
        config.billing.stripe_api_base = base;
        config.billing.stripe_secret_key = SECRET_KEY.into();
        config.billing.stripe_webhook_secret = "whsec_ev_rental_test".into();
    })
    .await
}

/// Registers customer `n` with `payment_method` as their card: the answer's status and body.
async fn register(app: &TestApp, n: u32, payment_method: &str) -> Answer {
    let mut body = customer_body(n, VISA);
    body["card"] = json!({"token": payment_method});
    app.call(Method::POST, "/v1/customers", None, Some(body))
        .await
}

async fn login(app: &TestApp, n: u32) -> String {
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
    app.confirm_me(&token).await;
    token
}

/// Books `vehicle` for two hours from `start_min` minutes from now.
async fn book(app: &TestApp, token: &str, vehicle: &str, start_min: i64) -> Answer {
    app.post(
        "/v1/reservations",
        token,
        json!({"vehicle_id": vehicle, "start_at": in_minutes(start_min), "end_at": in_minutes(start_min + 120)}),
    )
    .await
}

/// The provider reference of the ledger's first entry of `kind`.
async fn provider_ref(app: &TestApp, reservation: &str, kind: EntryKind) -> String {
    let id: ReservationId = reservation.parse().expect("reservation id");
    let ledger = app
        .system()
        .services()
        .billing
        .ledger(id)
        .await
        .expect("ledger");
    ledger
        .iter()
        .find(|entry| entry.kind == kind)
        .and_then(|entry| entry.provider_ref.clone())
        .unwrap_or_else(|| panic!("no {kind:?} with a reference in {ledger:?}"))
}

async fn intent(stripe: &LocalStripe, id: &str) -> Value {
    stripe.get(&format!("/v1/payment_intents/{id}")).await
}

#[tokio::test]
async fn a_stripe_rental_holds_captures_charges_the_overtime_and_refunds_at_stripe() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let payment_method = stripe.payment_method("4242424242424242").await;

    let created = register(&app, 1, &payment_method).await.expect(201);
    let customer = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["card"]["last4"], "4242", "{created}");
    // The PaymentMethod is attached to a Stripe Customer that names ours.
    let method = stripe
        .get(&format!("/v1/payment_methods/{payment_method}"))
        .await;
    let stripe_customer = method["customer"].as_str().expect("attached").to_owned();
    let found = stripe
        .get(&format!("/v1/customers/{stripe_customer}"))
        .await;
    assert_eq!(found["metadata"]["customer_id"], customer.as_str());
    let token = login(&app, 1).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;

    // Book: a PaymentIntent for the hold, waiting for its capture.
    let booked = book(&app, &token, &vehicle, 0).await.expect(201);
    assert_eq!(booked["hold"]["amount_cents"], 6_000);
    let reservation = booked["id"].as_str().expect("id").to_owned();
    let hold = provider_ref(&app, &reservation, EntryKind::Hold).await;
    let held = intent(&stripe, &hold).await;
    assert_eq!(held["status"], "requires_capture", "{held}");
    assert_eq!(held["amount"], 6_000);
    assert_eq!(held["currency"], "brl");
    assert_eq!(held["capture_method"], "manual");
    assert_eq!(held["customer"], stripe_customer.as_str());
    assert_eq!(held["payment_method"], payment_method.as_str());

    // Drive the rental and finish it: the hold is captured.
    let path = format!("/v1/reservations/{reservation}");
    app.post(&format!("/v1/vehicles/{vehicle}/unlock"), &token, json!({}))
        .await
        .expect(200);
    app.post(&format!("/v1/vehicles/{vehicle}/lock"), &token, json!({}))
        .await
        .expect(200);
    let finished = app
        .post(&format!("{path}/finish"), &token, json!({}))
        .await
        .expect(200);
    assert_eq!(finished["reservation"]["total"]["amount_cents"], 6_000);
    let captured = intent(&stripe, &hold).await;
    assert_eq!(captured["status"], "succeeded", "{captured}");
    assert_eq!(captured["latest_charge"]["captured"], true);
    assert_eq!(captured["latest_charge"]["amount_refunded"], 0);

    // A refund of part of it is a Refund object on that intent, our operation in metadata.
    let id: ReservationId = reservation.parse().expect("id");
    let billing = &app.system().services().billing;
    let summary = billing.refund(id, 1_500).await.expect("refund");
    assert_eq!(summary.refunded_cents, 1_500);
    let refunded = intent(&stripe, &hold).await;
    assert_eq!(
        refunded["latest_charge"]["amount_refunded"], 1_500,
        "{refunded}"
    );
    let refunds = &refunded["latest_charge"]["refunds"]["data"];
    assert_eq!(refunds.as_array().map(Vec::len), Some(1), "{refunds}");
    assert!(
        refunds[0]["metadata"]["operation"]
            .as_str()
            .is_some_and(|key| key.starts_with(&reservation)),
        "{refunds}"
    );

    // A late return: the settlement captures the whole hold and charges the overtime as an
    // off-session payment of its own. (The clock of a test cannot run two hours late over
    // HTTP, so the total comes as the finish would send it.)
    let (late_vehicle, _) = app.vehicle(2, RATE).await;
    let late = book(&app, &token, &late_vehicle, 0).await.expect(201);
    let late_id: ReservationId = late["id"].as_str().expect("id").parse().expect("id");
    let overtime = 2_500;
    let settled = billing
        .settle(late_id, 6_000 + overtime)
        .await
        .expect("settled");
    assert_eq!(settled.captured_cents, 6_000);
    assert_eq!(settled.charged_cents, overtime);
    let late_hold = provider_ref(&app, &late_id.to_string(), EntryKind::Hold).await;
    let late_held = intent(&stripe, &late_hold).await;
    assert_eq!(late_held["status"], "succeeded");
    assert_eq!(late_held["latest_charge"]["amount_refunded"], 0);
    let extra = provider_ref(&app, &late_id.to_string(), EntryKind::Charge).await;
    assert_ne!(extra, late_hold);
    let charged = intent(&stripe, &extra).await;
    assert_eq!(charged["status"], "succeeded", "{charged}");
    assert_eq!(charged["amount"], overtime);
    assert_eq!(charged["capture_method"], "automatic");
    assert_eq!(charged["payment_method"], payment_method.as_str());
}

#[tokio::test]
async fn a_capture_below_the_hold_releases_the_rest_at_stripe() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let payment_method = stripe.payment_method("4242424242424242").await;
    register(&app, 1, &payment_method).await.expect(201);
    let token = login(&app, 1).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let booked = book(&app, &token, &vehicle, 0).await.expect(201);
    let id: ReservationId = booked["id"].as_str().expect("id").parse().expect("id");

    let settled = app
        .system()
        .services()
        .billing
        .settle(id, 4_000)
        .await
        .expect("settled");
    assert_eq!(settled.captured_cents, 4_000);
    let hold = provider_ref(&app, &id.to_string(), EntryKind::Hold).await;
    let captured = intent(&stripe, &hold).await;
    assert_eq!(captured["status"], "succeeded", "{captured}");
    // localstripe records the released part as a refund of the uncaptured amount.
    assert_eq!(
        captured["latest_charge"]["amount_refunded"], 2_000,
        "{captured}"
    );
}

#[tokio::test]
async fn a_cancelled_booking_cancels_its_payment_intent() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let payment_method = stripe.payment_method("4242424242424242").await;
    register(&app, 1, &payment_method).await.expect(201);
    let token = login(&app, 1).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;

    let booked = book(&app, &token, &vehicle, 60).await.expect(201);
    let reservation = booked["id"].as_str().expect("id").to_owned();
    let hold = provider_ref(&app, &reservation, EntryKind::Hold).await;
    assert_eq!(intent(&stripe, &hold).await["status"], "requires_capture");
    let cancelled = app
        .post(
            &format!("/v1/reservations/{reservation}/cancel"),
            &token,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert_eq!(intent(&stripe, &hold).await["status"], "canceled");
}

#[tokio::test]
async fn cards_declined_at_registration_or_at_the_hold_answer_402() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;

    // localstripe declines these already when they are attached.
    for (n, number) in [(1, "4000000000000002"), (2, "4000000000009995")] {
        let payment_method = stripe.payment_method(number).await;
        let problem = register(&app, n, &payment_method).await.expect_problem(402);
        assert!(problem["detail"].is_string(), "{problem}");
    }
    // An unknown PaymentMethod is no card.
    register(&app, 3, "pm_unknown").await.expect_problem(402);

    // This one attaches, and is declined when the hold is asked.
    let payment_method = stripe.payment_method("4000000000000341").await;
    register(&app, 4, &payment_method).await.expect(201);
    let token = login(&app, 4).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let problem = book(&app, &token, &vehicle, 0).await.expect_problem(402);
    assert!(problem["detail"].is_string(), "{problem}");
    // A card whose issuer wants the customer present (3-D Secure) cannot be held off-session.
    let payment_method = stripe.payment_method("4000002500003155").await;
    register(&app, 6, &payment_method).await.expect(201);
    let token = login(&app, 6).await;
    let problem = book(&app, &token, &vehicle, 0).await.expect_problem(402);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("authenticate")),
        "{problem}"
    );
    // The car is free again: nothing is held for the refused bookings.
    let (_, other_token) = {
        let other = stripe.payment_method("4242424242424242").await;
        let created = register(&app, 5, &other).await.expect(201);
        (created["id"].clone(), login(&app, 5).await)
    };
    book(&app, &other_token, &vehicle, 0).await.expect(201);
}

#[tokio::test]
async fn a_new_card_joins_the_same_stripe_customer_and_an_erasure_detaches_every_card() {
    let stripe = LocalStripe::start().await;
    let app = app_on(&stripe).await;
    let first = stripe.payment_method("4242424242424242").await;
    register(&app, 1, &first).await.expect(201);
    let token = login(&app, 1).await;
    let second = stripe.payment_method("5555555555554444").await;
    let changed = app
        .call(
            Method::PATCH,
            "/v1/customers/me",
            Some(&token),
            Some(json!({"card": {"token": second}})),
        )
        .await
        .expect(200);
    assert_eq!(changed["card"]["last4"], "4444", "{changed}");
    let owner = |method: Value| method["customer"].clone();
    let customer = owner(stripe.get(&format!("/v1/payment_methods/{first}")).await);
    assert!(customer.is_string(), "{customer}");
    assert_eq!(
        owner(stripe.get(&format!("/v1/payment_methods/{second}")).await),
        customer,
        "one Stripe Customer for both cards"
    );

    app.call(Method::DELETE, "/v1/customers/me", Some(&token), None)
        .await
        .expect(200);
    for method in [&first, &second] {
        let read = stripe.get(&format!("/v1/payment_methods/{method}")).await;
        assert_eq!(read["customer"], Value::Null, "{read}");
    }
    let customer = customer.as_str().expect("id");
    assert_eq!(
        stripe.status(&format!("/v1/customers/{customer}")).await,
        404
    );
}
