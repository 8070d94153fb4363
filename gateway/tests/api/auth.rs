//! Tokens over real HTTP: login, refresh rotation and reuse, limits, role checks.

use crate::helpers::*;
use actors::locks::UnitLink;
use gateway::server::ServerOptions;
use reqwest::Method;
use serde_json::json;

async fn login(app: &TestApp, email: &str, password: &str) -> Answer {
    app.call(
        Method::POST,
        "/v1/auth/token",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

async fn refresh(app: &TestApp, token: &str) -> Answer {
    app.call(
        Method::POST,
        "/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": token})),
    )
    .await
}

#[tokio::test]
async fn login_gives_a_working_bearer_pair_and_wrong_credentials_401() {
    let app = TestApp::spawn().await;
    app.customer(1, VISA).await;
    let pair = login(&app, &email(1), "s3nha-segura").await.expect(200);
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    let token = pair["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/v1/customers/me", token).await.expect(200)["email"],
        email(1)
    );

    let wrong = login(&app, &email(1), "wrong-password-1").await;
    assert!(wrong.headers.contains_key("www-authenticate"));
    wrong.expect_problem(401);
    login(&app, "nobody@example.com", "s3nha-segura")
        .await
        .expect_problem(401);
    login(&app, ADMIN_EMAIL, "s3nha-segura")
        .await
        .expect_problem(401);
}

#[tokio::test]
async fn missing_bad_and_foreign_tokens_are_401_and_roles_are_403() {
    let app = TestApp::spawn().await;
    let (_, customer) = app.customer(2, VISA).await;
    app.call(Method::GET, "/v1/customers/me", None, None)
        .await
        .expect_problem(401);
    app.get("/v1/customers/me", "not-a-jwt")
        .await
        .expect_problem(401);
    // A token signed by another server (another secret) is refused.
    let other = TestApp::spawn().await;
    app.get("/v1/customers", &other.admin_token)
        .await
        .expect_problem(401);
    // Roles: a customer on an admin route, an admin on a customer route.
    app.get("/v1/customers", &customer)
        .await
        .expect_problem(403);
    app.get("/v1/customers/me", &app.admin_token)
        .await
        .expect_problem(403);
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_session() {
    let app = TestApp::spawn().await;
    app.customer(3, VISA).await;
    let first = login(&app, &email(3), "s3nha-segura").await.expect(200);
    let first_refresh = first["refresh_token"].as_str().unwrap().to_owned();

    let second = refresh(&app, &first_refresh).await.expect(200);
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first_refresh, second_refresh);
    app.get("/v1/customers/me", second["access_token"].as_str().unwrap())
        .await
        .expect(200);

    // The old token again: reuse. It fails, and so does the newest one of that session.
    refresh(&app, &first_refresh).await.expect_problem(401);
    refresh(&app, &second_refresh).await.expect_problem(401);
    refresh(&app, "made-up").await.expect_problem(401);

    // Logging in again starts a fresh session; logout ends it.
    let fresh = login(&app, &email(3), "s3nha-segura").await.expect(200);
    let fresh_refresh = fresh["refresh_token"].as_str().unwrap().to_owned();
    app.call(
        Method::POST,
        "/v1/auth/logout",
        None,
        Some(json!({"refresh_token": fresh_refresh})),
    )
    .await
    .expect(204);
    refresh(&app, &fresh_refresh).await.expect_problem(401);
}

#[tokio::test]
async fn failed_logins_are_limited_per_account_with_retry_after() {
    let app = TestApp::spawn_with(|config| config.server.login_per_email_per_min = 4).await;
    // Registering logs in once: a success, which spends nothing of the account's budget.
    app.customer(4, VISA).await;
    for _ in 0..4 {
        login(&app, &email(4), "wrong-password-1")
            .await
            .expect_problem(401);
    }
    // This address failed four times: it is refused, even with the right password.
    let limited = login(&app, &email(4), "s3nha-segura").await;
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=16).contains(&retry_after), "{retry_after}");
    limited.expect_problem(429);
    // Another e-mail from the same address is not held back by that one's limit.
    app.customer(5, VISA).await;
}

#[tokio::test]
async fn logins_are_rate_limited_per_client_address() {
    let app = TestApp::spawn_with(|config| config.server.login_per_ip_per_min = 4).await;
    // The admin login of the harness used one attempt.
    for n in 0..3 {
        login(&app, &format!("someone{n}@example.com"), "whatever-1")
            .await
            .expect_problem(401);
    }
    login(&app, "someone-else@example.com", "whatever-1")
        .await
        .expect_problem(429);
}

#[tokio::test]
async fn the_admin_account_survives_a_restart_and_tokens_stay_valid() {
    let app = TestApp::spawn().await;
    let token = app.admin_token.clone();
    let dir = app.stop().await;
    // Same data directory: the generated secret and the admin account are still there.
    let mut config = actors::Config::default();
    config.server.bind = "127.0.0.1:0".parse().unwrap();
    config.storage.data_dir = dir.path().to_owned();
    config.auth.admin_email = ADMIN_EMAIL.into();
    config.auth.admin_password = ADMIN_PASSWORD.into();
    let options = ServerOptions::for_config(&config, UnitLink::remote());
    let server = gateway::server::RunningServer::start(config, options)
        .await
        .unwrap();
    let answer = reqwest::Client::new()
        .get(format!("http://{}/v1/customers", server.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    server.stop().await.unwrap();
}
