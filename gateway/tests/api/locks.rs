//! Unlocking and locking over HTTP: only the renter inside the window, and only once the car's
//! unit acknowledges (silent → 504, refusing → 502); finishing a rental answers both as 409
//! `lock-failed`.

use crate::helpers::*;

use std::time::{Duration, Instant};

use actors::ids::VehicleId;
use actors::locks::UnitBehaviour;
use reqwest::Method;
use serde_json::{Value, json};

const RATE: i64 = 3_000;

/// Books `vehicle` for the customer from now for two hours: the reservation's id.
async fn reserve_now(app: &TestApp, token: &str, vehicle: &str) -> String {
    let created = app
        .post(
            "/v1/reservations",
            token,
            json!({"vehicle_id": vehicle, "start_at": in_minutes(0), "end_at": in_minutes(120)}),
        )
        .await
        .expect(201);
    assert_eq!(created["status"], "confirmed");
    created["id"].as_str().unwrap().to_owned()
}

async fn status_of(app: &TestApp, token: &str, reservation: &str) -> Value {
    app.get(&format!("/v1/reservations/{reservation}"), token)
        .await
        .expect(200)["status"]
        .clone()
}

fn unit(vehicle: &str) -> VehicleId {
    vehicle.parse().unwrap()
}

#[tokio::test]
async fn the_renter_unlocks_and_locks_and_gets_the_command() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let reservation = reserve_now(&app, &token, &vehicle).await;

    let opened = app
        .post(&format!("/v1/vehicles/{vehicle}/unlock"), &token, json!({}))
        .await
        .expect(200);
    assert_eq!(opened["state"], "done");
    assert_eq!(opened["action"], "unlock");
    assert_eq!(opened["vehicle_id"], vehicle.as_str());
    assert_eq!(opened["reservation_id"], reservation.as_str());
    assert_eq!(status_of(&app, &token, &reservation).await, "active");

    let closed = app
        .post(&format!("/v1/vehicles/{vehicle}/lock"), &token, json!({}))
        .await
        .expect(200);
    assert_eq!(closed["state"], "done");
    assert_eq!(closed["action"], "lock");
    // Locking during the rental does not end it.
    assert_eq!(status_of(&app, &token, &reservation).await, "active");

    // The unit received exactly these two commands, with the ids answered.
    let delivered = app.units().delivered();
    let ids: Vec<String> = delivered
        .iter()
        .filter(|(car, _)| *car == unit(&vehicle))
        .map(|(_, command)| command.command_id.to_string())
        .collect();
    assert_eq!(
        ids,
        [
            opened["command_id"].as_str().unwrap(),
            closed["command_id"].as_str().unwrap()
        ]
    );
}

#[tokio::test]
async fn tokens_and_roles_are_checked() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, device_token) = app.vehicle(1, RATE).await;
    reserve_now(&app, &token, &vehicle).await;
    for action in ["unlock", "lock"] {
        let path = format!("/v1/vehicles/{vehicle}/{action}");
        app.call(Method::POST, &path, None, None)
            .await
            .expect_problem(401);
        app.post(&path, "garbage", json!({}))
            .await
            .expect_problem(401);
        // The car's own credential is not a customer's token.
        app.post(&path, &device_token, json!({}))
            .await
            .expect_problem(401);
        app.post(&path, &app.admin_token, json!({}))
            .await
            .expect_problem(403);
        app.post(
            &format!("/v1/vehicles/not-a-uuid/{action}"),
            &token,
            json!({}),
        )
        .await
        .expect_problem(400);
    }
    assert!(app.units().delivered().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn without_a_reservation_of_the_car_it_is_409() {
    let app = TestApp::spawn().await;
    let (_, renter) = app.customer(1, VISA).await;
    let (_, stranger) = app.customer(2, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let (other_car, _) = app.vehicle(2, RATE).await;

    // Nobody has booked anything yet.
    let problem = app
        .post(
            &format!("/v1/vehicles/{vehicle}/unlock"),
            &renter,
            json!({}),
        )
        .await
        .expect_problem(409);
    assert_eq!(problem["type"], "urn:ev-rental:problem:no-access");

    let reservation = reserve_now(&app, &renter, &vehicle).await;
    // Someone else's reservation does not open the car for a stranger.
    for action in ["unlock", "lock"] {
        let problem = app
            .post(
                &format!("/v1/vehicles/{vehicle}/{action}"),
                &stranger,
                json!({}),
            )
            .await
            .expect_problem(409);
        assert_eq!(problem["type"], "urn:ev-rental:problem:no-access");
    }
    // Nor does the renter's reservation open another car, or a car that does not exist.
    app.post(
        &format!("/v1/vehicles/{other_car}/unlock"),
        &renter,
        json!({}),
    )
    .await
    .expect_problem(409);
    app.post(
        &format!("/v1/vehicles/{}/unlock", uuid::Uuid::now_v7()),
        &renter,
        json!({}),
    )
    .await
    .expect_problem(409);
    assert_eq!(status_of(&app, &renter, &reservation).await, "confirmed");
    assert!(app.units().delivered().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn before_the_window_it_is_409() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let created = app
        .post(
            "/v1/reservations",
            &token,
            json!({"vehicle_id": vehicle, "start_at": in_minutes(60), "end_at": in_minutes(180)}),
        )
        .await
        .expect(201);
    let problem = app
        .post(&format!("/v1/vehicles/{vehicle}/unlock"), &token, json!({}))
        .await
        .expect_problem(409);
    assert_eq!(problem["type"], "urn:ev-rental:problem:no-access");
    assert!(
        problem["detail"].as_str().unwrap().contains("window"),
        "{problem}"
    );
    assert_eq!(
        status_of(&app, &token, created["id"].as_str().unwrap()).await,
        "confirmed"
    );
}

#[tokio::test]
async fn a_silent_unit_is_504_after_the_expiry_and_the_reservation_stays_confirmed() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let reservation = reserve_now(&app, &token, &vehicle).await;
    app.units()
        .set_behaviour(unit(&vehicle), UnitBehaviour::Silent);

    let started = Instant::now();
    let problem = app
        .post(&format!("/v1/vehicles/{vehicle}/unlock"), &token, json!({}))
        .await
        .expect_problem(504);
    let waited = started.elapsed();
    assert_eq!(problem["type"], "urn:ev-rental:problem:car-timeout");
    assert!(
        waited >= Duration::from_millis(1_500),
        "answered after {waited:?}, before the command expired"
    );
    assert!(waited < Duration::from_secs(10), "took {waited:?}");
    assert_eq!(status_of(&app, &token, &reservation).await, "confirmed");
    assert_eq!(app.units().delivered().len(), 1, "the command was sent");

    // The unit comes back: the next try works and makes the reservation active.
    app.units()
        .set_behaviour(unit(&vehicle), UnitBehaviour::Obey);
    app.post(&format!("/v1/vehicles/{vehicle}/unlock"), &token, json!({}))
        .await
        .expect(200);
    assert_eq!(status_of(&app, &token, &reservation).await, "active");
}

#[tokio::test]
async fn a_second_command_while_one_waits_is_409() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    reserve_now(&app, &token, &vehicle).await;
    app.units()
        .set_behaviour(unit(&vehicle), UnitBehaviour::Silent);

    let unlock = format!("/v1/vehicles/{vehicle}/unlock");
    let waiting = app.post(&unlock, &token, json!({}));
    // The second tap comes once the first unlock is with the (silent) unit.
    let second = async {
        app.until_a_command_waits(&vehicle).await;
        app.post(&unlock, &token, json!({})).await
    };
    let (waiting, second) = tokio::join!(waiting, second);
    let problem = second.expect_problem(409);
    assert_eq!(problem["type"], "urn:ev-rental:problem:command-in-progress");
    waiting.expect_problem(504);
}

#[tokio::test]
async fn a_refusing_unit_is_502_with_its_reason() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let reservation = reserve_now(&app, &token, &vehicle).await;
    app.units()
        .set_behaviour(unit(&vehicle), UnitBehaviour::Refuse("door jammed".into()));

    let problem = app
        .post(&format!("/v1/vehicles/{vehicle}/unlock"), &token, json!({}))
        .await
        .expect_problem(502);
    assert_eq!(problem["type"], "urn:ev-rental:problem:car-failed");
    assert!(
        problem["detail"].as_str().unwrap().contains("door jammed"),
        "{problem}"
    );
    assert_eq!(status_of(&app, &token, &reservation).await, "confirmed");
}

#[tokio::test]
async fn finishing_with_a_silent_unit_is_409_lock_failed_and_can_be_retried() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let reservation = reserve_now(&app, &token, &vehicle).await;
    app.post(&format!("/v1/vehicles/{vehicle}/unlock"), &token, json!({}))
        .await
        .expect(200);
    assert_eq!(status_of(&app, &token, &reservation).await, "active");

    app.units()
        .set_behaviour(unit(&vehicle), UnitBehaviour::Silent);
    let finish = format!("/v1/reservations/{reservation}/finish");
    let problem = app
        .post(&finish, &token, json!({}))
        .await
        .expect_problem(409);
    assert_eq!(problem["type"], "urn:ev-rental:problem:lock-failed");
    assert_eq!(status_of(&app, &token, &reservation).await, "active");
    let charges = app
        .get(&format!("/v1/reservations/{reservation}/charges"), &token)
        .await
        .expect(200);
    let kinds: Vec<&str> = charges["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["hold"], "nothing was captured");

    app.units()
        .set_behaviour(unit(&vehicle), UnitBehaviour::Obey);
    let finished = app.post(&finish, &token, json!({})).await.expect(200);
    assert_eq!(finished["reservation"]["status"], "completed");
    assert_eq!(finished["charge"]["status"], "captured");
    assert_eq!(finished["charge"]["captured_cents"], 6_000);

    // Released: the car no longer answers to this renter.
    let problem = app
        .post(&format!("/v1/vehicles/{vehicle}/lock"), &token, json!({}))
        .await
        .expect_problem(409);
    assert_eq!(problem["type"], "urn:ev-rental:problem:no-access");
}

#[tokio::test]
async fn finishing_with_a_refusing_unit_is_409_lock_failed_and_the_rental_goes_on() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let reservation = reserve_now(&app, &token, &vehicle).await;
    app.post(&format!("/v1/vehicles/{vehicle}/unlock"), &token, json!({}))
        .await
        .expect(200);
    app.units()
        .set_behaviour(unit(&vehicle), UnitBehaviour::Refuse("window open".into()));
    app.post(
        &format!("/v1/reservations/{reservation}/finish"),
        &token,
        json!({}),
    )
    .await
    .expect_problem(409);
    assert_eq!(status_of(&app, &token, &reservation).await, "active");
}

#[tokio::test]
async fn the_next_renter_is_told_the_car_is_not_back_while_the_previous_rental_runs() {
    // A start may lie an hour in the past, and the grace is almost two hours: the next
    // renter's grace has begun while the first rental is under way.
    let app = TestApp::spawn_with(|config| {
        config.rental.start_tolerance_s = 3_600;
        config.rental.unlock_grace_min = 119;
    })
    .await;
    let (_, first) = app.customer(1, VISA).await;
    let (_, second) = app.customer(2, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let window = |from: i64| json!({"vehicle_id": vehicle, "start_at": in_minutes(from), "end_at": in_minutes(from + 120)});
    app.post("/v1/reservations", &first, window(-59))
        .await
        .expect(201);
    app.post("/v1/reservations", &second, window(62))
        .await
        .expect(201);
    let unlock = format!("/v1/vehicles/{vehicle}/unlock");
    app.post(&unlock, &first, json!({})).await.expect(200);

    let problem = app
        .post(&unlock, &second, json!({}))
        .await
        .expect_problem(409);
    assert_eq!(problem["type"], "urn:ev-rental:problem:car-not-returned");
    assert!(
        problem["detail"].as_str().unwrap().contains("not back"),
        "{problem}"
    );
    assert!(
        app.units()
            .delivered()
            .iter()
            .all(|(_, command)| command.action == actors::locks::LockAction::Unlock)
            && app.units().delivered().len() == 1,
        "only the first renter's unlock reached the car"
    );
}
