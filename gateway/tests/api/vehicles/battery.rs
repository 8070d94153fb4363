//! The fleet's battery rules over HTTP: the car's unit reports its charge with its fixes, and
//! the listings, the nearby search, the booking and the operators' list follow it. The
//! services run on a manual clock, so staleness is reached by moving it, not by waiting.

use super::*;

use actors::clock::{Clock, ManualClock};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Registers car `n` with a rated range of `range_km`: (vehicle id, device token).
async fn car_with_range(app: &TestApp, n: u32, range_km: f64) -> (String, String) {
    let created = app
        .post(
            "/v1/vehicles",
            &app.admin_token,
            json!({"plate": plate(n), "model": "BYD Dolphin", "year": 2025,
                   "hourly_rate_cents": RATE, "battery_kwh": 44.9, "range_km": range_km}),
        )
        .await
        .expect(201);
    assert_eq!(created["battery_state"], "unknown", "{created}");
    (
        created["id"].as_str().expect("id").to_owned(),
        created["device_token"].as_str().expect("token").to_owned(),
    )
}

/// The car's unit posts one fix at Centro, taken now on the services' clock. (The JSON fix
/// format carries no `charging` flag yet; the location tests cover it.)
async fn report(app: &TestApp, clock: &ManualClock, vehicle: &str, device: &str, battery: f64) {
    let fix = json!({"lat": CENTRO.0, "lon": CENTRO.1, "recorded_at": rfc3339(clock.now()),
                     "speed_kmh": 0.0, "battery_pct": battery});
    app.post(&format!("/v1/units/{vehicle}/positions"), device, fix)
        .await
        .expect(202);
}

async fn nearby_ids(app: &TestApp, token: &str) -> Vec<String> {
    let path = format!(
        "/v1/vehicles/nearby?lat={}&lon={}&radius_m=3000",
        CENTRO.0, CENTRO.1
    );
    let found = app.get(&path, token).await.expect(200);
    found
        .as_array()
        .expect("array")
        .iter()
        .map(|car| car["vehicle"]["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn free_ids(app: &TestApp, clock: &ManualClock, token: &str) -> Vec<String> {
    let (from, to) = (
        clock.now() + TimeDelta::hours(1),
        clock.now() + TimeDelta::hours(3),
    );
    let path = format!(
        "/v1/vehicles?available_from={}&available_to={}",
        rfc3339(from),
        rfc3339(to)
    );
    ids(&app.get(&path, token).await.expect(200))
}

/// POST /v1/reservations for `hours` hours starting half an hour from the services' now.
async fn book(
    app: &TestApp,
    clock: &ManualClock,
    token: &str,
    vehicle: &str,
    hours: i64,
) -> Answer {
    let start = clock.now() + TimeDelta::minutes(30);
    let body = json!({"vehicle_id": vehicle, "start_at": rfc3339(start),
                      "end_at": rfc3339(start + TimeDelta::hours(hours))});
    app.post("/v1/reservations", token, body).await
}

#[tokio::test]
async fn a_low_car_is_hidden_and_refused_until_it_recharges() {
    let (app, clock) = TestApp::spawn_with_manual_clock().await;
    let (_, customer) = app.customer(1, VISA).await;
    let (low, device) = car_with_range(&app, 1, 300.0).await;
    let (other, other_device) = car_with_range(&app, 2, 300.0).await;
    report(&app, &clock, &low, &device, 15.0).await;
    report(&app, &clock, &other, &other_device, 80.0).await;

    assert_eq!(nearby_ids(&app, &customer).await, [other.as_str()]);
    assert_eq!(free_ids(&app, &clock, &customer).await, [other.as_str()]);
    let shown = app
        .get(&format!("/v1/vehicles/{low}"), &customer)
        .await
        .expect(200);
    assert_eq!(shown["battery_state"], "low");
    assert_eq!(shown["battery_pct"], 15.0);
    assert_eq!(shown["charging"], Value::Null);
    assert_eq!(shown["estimated_range_km"], 45.0);
    assert_eq!(shown["range_km"], 300.0, "the rated range is unchanged");

    let refused = book(&app, &clock, &customer, &low, 2)
        .await
        .expect_problem(409);
    assert_eq!(refused["type"], "urn:ev-rental:problem:battery-low");
    assert_eq!(refused["battery_pct"], 15.0);
    assert_eq!(refused["min_battery_pct"], 25.0);
    assert!(
        refused["detail"].as_str().expect("detail").contains("15 %"),
        "{refused}"
    );

    // Operators see it; a customer asking gets nothing (an admin filter, as in reservations).
    let to_charge = app
        .get("/v1/vehicles?needs_charging=true", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(ids(&to_charge), [low.as_str()]);
    let as_customer = app
        .get("/v1/vehicles?needs_charging=true", &customer)
        .await
        .expect(200);
    assert_eq!(as_customer, json!({"items": [], "next_cursor": null}));

    // Charged: new fixes with a higher charge put it back on offer.
    clock.advance(TimeDelta::minutes(40));
    report(&app, &clock, &low, &device, 90.0).await;
    assert!(nearby_ids(&app, &customer).await.contains(&low));
    assert!(free_ids(&app, &clock, &customer).await.contains(&low));
    let to_charge = app
        .get("/v1/vehicles?needs_charging=true", &app.admin_token)
        .await
        .expect(200);
    assert!(ids(&to_charge).is_empty(), "{to_charge}");
    let booked = book(&app, &clock, &customer, &low, 2).await.expect(201);
    assert_eq!(booked["status"], "confirmed");
}

#[tokio::test]
async fn a_booking_longer_than_the_range_is_refused_with_the_figures() {
    let (app, clock) = TestApp::spawn_with_manual_clock().await;
    let (_, customer) = app.customer(1, VISA).await;
    // Rated 200 km at 60 %: about 120 km. Six hours at 25 km/h may need 150 km.
    let (car, device) = car_with_range(&app, 1, 200.0).await;
    report(&app, &clock, &car, &device, 60.0).await;

    let refused = book(&app, &clock, &customer, &car, 6)
        .await
        .expect_problem(409);
    assert_eq!(refused["type"], "urn:ev-rental:problem:battery-low");
    assert_eq!(refused["needed_km"], 150.0);
    assert_eq!(refused["available_km"], 120.0);
    let detail = refused["detail"].as_str().expect("detail");
    assert!(
        detail.contains("150 km") && detail.contains("120 km"),
        "{detail}"
    );

    // Four hours need 100 km: booked.
    book(&app, &clock, &customer, &car, 4).await.expect(201);
}

#[tokio::test]
async fn a_car_silent_for_longer_than_the_stale_limit_is_offered_and_flagged() {
    let (app, clock) = TestApp::spawn_with_manual_clock().await;
    let (_, customer) = app.customer(1, VISA).await;
    let (car, device) = car_with_range(&app, 1, 300.0).await;
    report(&app, &clock, &car, &device, 10.0).await;
    assert!(nearby_ids(&app, &customer).await.is_empty());

    clock.advance(TimeDelta::minutes(61));
    let path = format!(
        "/v1/vehicles/nearby?lat={}&lon={}&radius_m=3000",
        CENTRO.0, CENTRO.1
    );
    let found = app.get(&path, &customer).await.expect(200);
    let vehicle = &found[0]["vehicle"];
    assert_eq!(vehicle["id"], car.as_str(), "{found}");
    assert_eq!(vehicle["battery_state"], "unknown");
    assert_eq!(
        vehicle["battery_pct"], 10.0,
        "the last report stays visible"
    );
    assert_eq!(vehicle["estimated_range_km"], Value::Null);
    assert!(free_ids(&app, &clock, &customer).await.contains(&car));
    // Still a car for the operators: a parked car does not charge itself.
    let to_charge = app
        .get("/v1/vehicles?needs_charging=true", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(ids(&to_charge), [car.as_str()]);
    book(&app, &clock, &customer, &car, 2).await.expect(201);

    // A car that never reported is unknown too.
    let (quiet, _) = car_with_range(&app, 2, 300.0).await;
    let shown = app
        .get(&format!("/v1/vehicles/{quiet}"), &customer)
        .await
        .expect(200);
    assert_eq!(shown["battery_state"], "unknown");
    assert_eq!(shown["battery_pct"], Value::Null);
}
