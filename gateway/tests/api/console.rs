//! The operators' console over HTTP: the root page's links, the console's files under a strict
//! Content-Security-Policy, its settings, and the fleet overview it draws (admins only), whose
//! states follow a rental through its window and past its end on the manual clock.

use actors::clock::Clock;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::helpers::*;

fn policy(answer: &Answer) -> String {
    answer
        .headers
        .get("content-security-policy")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn raw(app: &TestApp, path: &str) -> (u16, String, String, String) {
    let response = app.client.get(app.url(path)).send().await.expect("request");
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (media, csp) = (header("content-type"), header("content-security-policy"));
    (status, media, csp, response.text().await.expect("body"))
}

#[tokio::test]
async fn the_root_page_links_the_docs_and_the_console_and_every_page_has_a_strict_policy() {
    let app = TestApp::spawn().await;
    let (status, media, csp, body) = raw(&app, "/").await;
    assert_eq!(status, 200);
    assert!(media.starts_with("text/html"), "{media}");
    assert!(body.contains("href=\"/docs\"") && body.contains("href=\"/console\""));
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );

    let (status, media, csp, body) = raw(&app, "/console").await;
    assert_eq!(status, 200);
    assert!(media.starts_with("text/html"));
    assert!(body.contains("/console/app.js"));
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe"),
        "{csp}"
    );
    for (file, kind) in [
        ("app.js", "text/javascript"),
        ("stream.js", "text/javascript"),
        ("console.css", "text/css"),
    ] {
        let (status, media, _, _) = raw(&app, &format!("/console/{file}")).await;
        assert_eq!(status, 200, "{file}");
        assert!(media.starts_with(kind), "{file}: {media}");
    }
    let (status, ..) = raw(&app, "/console/../Cargo.toml").await;
    assert_eq!(status, 404);
    let (status, ..) = raw(&app, "/console/secrets.js").await;
    assert_eq!(status, 404);

    let (status, _, _, settings) = raw(&app, "/console/settings.json").await;
    assert_eq!(status, 200);
    let settings: Value = serde_json::from_str(&settings).expect("json");
    assert!(settings["service_area"].as_array().expect("area").len() >= 4);
    assert!(
        settings["neighbourhoods"]
            .as_array()
            .expect("places")
            .iter()
            .any(|place| place["name"] == "Centro")
    );
}

#[tokio::test]
async fn a_tile_server_is_allowed_for_images_only() {
    let app = TestApp::spawn_with(|config| {
        config.console.tile_url = "https://tiles.example.com/{z}/{x}/{y}.png".into();
    })
    .await;
    let answer = app.get("/console", "").await;
    let csp = policy(&answer);
    assert!(
        csp.contains("img-src 'self' data: https://tiles.example.com;"),
        "{csp}"
    );
    assert!(csp.contains("connect-src 'self';"), "{csp}");
}

#[tokio::test]
async fn only_operators_read_the_fleet_overview() {
    let app = TestApp::spawn().await;
    let (_, customer) = app.customer(1, VISA).await;
    app.get("/v1/fleet/overview", "").await.expect_problem(401);
    app.get("/v1/fleet/overview", &customer)
        .await
        .expect_problem(403);
    let overview = app
        .get("/v1/fleet/overview", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(overview["cars"], json!([]));
}

fn car<'a>(overview: &'a Value, id: &str) -> &'a Value {
    overview["cars"]
        .as_array()
        .expect("cars")
        .iter()
        .find(|car| car["id"] == id)
        .expect("the car is listed")
}

#[tokio::test]
async fn a_car_is_reserved_in_use_then_late_and_its_renter_is_named_by_initial() {
    let (app, clock) = TestApp::spawn_with_manual_clock().await;
    let (_, customer) = app.customer(1, VISA).await;
    let (rented, device) = app.vehicle(1, 3_000).await;
    let (idle, _) = app.vehicle(2, 3_000).await;
    let now: DateTime<Utc> = clock.now();
    let fix = json!({"lat": -27.5954, "lon": -48.548, "recorded_at": now.to_rfc3339(), "speed_kmh": 0.0, "battery_pct": 80.0});
    app.post(&format!("/v1/units/{rented}/positions"), &device, fix)
        .await
        .expect(202);
    let start = now + TimeDelta::minutes(5);
    let end = start + TimeDelta::hours(2);
    let booking =
        json!({"vehicle_id": rented, "start_at": start.to_rfc3339(), "end_at": end.to_rfc3339()});
    let reservation = app
        .post("/v1/reservations", &customer, booking)
        .await
        .expect(201);

    let overview = app
        .get("/v1/fleet/overview", &app.admin_token)
        .await
        .expect(200);
    let shown = car(&overview, &rented);
    assert_eq!(shown["state"], "reserved", "{shown}");
    assert_eq!(shown["rental"]["reservation_id"], reservation["id"]);
    assert_eq!(shown["rental"]["customer"], "Maria S.");
    assert_eq!(shown["position"]["lat"], -27.5954);
    assert_eq!(shown["battery_pct"], 80.0);
    // A unit that cannot be reached shows offline, whatever else the car is.
    assert_eq!(car(&overview, &idle)["state"], "available");
    assert_eq!(car(&overview, &idle)["rental"], Value::Null);
    let idle_id: actors::ids::VehicleId = idle.parse().expect("id");
    app.units()
        .set_behaviour(idle_id, actors::testing::UnitBehaviour::Offline);
    let overview = app
        .get("/v1/fleet/overview", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(car(&overview, &idle)["state"], "offline");
    assert_eq!(car(&overview, &idle)["unit_connected"], false);

    clock.advance(TimeDelta::minutes(6));
    app.post(
        &format!("/v1/vehicles/{rented}/unlock"),
        &customer,
        json!({}),
    )
    .await
    .expect(200);
    let overview = app
        .get("/v1/fleet/overview", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(car(&overview, &rented)["state"], "in_use");
    assert_eq!(overview["counts"]["in_use"], 1);
    assert_eq!(overview["counts"]["offline"], 1);

    clock.advance(TimeDelta::hours(2));
    let overview = app
        .get("/v1/fleet/overview", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(car(&overview, &rented)["state"], "late");
    assert_eq!(overview["pending_commands"], json!([]));
}
