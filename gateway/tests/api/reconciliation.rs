//! Reconciliation over HTTP: after a whole rental the day's ledger and the sandbox agree.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_days_rentals_reconcile_with_the_provider() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(51, VISA).await;
    let (vehicle, _) = app.vehicle(51, 3_000).await;
    let rental = app
        .post(
            "/v1/reservations",
            &token,
            json!({"vehicle_id": vehicle, "start_at": in_minutes(0), "end_at": in_minutes(120)}),
        )
        .await
        .expect(201);
    app.post(&format!("/v1/vehicles/{vehicle}/unlock"), &token, json!({}))
        .await
        .expect(200);
    app.post(&format!("/v1/vehicles/{vehicle}/lock"), &token, json!({}))
        .await
        .expect(200);
    let path = format!("/v1/reservations/{}/finish", rental["id"].as_str().unwrap());
    app.post(&path, &token, json!({})).await.expect(200);

    let today = chrono::Utc::now().date_naive();
    let day = app
        .get(
            &format!("/v1/billing/reconciliation?date={today}"),
            &app.admin_token,
        )
        .await
        .expect(200);
    assert_eq!(day["provider_listed"], true, "{day}");
    assert!(day["matched"].as_u64().unwrap() >= 1, "{day}");
    assert_eq!(day["differences"], json!([]), "{day}");

    app.get(
        "/v1/billing/reconciliation?date=01-12-2026",
        &app.admin_token,
    )
    .await
    .expect_problem(400);
    app.call(
        Method::GET,
        &format!("/v1/billing/reconciliation?date={today}"),
        Some(&token),
        None,
    )
    .await
    .expect_problem(403);
}
