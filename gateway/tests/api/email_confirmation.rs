//! E-mail confirmation over HTTP: a new account confirms its address before it books, codes
//! are resent within limits, a changed address becomes the login once confirmed, and the
//! customer's language is kept.

use crate::helpers::*;
use actors::testing::PASSWORD;
use reqwest::Method;
use serde_json::{Value, json};

const CONFIRM: &str = "/v1/customers/me/email-confirmation";
const RESEND: &str = "/v1/customers/me/email-confirmation/resend";

/// Registers customer `n` without confirming: (id, access token).
async fn unconfirmed(app: &TestApp, n: u32) -> (String, String) {
    let created = app
        .call(
            Method::POST,
            "/v1/customers",
            None,
            Some(customer_body(n, VISA)),
        )
        .await
        .expect(201);
    assert_eq!(created["status"], "pending_confirmation");
    let id = created["id"].as_str().unwrap().to_owned();
    (id, app.login(&email(n)).await)
}

/// A six-digit code that is not `code`.
fn other_than(code: &str) -> String {
    let first = if code.starts_with('9') { '0' } else { '9' };
    format!("{first}{}", &code[1..])
}

async fn book(app: &TestApp, token: &str, vehicle: &str) -> Answer {
    app.post(
        "/v1/reservations",
        token,
        json!({"vehicle_id": vehicle, "start_at": in_minutes(60), "end_at": in_minutes(180)}),
    )
    .await
}

#[tokio::test]
async fn an_unconfirmed_customer_may_not_book_until_the_code_is_confirmed() {
    let app = TestApp::spawn().await;
    let (id, token) = unconfirmed(&app, 1).await;
    let (vehicle, _) = app.vehicle(1, 3_000).await;
    let refused = book(&app, &token, &vehicle).await.expect_problem(403);
    assert_eq!(refused["type"], "urn:ev-rental:problem:email-unconfirmed");

    let code = app.confirmation_code(&id).await.expect("a code was sent");
    let wrong = app
        .post(CONFIRM, &token, json!({"code": other_than(&code)}))
        .await
        .expect_problem(422);
    assert!(wrong["errors"]["code"].is_string(), "{wrong}");
    app.post(CONFIRM, &token, json!({"code": "12a45"}))
        .await
        .expect_problem(422);
    app.post(CONFIRM, &token, json!({"code": code, "extra": 1}))
        .await
        .expect_problem(400);
    let confirmed = app
        .post(CONFIRM, &token, json!({"code": code}))
        .await
        .expect(200);
    assert_eq!(confirmed["status"], "active");
    assert_eq!(confirmed["id"], id);
    book(&app, &token, &vehicle).await.expect(201);
    // Nothing waits any more.
    app.post(CONFIRM, &token, json!({"code": code}))
        .await
        .expect_problem(409);
    app.post(RESEND, &token, json!({}))
        .await
        .expect_problem(409);
    // Administrators have nothing to confirm.
    app.post(CONFIRM, &app.admin_token, json!({"code": code}))
        .await
        .expect_problem(403);
}

#[tokio::test]
async fn codes_are_resent_after_a_minute_and_the_old_one_stops_working() {
    let (app, clock) = TestApp::spawn_with_manual_clock().await;
    let (id, token) = unconfirmed(&app, 2).await;
    let first = app.confirmation_code(&id).await.expect("a code was sent");
    let limited = app.post(RESEND, &token, json!({})).await;
    assert_eq!(limited.headers["retry-after"], "60");
    limited.expect_problem(429);
    clock.advance(chrono::TimeDelta::seconds(60));
    app.post(RESEND, &token, json!({})).await.expect(200);
    let second = app
        .confirmation_code(&id)
        .await
        .expect("a new code was sent");
    if second != first {
        app.post(CONFIRM, &token, json!({"code": first}))
            .await
            .expect_problem(422);
    }
    // Codes expire.
    clock.advance(chrono::TimeDelta::minutes(30));
    let expired = app
        .post(CONFIRM, &token, json!({"code": second}))
        .await
        .expect_problem(422);
    assert!(
        expired["errors"]["code"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{expired}"
    );
    app.post(RESEND, &token, json!({})).await.expect(200);
    let third = app
        .confirmation_code(&id)
        .await
        .expect("a new code was sent");
    app.post(CONFIRM, &token, json!({"code": third}))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_changed_email_becomes_the_login_once_its_code_is_confirmed() {
    let app = TestApp::spawn().await;
    let (id, token) = app.customer(3, VISA).await;
    let changed = app
        .call(
            Method::PATCH,
            "/v1/customers/me",
            Some(&token),
            Some(json!({"email": "novo@example.com", "current_password": PASSWORD})),
        )
        .await
        .expect(200);
    assert_eq!(changed["email"], email(3));
    assert_eq!(changed["status"], "active");
    assert_eq!(changed["email_change_pending"], true);
    // The old address stays the login meanwhile.
    app.login(&email(3)).await;
    app.call(
        Method::POST,
        "/v1/auth/token",
        None,
        Some(json!({"email": "novo@example.com", "password": PASSWORD})),
    )
    .await
    .expect_problem(401);
    let code = app.confirmation_code(&id).await.expect("a code was sent");
    let confirmed: Value = app
        .post(CONFIRM, &token, json!({"code": code}))
        .await
        .expect(200);
    assert_eq!(confirmed["email"], "novo@example.com");
    assert_eq!(confirmed["email_change_pending"], false);
    app.login("novo@example.com").await;
}

#[tokio::test]
async fn the_locale_is_taken_at_registration_and_changed_by_the_profile() {
    let app = TestApp::spawn().await;
    let mut body = customer_body(4, VISA);
    body["locale"] = json!("en");
    let (_, token) = app.customer_with(body, &email(4)).await;
    let me = app.get("/v1/customers/me", &token).await.expect(200);
    assert_eq!(me["locale"], "en");
    assert_eq!(me["status"], "active");
    let changed = app
        .call(
            Method::PATCH,
            "/v1/customers/me",
            Some(&token),
            Some(json!({"locale": "pt-BR"})),
        )
        .await
        .expect(200);
    assert_eq!(changed["locale"], "pt-BR");
    let mut body = customer_body(5, VISA);
    body["locale"] = json!("fr");
    let problem = app
        .call(Method::POST, "/v1/customers", None, Some(body))
        .await
        .expect_problem(422);
    assert!(problem["errors"]["locale"].is_string(), "{problem}");
}

#[test]
fn both_routes_are_documented() {
    assert_documented(&[
        (CONFIRM, "post", &["200", "409", "422"]),
        (RESEND, "post", &["200", "409", "429"]),
    ]);
}
