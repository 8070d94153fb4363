//! Listing the fleet: pages and the status filter, availability over a window, and the
//! nearby search.

use super::*;

#[tokio::test]
async fn the_list_pages_with_a_cursor_and_filters_by_status() {
    let app = TestApp::spawn().await;
    let (_, customer) = app.customer(1, VISA).await;
    let (first, _) = app.vehicle(1, RATE).await;
    let (second, _) = app.vehicle(2, RATE).await;
    let (third, _) = app.vehicle(3, RATE).await;

    let page = app.get("/v1/vehicles?limit=2", &customer).await.expect(200);
    assert_eq!(ids(&page), [first.clone(), second.clone()]);
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let page = app
        .get(&format!("/v1/vehicles?limit=2&cursor={cursor}"), &customer)
        .await
        .expect(200);
    assert_eq!(ids(&page), std::slice::from_ref(&third));
    assert_eq!(page["next_cursor"], Value::Null);

    // Default page size holds all three.
    let page = app.get("/v1/vehicles", &app.admin_token).await.expect(200);
    assert_eq!(ids(&page), [first.clone(), second.clone(), third.clone()]);
    assert_eq!(page["next_cursor"], Value::Null);

    app.call(
        Method::PATCH,
        &format!("/v1/vehicles/{second}"),
        Some(&app.admin_token),
        Some(json!({"status": "maintenance"})),
    )
    .await
    .expect(200);
    let page = app
        .get("/v1/vehicles?status=maintenance", &customer)
        .await
        .expect(200);
    assert_eq!(ids(&page), std::slice::from_ref(&second));
    let page = app
        .get("/v1/vehicles?status=available", &customer)
        .await
        .expect(200);
    assert_eq!(ids(&page), [first.clone(), third.clone()]);
    let page = app
        .get("/v1/vehicles?status=retired", &customer)
        .await
        .expect(200);
    assert_eq!(ids(&page), Vec::<String>::new());

    // Bad parameters.
    for query in [
        "limit=0",
        "limit=201",
        "cursor=nope",
        "status=parked",
        "colour=red",
        "limit=two",
    ] {
        app.get(&format!("/v1/vehicles?{query}"), &customer)
            .await
            .expect_problem(400);
    }
    app.call(Method::GET, "/v1/vehicles", None, None)
        .await
        .expect_problem(401);
}

#[tokio::test]
async fn the_availability_filter_leaves_out_booked_cars_and_cars_in_maintenance() {
    let app = TestApp::spawn().await;
    let (_, customer) = app.customer(1, VISA).await;
    let (booked, _) = app.vehicle(1, RATE).await;
    let (free, _) = app.vehicle(2, RATE).await;
    let (repairing, _) = app.vehicle(3, RATE).await;
    let (also_free, _) = app.vehicle(4, RATE).await;
    app.call(
        Method::PATCH,
        &format!("/v1/vehicles/{repairing}"),
        Some(&app.admin_token),
        Some(json!({"status": "maintenance"})),
    )
    .await
    .expect(200);
    app.post(
        "/v1/reservations",
        &customer,
        json!({"vehicle_id": booked, "start_at": in_minutes(60), "end_at": in_minutes(180)}),
    )
    .await
    .expect(201);

    // Overlapping the booking.
    let window = format!("available_from={}&available_to={}", at(90), at(150));
    let page = app
        .get(&format!("/v1/vehicles?{window}"), &customer)
        .await
        .expect(200);
    assert_eq!(ids(&page), [free.clone(), also_free.clone()]);
    // Paged.
    let page = app
        .get(&format!("/v1/vehicles?{window}&limit=1"), &customer)
        .await
        .expect(200);
    assert_eq!(ids(&page), std::slice::from_ref(&free));
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let page = app
        .get(
            &format!("/v1/vehicles?{window}&limit=1&cursor={cursor}"),
            &customer,
        )
        .await
        .expect(200);
    assert_eq!(ids(&page), std::slice::from_ref(&also_free));
    assert_eq!(page["next_cursor"], Value::Null);
    // Free again after the booking ends.
    let later = format!("available_from={}&available_to={}", at(200), at(320));
    let page = app
        .get(&format!("/v1/vehicles?{later}"), &customer)
        .await
        .expect(200);
    assert_eq!(
        ids(&page),
        [booked.clone(), free.clone(), also_free.clone()]
    );
    // An offset with `+` is fine when encoded.
    let start = (chrono::Utc::now() + chrono::TimeDelta::minutes(90))
        .to_rfc3339()
        .replace('+', "%2B");
    let end = (chrono::Utc::now() + chrono::TimeDelta::minutes(150))
        .to_rfc3339()
        .replace('+', "%2B");
    let page = app
        .get(
            &format!("/v1/vehicles?available_from={start}&available_to={end}"),
            &customer,
        )
        .await
        .expect(200);
    assert_eq!(ids(&page), [free.clone(), also_free.clone()]);
    // With a status: only `available` can be free.
    let page = app
        .get(
            &format!("/v1/vehicles?{window}&status=available"),
            &customer,
        )
        .await
        .expect(200);
    assert_eq!(ids(&page), [free.clone(), also_free.clone()]);
    let page = app
        .get(
            &format!("/v1/vehicles?{window}&status=maintenance"),
            &customer,
        )
        .await
        .expect(200);
    assert_eq!(ids(&page), Vec::<String>::new());

    // Both ends or neither; the end after the start.
    let problem = app
        .get(
            &format!("/v1/vehicles?available_from={}", at(90)),
            &customer,
        )
        .await
        .expect_problem(422);
    assert!(problem["errors"]["available_to"].is_string(), "{problem}");
    let problem = app
        .get(&format!("/v1/vehicles?available_to={}", at(90)), &customer)
        .await
        .expect_problem(422);
    assert!(problem["errors"]["available_from"].is_string(), "{problem}");
    let problem = app
        .get(
            &format!(
                "/v1/vehicles?available_from={}&available_to={}",
                at(150),
                at(90)
            ),
            &customer,
        )
        .await
        .expect_problem(422);
    assert!(problem["errors"]["available_to"].is_string(), "{problem}");
    app.get(
        "/v1/vehicles?available_from=tomorrow&available_to=later",
        &customer,
    )
    .await
    .expect_problem(400);
}

#[tokio::test]
async fn nearby_finds_parked_available_cars_nearest_first() {
    let app = TestApp::spawn().await;
    let (_, customer) = app.customer(1, VISA).await;
    let (close, close_device) = app.vehicle(1, RATE).await;
    let (farther, farther_device) = app.vehicle(2, 4_000).await;
    let (repairing, repairing_device) = app.vehicle(3, RATE).await;
    let (far_away, far_device) = app.vehicle(4, RATE).await;
    let (booked, booked_device) = app.vehicle(5, RATE).await;
    let (_never_reported, _) = app.vehicle(6, RATE).await;
    park(&app, &close, &close_device, (-27.5956, -48.5482)).await;
    park(&app, &farther, &farther_device, (-27.5990, -48.5440)).await;
    park(&app, &repairing, &repairing_device, (-27.5955, -48.5481)).await;
    // Campeche, about 12 km away.
    park(&app, &far_away, &far_device, (-27.6847, -48.4836)).await;
    park(&app, &booked, &booked_device, (-27.5957, -48.5483)).await;
    app.call(
        Method::PATCH,
        &format!("/v1/vehicles/{repairing}"),
        Some(&app.admin_token),
        Some(json!({"status": "maintenance"})),
    )
    .await
    .expect(200);
    let (_, renter) = app.customer(2, VISA).await;
    app.post(
        "/v1/reservations",
        &renter,
        json!({"vehicle_id": booked, "start_at": in_minutes(30), "end_at": in_minutes(150)}),
    )
    .await
    .expect(201);

    let path = format!("/v1/vehicles/nearby?lat={}&lon={}", CENTRO.0, CENTRO.1);
    let found = app.get(&path, &customer).await.expect(200);
    let found = found.as_array().expect("a JSON array");
    let vehicles: Vec<&str> = found
        .iter()
        .map(|item| item["vehicle"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(vehicles, [close.as_str(), farther.as_str()], "{found:?}");
    let distances: Vec<f64> = found
        .iter()
        .map(|item| item["distance_m"].as_f64().unwrap())
        .collect();
    assert!(
        distances[0] < 50.0 && distances[0] < distances[1] && distances[1] < 2_000.0,
        "{distances:?}"
    );
    assert_eq!(found[0]["position"]["lat"], -27.5956);
    assert_eq!(found[0]["position"]["lon"], -48.5482);
    assert_eq!(found[0]["position"]["flagged"], false);
    assert_eq!(found[1]["vehicle"]["hourly_rate_cents"], 4_000);
    assert_eq!(found[1]["vehicle"]["currency"], "BRL");

    // A wider radius reaches Campeche; a limit cuts the list.
    let found = app
        .get(&format!("{path}&radius_m=20000"), &app.admin_token)
        .await
        .expect(200);
    let vehicles: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["vehicle"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        vehicles,
        [close.as_str(), farther.as_str(), far_away.as_str()]
    );
    let found = app
        .get(&format!("{path}&limit=1"), &customer)
        .await
        .expect(200);
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["vehicle"]["id"], close.as_str());

    // Outside the service area (Palhoça), bad parameters, no token.
    let problem = app
        .get("/v1/vehicles/nearby?lat=-27.6453&lon=-48.6697", &customer)
        .await
        .expect_problem(422);
    assert_eq!(
        problem["type"],
        "urn:ev-rental:problem:outside-service-area"
    );
    let problem = app
        .get(&format!("{path}&radius_m=0"), &customer)
        .await
        .expect_problem(422);
    assert!(problem["errors"]["radius_m"].is_string(), "{problem}");
    let problem = app
        .get(&format!("{path}&limit=500"), &customer)
        .await
        .expect_problem(422);
    assert!(problem["errors"]["limit"].is_string(), "{problem}");
    app.get("/v1/vehicles/nearby?lat=-27.59", &customer)
        .await
        .expect_problem(400);
    app.get("/v1/vehicles/nearby?lat=north&lon=-48.5", &customer)
        .await
        .expect_problem(400);
    app.call(Method::GET, &path, None, None)
        .await
        .expect_problem(401);
}
