//! Load shedding and the request timeout over real HTTP.

use crate::helpers::*;
use actors::locks::UnitBehaviour;
use serde_json::json;

/// A reservation starting now for a car whose unit never answers: its unlock request hangs until
/// the command expires (2 s in tests).
async fn hanging_unlock(app: &TestApp, n: u32) -> (String, String) {
    let (_, customer) = app.customer(n, VISA).await;
    let (vehicle, _) = app.vehicle(n, 3_000).await;
    app.post(
        "/v1/reservations",
        &customer,
        json!({"vehicle_id": vehicle, "start_at": in_minutes(0), "end_at": in_minutes(120)}),
    )
    .await
    .expect(201);
    app.units()
        .set_behaviour(vehicle.parse().unwrap(), UnitBehaviour::Silent);
    (vehicle, customer)
}

#[tokio::test]
async fn beyond_the_concurrency_limit_requests_are_shed_with_503_and_retry_after() {
    let app = TestApp::spawn_with(|config| config.server.max_concurrent_requests = 1).await;
    let (vehicle, customer) = hanging_unlock(&app, 1).await;
    let client = app.client.clone();
    let url = app.url(&format!("/v1/vehicles/{vehicle}/unlock"));
    let busy = tokio::spawn(async move {
        client
            .post(url)
            .bearer_auth(customer)
            .send()
            .await
            .unwrap()
            .status()
    });
    // The one permit is taken once the unlock waits for its (silent) unit.
    app.until_a_command_waits(&vehicle).await;

    let shed = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(shed.status(), 503);
    assert_eq!(shed.headers()["retry-after"], "1");
    assert_eq!(shed.headers()["content-type"], "application/problem+json");

    assert_eq!(
        busy.await.unwrap(),
        504,
        "the hanging unlock ends when its command expires"
    );
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_request_running_past_the_timeout_is_answered_504() {
    let app = TestApp::spawn_with(|config| config.server.request_timeout_s = 1).await;
    let (vehicle, customer) = hanging_unlock(&app, 2).await;
    let started = std::time::Instant::now();
    let problem = app
        .post(
            &format!("/v1/vehicles/{vehicle}/unlock"),
            &customer,
            json!({}),
        )
        .await
        .expect_problem(504);
    assert_eq!(
        problem["type"], "urn:ev-rental:problem:timeout",
        "the server's timeout, not the car's: {problem}"
    );
    assert!(started.elapsed() < std::time::Duration::from_millis(1_900));
}
