//! Limits per client address behind a trusted reverse proxy (`server.trusted_proxies`), the
//! registration limit, and the log-in limit that an attacker cannot turn against a victim.
//!
//! The test server trusts 127.0.0.1, the address the tests connect from, as its proxy, so a
//! test plays a client at any address by sending `X-Forwarded-For`.

use crate::helpers::*;
use actors::Config;
use actors::testing::PASSWORD;
use serde_json::{Value, json};

const ATTACKER: &str = "198.51.100.66";
const OWNER: &str = "203.0.113.7";

fn behind_a_proxy(config: &mut Config) {
    config.server.trusted_proxies = vec!["127.0.0.1".into()];
}

/// A POST that the proxy forwarded with `forwarded_for` as its `X-Forwarded-For`.
async fn post_via(app: &TestApp, forwarded_for: &str, path: &str, body: Value) -> Answer {
    let response = app
        .client
        .post(app.url(path))
        .header("x-forwarded-for", forwarded_for)
        .json(&body)
        .send()
        .await
        .expect("request sent");
    Answer::read(response).await
}

async fn log_in_from(app: &TestApp, address: &str, email: &str, password: &str) -> Answer {
    post_via(
        app,
        address,
        "/v1/auth/token",
        json!({"email": email, "password": password}),
    )
    .await
}

fn retry_after(answer: &Answer) -> u64 {
    answer.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds")
}

#[tokio::test]
async fn flooding_an_account_with_wrong_passwords_does_not_lock_its_owner_out() {
    let app = TestApp::spawn_with(|config| {
        behind_a_proxy(config);
        config.server.login_per_email_per_min = 5;
    })
    .await;
    app.customer(1, VISA).await;

    // The attacker hammers the victim's e-mail until refused: after the account's 5 failures.
    let mut failures = 0;
    let refused = loop {
        let answer = log_in_from(&app, ATTACKER, &email(1), "wrong-pass-123").await;
        if answer.status == 429 {
            break answer;
        }
        answer.expect_problem(401);
        failures += 1;
        assert!(failures <= 5, "never refused");
    };
    assert_eq!(failures, 5);
    assert!((1..=13).contains(&retry_after(&refused)));
    refused.expect_problem(429);
    for _ in 0..20 {
        log_in_from(&app, ATTACKER, &email(1), "wrong-pass-123")
            .await
            .expect_problem(429);
    }

    // The victim, from their own address, logs in with the right password at once.
    let tokens = log_in_from(&app, OWNER, &email(1), PASSWORD)
        .await
        .expect(200);
    assert!(tokens["access_token"].is_string());
    // The attacker is still refused, with the right password too.
    log_in_from(&app, ATTACKER, &email(1), PASSWORD)
        .await
        .expect_problem(429);
    // A fresh address gets a guess; having failed, it is refused in turn.
    log_in_from(&app, "192.0.2.50", &email(1), "wrong-pass-123")
        .await
        .expect_problem(401);
    log_in_from(&app, "192.0.2.50", &email(1), "wrong-pass-123")
        .await
        .expect_problem(429);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_login_budget() {
    let app = TestApp::spawn_with(|config| {
        behind_a_proxy(config);
        config.server.login_per_ip_per_min = 3;
    })
    .await;
    // The client forges the left part of the header; the proxy appended the address it saw,
    // and that is what counts.
    for n in 0..3 {
        let forwarded = format!("10.9.8.{n}, {ATTACKER}");
        log_in_from(&app, &forwarded, &format!("x{n}@example.com"), "whatever-1")
            .await
            .expect_problem(401);
    }
    let refused = log_in_from(
        &app,
        &format!("1.2.3.4, {ATTACKER}"),
        "y@example.com",
        "x-1",
    )
    .await;
    assert!(retry_after(&refused) >= 1);
    refused.expect_problem(429);
    // Another client behind the same proxy is not held back.
    log_in_from(&app, OWNER, "z@example.com", "whatever-1")
        .await
        .expect_problem(401);
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    // No proxy trusted (the default): every request is the peer's, whatever it forwards.
    let app = TestApp::spawn_with(|config| config.server.login_per_ip_per_min = 3).await;
    // The harness's admin log-in was one attempt from 127.0.0.1.
    for n in 0..2 {
        log_in_from(&app, &format!("192.0.2.{n}"), "a@example.com", "whatever-1")
            .await
            .expect_problem(401);
    }
    log_in_from(&app, OWNER, "b@example.com", "whatever-1")
        .await
        .expect_problem(429);
}

#[tokio::test]
async fn registrations_are_limited_per_client_address_with_retry_after() {
    let app = TestApp::spawn_with(|config| {
        behind_a_proxy(config);
        config.server.register_per_ip_per_min = 2;
    })
    .await;
    post_via(&app, ATTACKER, "/v1/customers", customer_body(1, VISA))
        .await
        .expect(201);
    // A refused registration counts too.
    let mut invalid = customer_body(3, VISA);
    invalid["cpf"] = json!("111.111.111-11");
    post_via(&app, ATTACKER, "/v1/customers", invalid)
        .await
        .expect_problem(422);
    let refused = post_via(&app, ATTACKER, "/v1/customers", customer_body(2, VISA)).await;
    assert!((1..=31).contains(&retry_after(&refused)));
    refused.expect_problem(429);
    post_via(&app, OWNER, "/v1/customers", customer_body(2, VISA))
        .await
        .expect(201);
}
