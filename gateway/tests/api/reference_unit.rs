//! The reference car unit (`simulator::unit`) against the real server: both sides of the
//! protocol, over real HTTP and a real WebSocket.

use std::time::Duration;

use crate::helpers::*;
use serde_json::json;
use simulator::unit::{DoorState, Fix, UnitClient, UnitConfig};

#[tokio::test]
async fn the_reference_unit_reports_and_obeys_through_a_whole_rental() {
    let app = TestApp::spawn_ws(|_| {}).await;
    let (_, customer) = app.customer(1, VISA).await;
    let (vehicle, token) = app.vehicle(1, 3_000).await;

    let unit = UnitClient::spawn(UnitConfig::new(
        app.url(""),
        vehicle.parse().unwrap(),
        token,
    ))
    .unwrap();
    unit.wait_connected(Duration::from_secs(5)).await.unwrap();
    unit.report(Fix {
        lat: -27.6005,
        lon: -48.5196,
        recorded_at: chrono::Utc::now(),
        speed_kmh: Some(0.0),
        heading_deg: None,
        battery_pct: Some(76.0),
    })
    .unwrap();
    let position = loop {
        let answer = app
            .get(&format!("/v1/vehicles/{vehicle}/position"), &customer)
            .await;
        if answer.status == 200 {
            break answer.body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(position["lat"], -27.6005);

    let reservation = app
        .post(
            "/v1/reservations",
            &customer,
            json!({"vehicle_id": vehicle, "start_at": in_minutes(0), "end_at": in_minutes(120)}),
        )
        .await
        .expect(201);
    let id = reservation["id"].as_str().unwrap();

    app.post(
        &format!("/v1/vehicles/{vehicle}/unlock"),
        &customer,
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(unit.doors(), DoorState::Unlocked);
    app.post(
        &format!("/v1/vehicles/{vehicle}/lock"),
        &customer,
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(unit.doors(), DoorState::Locked);
    app.post(
        &format!("/v1/vehicles/{vehicle}/unlock"),
        &customer,
        json!({}),
    )
    .await
    .expect(200);

    let finished = app
        .post(
            &format!("/v1/reservations/{id}/finish"),
            &customer,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(finished["reservation"]["status"], "completed");
    assert_eq!(unit.doors(), DoorState::Locked);

    let stats = unit.stats();
    assert_eq!(stats.commands_executed, 4, "{stats:?}");
    assert_eq!(stats.acks_sent, 4, "{stats:?}");
    assert_eq!(stats.fixes_sent, 1, "{stats:?}");
    unit.shutdown().await.unwrap();
}
