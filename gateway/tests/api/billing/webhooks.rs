//! The providers' webhooks: signatures checked as the providers document them (valid, wrong
//! secret, stale timestamp, replay), and Stripe's events applied to the charge's ledger.

use actors::billing::signatures::{mercadopago_manifest, sign};

use super::*;

const STRIPE_SECRET: &str = "whsec_test_0123456789";
const MP_SECRET: &str = "mp-webhook-secret";

async fn app_with_secrets() -> TestApp {
    TestApp::spawn_with(|config| {
        config.billing.stripe_webhook_secret = STRIPE_SECRET.into();
        config.billing.mercadopago_webhook_secret = MP_SECRET.into();
    })
    .await
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn stripe(app: &TestApp, body: &Value, secret: &str, at: i64) -> Answer {
    let raw = body.to_string();
    let signature = format!(
        "t={at},v1={}",
        sign(secret, format!("{at}.{raw}").as_bytes())
    );
    let response = app
        .client
        .post(app.url("/v1/billing/webhooks/stripe"))
        .header("content-type", "application/json")
        .header("Stripe-Signature", signature)
        .body(raw)
        .send()
        .await
        .expect("sent");
    Answer::read(response).await
}

fn event(id: &str, kind: &str, object: Value) -> Value {
    json!({"id": id, "object": "event", "type": kind, "data": {"object": object}})
}

/// The provider's reference of the reservation's hold.
async fn hold_ref(app: &TestApp, id: &str) -> String {
    charges(app, id).await[0]["provider_ref"]
        .as_str()
        .expect("hold reference")
        .to_owned()
}

#[tokio::test]
async fn stripe_signatures_are_checked_before_anything_is_read() {
    let app = app_with_secrets().await;
    let body = event(
        "evt_unknown_kind",
        "customer.created",
        json!({"id": "cus_1"}),
    );
    let ok = stripe(&app, &body, STRIPE_SECRET, now()).await.expect(200);
    assert_eq!(ok["outcome"], "ignored");
    let replay = stripe(&app, &body, STRIPE_SECRET, now()).await.expect(200);
    assert_eq!(replay["outcome"], "duplicate");
    stripe(&app, &body, "whsec_wrong", now())
        .await
        .expect_problem(401);
    stripe(&app, &body, STRIPE_SECRET, now() - 6 * 60)
        .await
        .expect_problem(401);
    let unsigned = app
        .client
        .post(app.url("/v1/billing/webhooks/stripe"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("sent");
    Answer::read(unsigned).await.expect_problem(401);
    // Signed, but over another body than the one sent.
    let at = now();
    let signature = format!(
        "t={at},v1={}",
        sign(STRIPE_SECRET, format!("{at}.{{}}").as_bytes())
    );
    let tampered = app
        .client
        .post(app.url("/v1/billing/webhooks/stripe"))
        .header("Stripe-Signature", signature)
        .body(body.to_string())
        .send()
        .await
        .expect("sent");
    Answer::read(tampered).await.expect_problem(401);
}

#[tokio::test]
async fn without_a_configured_secret_no_webhook_is_accepted() {
    let app = TestApp::spawn().await;
    let body = event("evt_1", "customer.created", json!({}));
    stripe(&app, &body, "", now()).await.expect_problem(401);
}

#[tokio::test]
async fn a_refund_made_in_stripes_dashboard_is_recorded_once_and_ours_are_not_doubled() {
    let app = app_with_secrets().await;
    let (id, _) = finished_rental(&app, 1).await;
    let payment = hold_ref(&app, &id).await;
    let admin = app.admin_token.clone();
    app.post(
        &format!("/v1/reservations/{id}/refunds"),
        &admin,
        json!({"amount_cents": 1_000, "reason": "goodwill"}),
    )
    .await
    .expect(200);
    // Stripe reports our own refund: nothing to record.
    let ours = event(
        "evt_ours",
        "charge.refunded",
        json!({"id": "ch_1", "payment_intent": payment, "amount_refunded": 1_000}),
    );
    let answer = stripe(&app, &ours, STRIPE_SECRET, now()).await.expect(200);
    assert_eq!(answer["outcome"], "unchanged");
    // Then 500 more refunded from the dashboard.
    let dashboard = event(
        "evt_dashboard",
        "charge.refunded",
        json!({"id": "ch_1", "payment_intent": payment, "amount_refunded": 1_500}),
    );
    let answer = stripe(&app, &dashboard, STRIPE_SECRET, now())
        .await
        .expect(200);
    assert_eq!(answer["outcome"], "applied");
    let replay = stripe(&app, &dashboard, STRIPE_SECRET, now())
        .await
        .expect(200);
    assert_eq!(replay["outcome"], "duplicate");
    let refunds: Vec<_> = charges(&app, &id)
        .await
        .into_iter()
        .filter(|entry| entry["kind"] == "refund")
        .map(|entry| (entry["amount_cents"].clone(), entry["note"].clone()))
        .collect();
    assert_eq!(
        refunds,
        [
            (json!(1_000), json!("goodwill")),
            (json!(500), json!("refunded at the provider"))
        ]
    );
    let audit = audit(&app).await;
    assert_eq!(audit["payment_events"]["provider_refund"], 1, "{audit}");
    assert_eq!(audit["violations"], json!([]));
    // An event about a payment that is not ours is acknowledged.
    let foreign = event(
        "evt_foreign",
        "charge.refunded",
        json!({"id": "ch_2", "payment_intent": "pi_elsewhere", "amount_refunded": 100}),
    );
    let answer = stripe(&app, &foreign, STRIPE_SECRET, now())
        .await
        .expect(200);
    assert_eq!(answer["outcome"], "unknown_payment");
}

#[tokio::test]
async fn a_hold_cancelled_at_stripe_and_a_dispute_land_in_the_ledger_and_the_audit() {
    let app = app_with_secrets().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let later = json!({"vehicle_id": vehicle, "start_at": in_minutes(24 * 60), "end_at": in_minutes(24 * 60 + 120)});
    let booked = app
        .post("/v1/reservations", &token, later)
        .await
        .expect(201);
    let id = booked["id"].as_str().expect("id").to_owned();
    let hold = hold_ref(&app, &id).await;
    let cancelled = event(
        "evt_cancel",
        "payment_intent.canceled",
        json!({"id": hold, "cancellation_reason": "automatic"}),
    );
    let answer = stripe(&app, &cancelled, STRIPE_SECRET, now())
        .await
        .expect(200);
    assert_eq!(answer["outcome"], "applied");
    let records = charges(&app, &id).await;
    assert_eq!(records.last().expect("entry")["kind"], "void");
    assert_eq!(
        records.last().expect("entry")["note"],
        "cancelled at the provider: automatic"
    );
    let again = event(
        "evt_cancel_2",
        "payment_intent.canceled",
        json!({"id": hold}),
    );
    let answer = stripe(&app, &again, STRIPE_SECRET, now()).await.expect(200);
    assert_eq!(answer["outcome"], "unchanged");

    let (paid, _) = finished_rental(&app, 2).await;
    let payment = hold_ref(&app, &paid).await;
    let dispute = event(
        "evt_dispute",
        "charge.dispute.created",
        json!({"id": "dp_1", "charge": "ch_9", "payment_intent": payment, "amount": 6_000, "reason": "fraudulent"}),
    );
    let answer = stripe(&app, &dispute, STRIPE_SECRET, now())
        .await
        .expect(200);
    assert_eq!(answer["outcome"], "applied");
    let audit = audit(&app).await;
    assert_eq!(audit["incidents"]["payment_dispute"], 1, "{audit}");
    assert_eq!(
        audit["incidents"]["hold_cancelled_at_provider"], 1,
        "{audit}"
    );
    assert_eq!(audit["payment_events"]["payment_dispute"], 1, "{audit}");
}

/// Posts `body` to the Mercado Pago webhook about payment `data_id`, signed with `secret` at
/// `ts` as Mercado Pago signs it (shared with the Mercado Pago rental tests).
pub(crate) async fn mercadopago(
    app: &TestApp,
    data_id: &str,
    request_id: &str,
    body: &Value,
    secret: &str,
    ts: i64,
) -> Answer {
    let manifest = mercadopago_manifest(Some(data_id), Some(request_id), &ts.to_string());
    let signature = format!("ts={ts},v1={}", sign(secret, manifest.as_bytes()));
    let response = app
        .client
        .post(app.url(&format!(
            "/v1/billing/webhooks/mercadopago?data.id={data_id}&type=payment"
        )))
        .header("content-type", "application/json")
        .header("x-signature", signature)
        .header("x-request-id", request_id)
        .body(body.to_string())
        .send()
        .await
        .expect("sent");
    Answer::read(response).await
}

#[tokio::test]
async fn mercadopago_notifications_are_verified_over_their_manifest_and_deduplicated() {
    let app = app_with_secrets().await;
    let body = json!({
        "id": 112_233_445_566_i64, "live_mode": false, "type": "payment",
        "action": "payment.updated", "data": {"id": "1234567890"}
    });
    let ok = mercadopago(&app, "1234567890", "req-1", &body, MP_SECRET, now())
        .await
        .expect(200);
    // A payment no charge of ours names.
    assert_eq!(ok["outcome"], "unknown_payment");
    let replay = mercadopago(&app, "1234567890", "req-2", &body, MP_SECRET, now())
        .await
        .expect(200);
    assert_eq!(replay["outcome"], "duplicate");
    mercadopago(&app, "1234567890", "req-3", &body, "wrong", now())
        .await
        .expect_problem(401);
    mercadopago(
        &app,
        "1234567890",
        "req-4",
        &body,
        MP_SECRET,
        now() - 6 * 60,
    )
    .await
    .expect_problem(401);
    // The signature covers the query's data.id: another payment id does not verify.
    let ts = now();
    let manifest = mercadopago_manifest(Some("1234567890"), Some("req-5"), &ts.to_string());
    let signature = format!("ts={ts},v1={}", sign(MP_SECRET, manifest.as_bytes()));
    let moved = app
        .client
        .post(app.url("/v1/billing/webhooks/mercadopago?data.id=999&type=payment"))
        .header("x-signature", signature)
        .header("x-request-id", "req-5")
        .body(body.to_string())
        .send()
        .await
        .expect("sent");
    Answer::read(moved).await.expect_problem(401);
}
