//! Two-factor authentication of administrators over real HTTP, on the wall clock: a code for
//! the next 30-second step is accepted (one step of skew), so no test waits for time to pass.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Secret, TOTP};

async fn login(app: &TestApp, code: Option<&str>) -> Answer {
    let mut body = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    if let Some(code) = code {
        body["totp_code"] = json!(code);
    }
    app.call(Method::POST, "/v1/auth/token", None, Some(body))
        .await
}

/// The authenticator app: codes of the setup's secret, `steps_ahead` steps from now.
fn app_code(setup: &Value, steps_ahead: u64) -> String {
    let uri = setup["otpauth_uri"].as_str().unwrap();
    let secret = uri
        .split(['?', '&'])
        .find_map(|part| part.strip_prefix("secret="))
        .unwrap();
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 0, 30, bytes, None, String::new());
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    totp.generate(now + 30 * steps_ahead)
}

#[tokio::test]
async fn an_admin_turns_on_totp_and_then_logs_in_with_codes_each_accepted_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token.clone();
    let (_, customer) = app.customer(1, VISA).await;
    app.post("/v1/auth/totp/setup", &customer, json!({}))
        .await
        .expect_problem(403);

    let setup = app
        .post("/v1/auth/totp/setup", &admin, json!({}))
        .await
        .expect(200);
    assert!(
        setup["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/ev-rental:"),
        "{setup}"
    );
    let recovery: Vec<String> = setup["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    // Until confirmed, the password alone still logs in.
    login(&app, None).await.expect(200);

    let wrong = app
        .post("/v1/auth/totp/confirm", &admin, json!({"code": "000000"}))
        .await
        .expect_problem(422);
    assert!(wrong["errors"]["code"].is_string(), "{wrong}");
    let now = app_code(&setup, 0);
    app.post("/v1/auth/totp/confirm", &admin, json!({"code": now}))
        .await
        .expect(204);
    app.post("/v1/auth/totp/setup", &admin, json!({}))
        .await
        .expect_problem(409);

    let missing = login(&app, None).await.expect_problem(401);
    assert_eq!(missing["type"], "urn:ev-rental:problem:totp-required");
    // The code used to confirm is used up.
    let replay = login(&app, Some(&now)).await.expect_problem(401);
    assert_eq!(replay["type"], "urn:ev-rental:problem:unauthorized");
    let next = app_code(&setup, 1);
    let tokens = login(&app, Some(&next)).await.expect(200);
    let token = tokens["access_token"].as_str().unwrap();
    app.get("/v1/customers", token).await.expect(200);
    login(&app, Some(&next)).await.expect_problem(401);

    login(&app, Some(&recovery[0])).await.expect(200);
    login(&app, Some(&recovery[0])).await.expect_problem(401);
    login(&app, Some(&recovery[1].to_lowercase()))
        .await
        .expect(200);
}

#[tokio::test]
async fn when_required_an_admin_without_totp_gets_a_token_good_for_setup_only() {
    let app = TestApp::spawn_with(|config| config.auth.require_admin_totp = true).await;
    assert!(app.admin_token.is_empty());
    let refused = login(&app, None).await.expect_problem(403);
    assert_eq!(refused["type"], "urn:ev-rental:problem:totp-setup-required");
    let setup_token = refused["setup_token"].as_str().unwrap().to_owned();
    assert!(refused.get("access_token").is_none());
    // Nothing else opens with it.
    app.get("/v1/customers", &setup_token)
        .await
        .expect_problem(401);

    let setup = app
        .post("/v1/auth/totp/setup", &setup_token, json!({}))
        .await
        .expect(200);
    app.post(
        "/v1/auth/totp/confirm",
        &setup_token,
        json!({"code": app_code(&setup, 0)}),
    )
    .await
    .expect(204);
    let tokens = login(&app, Some(&app_code(&setup, 1))).await.expect(200);
    app.get("/v1/customers", tokens["access_token"].as_str().unwrap())
        .await
        .expect(200);
}
