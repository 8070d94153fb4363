//! `GET /v1/audit` and the clock `GET /healthz` reports, over real HTTP.

use crate::helpers::*;

use actors::locks::UnitLink;
use serde_json::json;

#[tokio::test]
async fn the_audit_checks_a_finished_rental_and_is_for_admins_only() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, 3_000).await;
    let booked = app
        .post(
            "/v1/reservations",
            &token,
            json!({"vehicle_id": vehicle, "start_at": in_minutes(0), "end_at": in_minutes(120)}),
        )
        .await
        .expect(201);
    let reservation = booked["id"].as_str().unwrap().to_owned();

    let during = app.get("/v1/audit", &app.admin_token).await.expect(200);
    assert_eq!(during["open_holds"], 1, "{during}");
    assert_eq!(during["reservations_by_status"]["confirmed"], 1);

    app.post(&format!("/v1/vehicles/{vehicle}/unlock"), &token, json!({}))
        .await
        .expect(200);
    app.post(
        &format!("/v1/reservations/{reservation}/finish"),
        &token,
        json!({}),
    )
    .await
    .expect(200);

    let after = app.get("/v1/audit", &app.admin_token).await.expect(200);
    assert_eq!(after["violations"], json!([]), "{after}");
    assert_eq!(after["open_holds"], 0);
    assert_eq!(after["unlocks_checked"], 1);
    assert_eq!(after["charges"], 1);
    assert_eq!(after["reservations_by_status"]["completed"], 1);

    app.get("/v1/audit", &token).await.expect_problem(403);
}

#[tokio::test]
async fn healthz_tells_the_services_time_and_pace() {
    let real = TestApp::spawn().await;
    let health = real
        .call(reqwest::Method::GET, "/healthz", None, None)
        .await
        .expect(200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["clock_speedup"], 1);
    let time: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(health["time"].clone()).unwrap();
    assert!((chrono::Utc::now() - time).num_seconds().abs() < 60);
}

#[tokio::test]
async fn a_staging_server_can_run_an_accelerated_clock() {
    let mut config = actors::Config::default();
    config.server.clock_speedup = 600;
    let options = gateway::server::ServerOptions::for_config(&config, UnitLink::remote());
    assert_eq!(options.clock.speedup(), 600);
    let before = options.clock.now();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let elapsed = options.clock.now() - before;
    assert!(elapsed >= chrono::TimeDelta::seconds(60), "{elapsed}");

    config.server.clock_speedup = 1;
    assert_eq!(
        gateway::server::ServerOptions::for_config(&config, UnitLink::remote())
            .clock
            .speedup(),
        1
    );
}
