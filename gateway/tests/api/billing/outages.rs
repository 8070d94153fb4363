//! The payment provider down: a booking answers 503 with Retry-After and holds nothing, and
//! its retry with the same key books once the provider is back; a release completes with the
//! capture pending; readiness says the provider is unavailable once the circuit opens.

use super::*;

#[tokio::test]
async fn a_booking_while_the_provider_is_down_is_503_and_its_retry_with_the_same_key_books() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let outage = app.system().services().billing.provider_outage().clone();
    outage.set_down(true);
    let body = booking(&vehicle);
    let refused = reserve_with_key(&app, &token, "outage-key", &body).await;
    let retry_after = refused
        .headers
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    assert!(
        retry_after.is_some_and(|seconds| seconds >= 1),
        "{:?}",
        refused.headers
    );
    let problem = refused.expect_problem(503);
    assert_eq!(problem["type"], "urn:ev-rental:problem:unavailable");
    let mine = app.get("/v1/reservations", &token).await.expect(200);
    assert_eq!(
        mine["items"],
        json!([]),
        "nothing booked, not even rejected"
    );
    assert_eq!(audit(&app).await["open_holds"], 0, "nothing held");

    outage.set_down(false);
    let booked = reserve_with_key(&app, &token, "outage-key", &body)
        .await
        .expect(201);
    assert_eq!(booked["status"], "confirmed");
    let again = reserve_with_key(&app, &token, "outage-key", &body)
        .await
        .expect(201);
    assert_eq!(again["id"], booked["id"]);
    let id = booked["id"].as_str().expect("id");
    let kinds: Vec<_> = charges(&app, id)
        .await
        .iter()
        .map(|entry| entry["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("hold")], "one hold");
}

#[tokio::test]
async fn a_release_while_the_provider_is_down_completes_with_the_capture_pending() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let created = app
        .post("/v1/reservations", &token, booking(&vehicle))
        .await
        .expect(201);
    let id = created["id"].as_str().expect("id");
    app.post(&format!("/v1/vehicles/{vehicle}/unlock"), &token, json!({}))
        .await
        .expect(200);
    app.system()
        .services()
        .billing
        .provider_outage()
        .set_down(true);
    let finished = app
        .post(&format!("/v1/reservations/{id}/finish"), &token, json!({}))
        .await
        .expect(200);
    assert_eq!(finished["reservation"]["status"], "completed");
    assert_eq!(finished["charge"]["status"], "pending");
    assert_eq!(finished["charge"]["captured_cents"], 0);
}

#[tokio::test]
async fn readiness_stays_200_and_says_when_the_provider_circuit_is_open() {
    let app = TestApp::spawn().await;
    let ready = app.get("/readyz", &app.admin_token).await.expect(200);
    assert_eq!(ready["payment_provider"], "available");
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    app.system()
        .services()
        .billing
        .provider_outage()
        .set_down(true);
    for attempt in 0..actors::billing::FAILURES_TO_OPEN {
        reserve_with_key(&app, &token, &format!("k{attempt}"), &booking(&vehicle))
            .await
            .expect_problem(503);
    }
    let ready = app.get("/readyz", &app.admin_token).await.expect(200);
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["payment_provider"], "unavailable");
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("ev_rental_payment_provider_circuit_open"),
        "the gauge is exported"
    );
}
