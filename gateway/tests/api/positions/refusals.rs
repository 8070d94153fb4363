//! Fixes the services refuse whole: an oversized batch, another car's unit, a unit posting
//! too often.

use super::*;

#[tokio::test]
async fn a_batch_of_more_than_500_is_refused_whole() {
    let app = TestApp::spawn().await;
    let (vehicle, device) = app.vehicle(1, RATE).await;
    let t0 = Utc::now() - TimeDelta::hours(5);
    let batch = |count: i64| {
        Value::Array(
            (0..count)
                .map(|i| fix(CENTRO, t0 + TimeDelta::seconds(30 * i)))
                .collect(),
        )
    };

    let problem = app
        .post(&positions(&vehicle), &device, batch(501))
        .await
        .expect_problem(400);
    assert!(
        problem["detail"].as_str().unwrap().contains("at most 500"),
        "{problem}"
    );
    app.get(
        &format!("/v1/vehicles/{vehicle}/position"),
        &app.admin_token,
    )
    .await
    .expect_problem(404);

    let answer = app
        .post(&positions(&vehicle), &device, batch(500))
        .await
        .expect(202);
    assert_eq!(
        answer,
        json!({"accepted": 500, "duplicates": 0, "flagged": 0})
    );
}

#[tokio::test]
async fn only_the_cars_own_unit_may_post() {
    let app = TestApp::spawn().await;
    let (vehicle, device) = app.vehicle(1, RATE).await;
    let (other, other_device) = app.vehicle(2, RATE).await;
    let (_, customer) = app.customer(1, VISA).await;
    let body = fix(CENTRO, Utc::now());

    let problem = app
        .post(&positions(&vehicle), "not-the-token", body.clone())
        .await
        .expect_problem(401);
    assert_eq!(
        problem["detail"],
        "the device token does not belong to this vehicle"
    );
    app.post(&positions(&vehicle), &other_device, body.clone())
        .await
        .expect_problem(401);
    app.post(&positions(&vehicle), &customer, body.clone())
        .await
        .expect_problem(401);
    app.post(&positions(&vehicle), &app.admin_token, body.clone())
        .await
        .expect_problem(401);
    app.call(Method::POST, &positions(&vehicle), None, Some(body.clone()))
        .await
        .expect_problem(401);
    // An unknown car looks the same as a wrong token.
    let unknown = uuid::Uuid::now_v7();
    app.post(&positions(&unknown.to_string()), &device, body.clone())
        .await
        .expect_problem(401);
    app.post("/v1/units/nope/positions", &device, body.clone())
        .await
        .expect_problem(400);
    app.get(
        &format!("/v1/vehicles/{vehicle}/position"),
        &app.admin_token,
    )
    .await
    .expect_problem(404);

    app.post(&positions(&vehicle), &device, body.clone())
        .await
        .expect(202);
    app.post(&positions(&other), &other_device, body)
        .await
        .expect(202);
}

#[tokio::test]
async fn a_unit_posting_too_often_is_told_to_wait() {
    let app = TestApp::spawn_with(|config| config.server.device_requests_per_min = 3).await;
    let (vehicle, device) = app.vehicle(1, RATE).await;
    let (other, other_device) = app.vehicle(2, RATE).await;
    let t0 = Utc::now() - TimeDelta::minutes(5);

    // Wrong credentials do not use up the car's allowance.
    for _ in 0..3 {
        app.post(&positions(&vehicle), "forged", fix(CENTRO, t0))
            .await
            .expect_problem(401);
    }
    for i in 0..3 {
        app.post(
            &positions(&vehicle),
            &device,
            fix(CENTRO, t0 + TimeDelta::seconds(30 * i)),
        )
        .await
        .expect(202);
    }
    let answer = app
        .post(
            &positions(&vehicle),
            &device,
            fix(CENTRO, t0 + TimeDelta::seconds(120)),
        )
        .await;
    let retry_after: u64 = answer
        .headers
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=21).contains(&retry_after), "{retry_after}");
    let problem = answer.expect_problem(429);
    assert_eq!(problem["type"], "urn:ev-rental:problem:rate-limited");
    // The limit is per car.
    app.post(&positions(&other), &other_device, fix(CENTRO, t0))
        .await
        .expect(202);
}
