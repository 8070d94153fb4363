//! Extending a reservation over HTTP: the new end with everything held, and each refusal.

use super::*;

/// POST /v1/reservations/{id}/extend to `minutes` after `base`.
async fn extend(
    app: &TestApp,
    token: &str,
    reservation: &str,
    base: chrono::DateTime<chrono::Utc>,
    minutes: i64,
) -> Answer {
    let end_at = (base + chrono::TimeDelta::minutes(minutes)).to_rfc3339();
    app.post(
        &format!("/v1/reservations/{reservation}/extend"),
        token,
        json!({ "end_at": end_at }),
    )
    .await
}

#[tokio::test]
async fn an_extension_answers_the_new_end_and_everything_held() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let base = chrono::Utc::now();
    let at = |minutes: i64| (base + chrono::TimeDelta::minutes(minutes)).to_rfc3339();
    let body = json!({"vehicle_id": vehicle, "start_at": at(60), "end_at": at(180)});
    let reservation = id(&reserve(&app, &token, body).await.expect(201));

    let extended = extend(&app, &token, &reservation, base, 240)
        .await
        .expect(200);
    assert_eq!(extended["id"], reservation.as_str());
    assert_eq!(extended["status"], "confirmed");
    let end = chrono::DateTime::parse_from_rfc3339(extended["end_at"].as_str().unwrap())
        .expect("RFC 3339");
    assert_eq!(end, base + chrono::TimeDelta::minutes(240));
    assert_eq!(
        extended["hold"],
        json!({"amount_cents": 3 * RATE, "currency": "BRL"})
    );
    let read = app
        .get(&format!("/v1/reservations/{reservation}"), &token)
        .await
        .expect(200);
    assert_eq!(read["end_at"], extended["end_at"]);
    let charges = app
        .get(&format!("/v1/reservations/{reservation}/charges"), &token)
        .await
        .expect(200);
    assert_eq!(kinds(&charges), ["hold", "hold"]);
    assert_eq!(charges["items"][1]["amount_cents"], RATE);
}

#[tokio::test]
async fn a_taken_car_a_long_reservation_a_refused_card_and_a_stranger_are_refused() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(1, VISA).await;
    let (_, other) = app.customer(2, VISA).await;
    let (vehicle, _) = app.vehicle(1, RATE).await;
    let base = chrono::Utc::now();
    let at = |minutes: i64| (base + chrono::TimeDelta::minutes(minutes)).to_rfc3339();
    let mine = json!({"vehicle_id": vehicle, "start_at": at(60), "end_at": at(180)});
    let reservation = id(&reserve(&app, &token, mine).await.expect(201));
    let theirs = json!({"vehicle_id": vehicle, "start_at": at(240), "end_at": at(360)});
    reserve(&app, &other, theirs).await.expect(201);

    let busy = extend(&app, &token, &reservation, base, 300)
        .await
        .expect_problem(409);
    assert_eq!(busy["type"], "urn:ev-rental:problem:vehicle-busy");
    let too_long = extend(&app, &token, &reservation, base, 60 + 6 * 60 + 1)
        .await
        .expect_problem(422);
    assert_eq!(too_long["type"], "urn:ev-rental:problem:validation");
    assert!(too_long["errors"]["end_at"].is_string(), "{too_long}");
    let earlier = extend(&app, &token, &reservation, base, 150)
        .await
        .expect_problem(422);
    assert!(earlier["errors"]["end_at"].is_string(), "{earlier}");
    extend(&app, &other, &reservation, base, 200)
        .await
        .expect_problem(404);
    app.post(
        &format!("/v1/reservations/{reservation}/extend"),
        &token,
        json!({"end_at": at(200), "start_at": at(0)}),
    )
    .await
    .expect_problem(400);

    // The customer's card now refuses holds: 402, and nothing changed.
    app.call(
        Method::PATCH,
        "/v1/customers/me",
        Some(&token),
        Some(json!({"card": {"number": DECLINED, "exp_month": 12, "exp_year": 2030, "cvc": "123", "holder_name": "MARIA DA SILVA"}})),
    )
    .await
    .expect(200);
    let declined = extend(&app, &token, &reservation, base, 200)
        .await
        .expect_problem(402);
    assert_eq!(declined["type"], "urn:ev-rental:problem:payment-declined");
    let read = app
        .get(&format!("/v1/reservations/{reservation}"), &token)
        .await
        .expect(200);
    let end = chrono::DateTime::parse_from_rfc3339(read["end_at"].as_str().unwrap()).unwrap();
    assert_eq!(end, base + chrono::TimeDelta::minutes(180));
    assert_eq!(read["hold"]["amount_cents"], 2 * RATE);
    let charges = app
        .get(&format!("/v1/reservations/{reservation}/charges"), &token)
        .await
        .expect(200);
    assert_eq!(kinds(&charges), ["hold", "hold_declined"]);
}

#[test]
fn the_route_is_documented_for_customers() {
    let document = assert_documented(&[(
        "/v1/reservations/{id}/extend",
        "post",
        &["200", "400", "402", "404", "409", "422"],
    )]);
    assert_eq!(
        document["paths"]["/v1/reservations/{id}/extend"]["post"]["x-roles"],
        json!(["customer"])
    );
}
