//! The track of a car: who may read it (the admins, and renters within their rental only),
//! and the location routes' OpenAPI part.

use super::*;

/// Posts fixes of the parked car at the given instants.
async fn report(app: &TestApp, vehicle: &str, device: &str, instants: &[DateTime<Utc>]) {
    let batch: Vec<Value> = instants.iter().map(|at| fix(CENTRO, *at)).collect();
    let answer = app
        .post(&positions(vehicle), device, Value::Array(batch))
        .await
        .expect(202);
    assert_eq!(answer["accepted"], instants.len(), "{answer}");
    assert_eq!(answer["flagged"], 0, "{answer}");
}

#[tokio::test]
async fn the_track_is_the_admins_and_the_renters_for_their_rental_only() {
    let app = TestApp::spawn().await;
    let (vehicle, device) = app.vehicle(1, RATE).await;
    let (_, renter) = app.customer(1, VISA).await;
    let (_, stranger) = app.customer(2, VISA).await;

    // Before the rental.
    let before = [
        Utc::now() - TimeDelta::minutes(20),
        Utc::now() - TimeDelta::minutes(10),
    ];
    report(&app, &vehicle, &device, &before).await;

    // The rental: from now, unlocked, driven (parked fixes), released.
    let start = Utc::now();
    let reservation = app
        .post(
            "/v1/reservations",
            &renter,
            json!({"vehicle_id": vehicle, "start_at": time(start), "end_at": time(start + TimeDelta::hours(2))}),
        )
        .await
        .expect(201);
    let reservation = reservation["id"].as_str().unwrap().to_owned();
    // Before any unlock the renter already sees their window (empty so far).
    let span = format!(
        "from={}&to={}",
        query_time(Utc::now() - TimeDelta::hours(1)),
        query_time(Utc::now() + TimeDelta::hours(3))
    );
    let track_path = format!("/v1/vehicles/{vehicle}/track?{span}");
    let early = app.get(&track_path, &renter).await.expect(200);
    assert_eq!(early["items"], json!([]), "{early}");

    app.post(
        &format!("/v1/vehicles/{vehicle}/unlock"),
        &renter,
        json!({}),
    )
    .await
    .expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let during = [Utc::now() - TimeDelta::milliseconds(10), Utc::now()];
    report(&app, &vehicle, &device, &during).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.post(
        &format!("/v1/reservations/{reservation}/finish"),
        &renter,
        json!({}),
    )
    .await
    .expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // After the release, still inside the reserved window.
    let after = [Utc::now()];
    report(&app, &vehicle, &device, &after).await;

    // The admin sees everything, in time order.
    let all = app.get(&track_path, &app.admin_token).await.expect(200);
    let times = recorded(&all["items"]);
    assert_eq!(times.len(), 5, "{all}");
    for (text, at) in times.iter().zip(before.iter().chain(&during).chain(&after)) {
        assert!(same_time(text, *at), "{times:?}");
    }

    // The renter sees only their rental, from its start to the release.
    let own = app.get(&track_path, &renter).await.expect(200);
    let times = recorded(&own["items"]);
    assert_eq!(times.len(), 2, "{own}");
    for (text, at) in times.iter().zip(&during) {
        assert!(same_time(text, *at), "{times:?}");
    }
    // Narrowed by the span asked for.
    let narrow = format!(
        "/v1/vehicles/{vehicle}/track?from={}&to={}",
        query_time(during[1]),
        query_time(during[1] + TimeDelta::minutes(5))
    );
    let own = app.get(&narrow, &renter).await.expect(200);
    assert_eq!(recorded(&own["items"]).len(), 1, "{own}");
    // A span entirely before the rental: nothing, but not hidden.
    let earlier = format!(
        "/v1/vehicles/{vehicle}/track?from={}&to={}",
        query_time(before[0] - TimeDelta::minutes(1)),
        query_time(before[1] + TimeDelta::minutes(1))
    );
    assert_eq!(
        app.get(&earlier, &renter).await.expect(200)["items"],
        json!([])
    );
    assert_eq!(
        recorded(&app.get(&earlier, &app.admin_token).await.expect(200)["items"]).len(),
        2
    );

    // Someone who never rented the car: as if it did not exist.
    let problem = app.get(&track_path, &stranger).await.expect_problem(404);
    assert_eq!(problem["detail"], "no such vehicle");
    // A cancelled reservation gives no access either.
    let (other_car, _) = app.vehicle(2, RATE).await;
    let booked = app
        .post(
            "/v1/reservations",
            &stranger,
            json!({"vehicle_id": other_car, "start_at": in_minutes(60), "end_at": in_minutes(180)}),
        )
        .await
        .expect(201);
    app.post(
        &format!("/v1/reservations/{}/cancel", booked["id"].as_str().unwrap()),
        &stranger,
        json!({}),
    )
    .await
    .expect(200);
    app.get(&format!("/v1/vehicles/{other_car}/track?{span}"), &stranger)
        .await
        .expect_problem(404);

    // Bad spans, unknown cars, no token.
    let backwards = format!(
        "/v1/vehicles/{vehicle}/track?from={}&to={}",
        query_time(Utc::now()),
        query_time(Utc::now() - TimeDelta::hours(1))
    );
    for token in [&app.admin_token, &renter] {
        let problem = app.get(&backwards, token).await.expect_problem(422);
        assert!(problem["errors"]["to"].is_string(), "{problem}");
    }
    app.get(&format!("/v1/vehicles/{vehicle}/track"), &app.admin_token)
        .await
        .expect_problem(400);
    app.get(
        &format!("/v1/vehicles/{vehicle}/track?from=yesterday&to=today"),
        &app.admin_token,
    )
    .await
    .expect_problem(400);
    let unknown = uuid::Uuid::now_v7();
    app.get(
        &format!("/v1/vehicles/{unknown}/track?{span}"),
        &app.admin_token,
    )
    .await
    .expect_problem(404);
    app.call(Method::GET, &track_path, None, None)
        .await
        .expect_problem(401);
}

#[test]
fn the_openapi_part_documents_every_location_route() {
    let part = assert_documented(&[
        (
            "/v1/units/{vehicle_id}/positions",
            "post",
            &["202", "400", "401", "429"][..],
        ),
        (
            "/v1/vehicles/{id}/position",
            "get",
            &["200", "401", "404"][..],
        ),
        (
            "/v1/vehicles/{id}/track",
            "get",
            &["200", "400", "401", "404", "422"][..],
        ),
    ]);
    let post = &part["paths"]["/v1/units/{vehicle_id}/positions"]["post"];
    assert_eq!(post["security"], json!([{"device": []}]));
    for schema in [
        "PositionFix",
        "PositionsBody",
        "IngestDto",
        "RejectedBatchDto",
        "FixDto",
        "TrackDto",
    ] {
        assert!(
            part["components"]["schemas"][schema].is_object(),
            "{schema}"
        );
    }
}
