//! A car's `tracker_id`: set and cleared by admins, unique in the fleet, long enough not to
//! be guessed, and never shown to customers.

use super::*;

const TRACKER: &str = "traccar-phone.0123456789_ABC";

#[tokio::test]
async fn admins_set_a_unique_tracker_id_that_customers_never_see() {
    let app = TestApp::spawn().await;
    let (first, _) = app.vehicle(1, RATE).await;
    let (second, _) = app.vehicle(2, RATE).await;
    let (_, customer) = app.customer(1, VISA).await;
    let app = &app;
    let patch = |vehicle: &str, token: &str, body: Value| {
        let path = format!("/v1/vehicles/{vehicle}");
        let token = token.to_owned();
        async move {
            app.call(Method::PATCH, &path, Some(&token), Some(body))
                .await
        }
    };

    let read = app
        .get(&format!("/v1/vehicles/{first}"), &app.admin_token)
        .await
        .expect(200);
    assert_eq!(
        read["tracker_id"],
        Value::Null,
        "admins see that there is none"
    );
    assert!(read.as_object().expect("object").contains_key("tracker_id"));

    let changed = patch(&first, &app.admin_token, json!({"tracker_id": TRACKER}))
        .await
        .expect(200);
    assert_eq!(changed["tracker_id"], TRACKER);
    let read = app
        .get(&format!("/v1/vehicles/{first}"), &app.admin_token)
        .await
        .expect(200);
    assert_eq!(read["tracker_id"], TRACKER);
    let listed = app.get("/v1/vehicles", &app.admin_token).await.expect(200);
    assert_eq!(listed["items"][0]["tracker_id"], TRACKER);

    // Customers: not in the car, not in the list, and no way to change it.
    let seen = app
        .get(&format!("/v1/vehicles/{first}"), &customer)
        .await
        .expect(200);
    assert!(
        !seen.as_object().expect("object").contains_key("tracker_id"),
        "{seen}"
    );
    let listed = app.get("/v1/vehicles", &customer).await.expect(200);
    assert!(!listed.to_string().contains("tracker_id"), "{listed}");
    assert!(!listed.to_string().contains(TRACKER), "{listed}");
    patch(
        &second,
        &customer,
        json!({"tracker_id": "customer-chosen-id-0123456789"}),
    )
    .await
    .expect_problem(403);

    // Unique across the fleet.
    let problem = patch(&second, &app.admin_token, json!({"tracker_id": TRACKER}))
        .await
        .expect_problem(409);
    assert_eq!(problem["type"], "urn:ev-rental:problem:already-registered");
    assert_eq!(problem["errors"]["tracker_id"], "already registered");

    // Long and plain enough.
    for bad in [
        "short-id-12345",
        "has spaces in it 0123456789",
        &"x".repeat(65),
    ] {
        let problem = patch(&second, &app.admin_token, json!({"tracker_id": bad}))
            .await
            .expect_problem(422);
        assert!(
            problem["errors"]["tracker_id"].is_string(),
            "{bad}: {problem}"
        );
    }
    patch(&second, &app.admin_token, json!({"tracker_id": 12345}))
        .await
        .expect_problem(400);

    // null clears it, and then the other car may take it.
    let cleared = patch(&first, &app.admin_token, json!({"tracker_id": null}))
        .await
        .expect(200);
    assert_eq!(cleared["tracker_id"], Value::Null);
    let moved = patch(&second, &app.admin_token, json!({"tracker_id": TRACKER}))
        .await
        .expect(200);
    assert_eq!(moved["tracker_id"], TRACKER);
    let untouched = patch(&second, &app.admin_token, json!({"model": "BYD Seal"}))
        .await
        .expect(200);
    assert_eq!(
        untouched["tracker_id"], TRACKER,
        "absent leaves it as it is"
    );
}
