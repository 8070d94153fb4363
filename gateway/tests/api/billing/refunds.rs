//! Operators' refunds: bounded by what was paid, idempotent with the Idempotency-Key header,
//! with a reason written on the charge record and counted in the audit.

use super::*;

async fn refund(app: &TestApp, token: &str, id: &str, key: Option<&str>, body: Value) -> Answer {
    let mut request = app
        .client
        .post(app.url(&format!("/v1/reservations/{id}/refunds")))
        .bearer_auth(token)
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    Answer::read(request.send().await.expect("request sent")).await
}

#[tokio::test]
async fn an_operator_refunds_once_per_key_within_what_was_paid_with_a_reason() {
    let app = TestApp::spawn().await;
    let (id, customer_token) = finished_rental(&app, 1).await;
    let admin = app.admin_token.clone();
    let body = json!({"amount_cents": 1_500, "reason": "the car was not clean"});

    let refunded = refund(&app, &admin, &id, Some("r-1"), body.clone())
        .await
        .expect(200);
    assert_eq!(refunded["refunded_cents"], 1_500);
    assert_eq!(refunded["captured_cents"], 6_000);
    let replay = refund(&app, &admin, &id, Some("r-1"), body.clone())
        .await
        .expect(200);
    assert_eq!(replay["refunded_cents"], 1_500, "the same key refunds once");
    let other = json!({"amount_cents": 1_000, "reason": "the car was not clean"});
    let mismatch = refund(&app, &admin, &id, Some("r-1"), other)
        .await
        .expect_problem(422);
    assert_eq!(
        mismatch["type"],
        "urn:ev-rental:problem:idempotency-mismatch"
    );

    let too_much = refund(
        &app,
        &admin,
        &id,
        Some("r-2"),
        json!({"amount_cents": 4_501, "reason": "goodwill"}),
    )
    .await
    .expect_problem(422);
    assert_eq!(too_much["refundable_cents"], 4_500);
    for bad in [
        json!({"amount_cents": 0, "reason": "goodwill"}),
        json!({"amount_cents": 100, "reason": "  "}),
        json!({"amount_cents": 100, "reason": "x".repeat(201)}),
    ] {
        refund(&app, &admin, &id, None, bad)
            .await
            .expect_problem(422);
    }
    refund(&app, &customer_token, &id, None, body.clone())
        .await
        .expect_problem(403);
    refund(
        &app,
        &admin,
        "0195f3a2-7c1e-7d3a-9b4e-2f6c8a1d5e90",
        None,
        body.clone(),
    )
    .await
    .expect_problem(404);

    let rest = refund(
        &app,
        &admin,
        &id,
        Some("r-3"),
        json!({"amount_cents": 4_500, "reason": "x".repeat(200)}),
    )
    .await
    .expect(200);
    assert_eq!(rest["refunded_cents"], 6_000);

    let records = charges(&app, &id).await;
    let refunds: Vec<_> = records
        .iter()
        .filter(|entry| entry["kind"] == "refund")
        .map(|entry| (entry["amount_cents"].clone(), entry["note"].clone()))
        .collect();
    assert_eq!(
        refunds,
        [
            (json!(1_500), json!("the car was not clean")),
            (json!(4_500), json!("x".repeat(200)))
        ]
    );
    let audit = audit(&app).await;
    assert_eq!(audit["payment_events"]["operator_refund"], 2, "{audit}");
    assert_eq!(audit["violations"], json!([]));
}

#[tokio::test]
async fn a_refund_before_anything_was_captured_is_refused() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let created = app
        .post("/v1/reservations", &token, booking(&vehicle))
        .await
        .expect(201);
    let id = created["id"].as_str().expect("id");
    let refused = refund(
        &app,
        &app.admin_token,
        id,
        None,
        json!({"amount_cents": 100, "reason": "goodwill"}),
    )
    .await
    .expect_problem(422);
    assert_eq!(refused["refundable_cents"], 0);
}
