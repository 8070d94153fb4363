//! `GET /v1/notifications` and `POST /v1/notifications/{id}/retry`: operators see the messages
//! given up (and pending) page by page, and put a given-up one back; nobody else may.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, VISA};

/// The Standard Webhooks test secret.
const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// An app whose webhooks go to a port nobody listens on, given up at their first failure, and
/// whose delivery runs only when the test asks.
async fn app_with_a_dead_endpoint() -> TestApp {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("http://{}/hooks", listener.local_addr().expect("address"));
    drop(listener);
    TestApp::spawn_with(|config| {
        config.notify.webhook_url = url;
        config.notify.webhook_secret = SECRET.into();
        config.notify.max_attempts = 1;
        config.notify.poll_interval_ms = 3_600_000;
    })
    .await
}

/// Queues webhooks under `keys` and runs the delivery, which gives them up.
async fn give_up(app: &TestApp, keys: &[&str]) {
    let notifications = &app.system().services().notifications;
    for key in keys {
        notifications
            .enqueue_webhook(key, "test.ping", &json!({"key": key}))
            .await
            .expect("queued");
    }
    notifications.deliver_due().await.expect("a run");
}

/// Every page of `GET /v1/notifications?state=…` with pages of `limit`, items of these tests'
/// keys only (the app's own events may be there too).
async fn all_pages(app: &TestApp, state: &str, limit: usize, keys: &[&str]) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/notifications?state={state}&limit={limit}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = app.get(&path, &app.admin_token).await.expect(200);
        pages += 1;
        let listed = page["items"].as_array().expect("items").clone();
        assert!(listed.len() <= limit);
        items.extend(
            listed
                .into_iter()
                .filter(|item| keys.contains(&item["key"].as_str().unwrap_or_default())),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (items, pages),
        }
    }
}

#[tokio::test]
async fn operators_list_given_up_messages_page_by_page_and_put_one_back() {
    let app = app_with_a_dead_endpoint().await;
    let keys = ["nt-1", "nt-2", "nt-3"];
    give_up(&app, &keys).await;

    let (given_up, pages) = all_pages(&app, "gave_up", 1, &keys).await;
    assert!(pages >= 3, "one item a page");
    let listed: BTreeSet<&str> = given_up
        .iter()
        .map(|item| item["key"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(listed, keys.into_iter().collect());
    let first = &given_up[0];
    assert_eq!(first["channel"], "webhook");
    assert_eq!(first["state"], "gave_up");
    assert_eq!(first["attempts"], 1);
    assert_eq!(first["event_type"], "test.ping");
    assert!(first["last_error"].as_str().is_some(), "{first}");
    assert!(first["finished_at"].as_str().is_some(), "{first}");
    assert_eq!(first["recipient"], Value::Null);

    let id = first["id"].as_str().expect("id").to_owned();
    let retried = app
        .post(
            &format!("/v1/notifications/{id}/retry"),
            &app.admin_token,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(retried["state"], "pending");
    assert_eq!(retried["attempts"], 0);
    assert_eq!(retried["finished_at"], Value::Null);

    let (pending, _) = all_pages(&app, "pending", 50, &keys).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["id"], id.as_str());
    let (still_given_up, _) = all_pages(&app, "gave_up", 50, &keys).await;
    assert_eq!(still_given_up.len(), 2);

    // Pending is not given up: nothing to put back.
    app.post(
        &format!("/v1/notifications/{id}/retry"),
        &app.admin_token,
        json!({}),
    )
    .await
    .expect_problem(409);
    let unknown = uuid::Uuid::now_v7();
    app.post(
        &format!("/v1/notifications/{unknown}/retry"),
        &app.admin_token,
        json!({}),
    )
    .await
    .expect_problem(404);
    app.post(
        "/v1/notifications/not-an-id/retry",
        &app.admin_token,
        json!({}),
    )
    .await
    .expect_problem(400);
    for bad in ["state=delivered", "limit=0", "cursor=nope", "colour=red"] {
        app.get(&format!("/v1/notifications?{bad}"), &app.admin_token)
            .await
            .expect_problem(400);
    }
}

#[tokio::test]
async fn a_pending_email_shows_its_recipient_and_when_it_is_due() {
    let app = app_with_a_dead_endpoint().await;
    let notifications = &app.system().services().notifications;
    notifications
        .enqueue_email("nt-mail", "ops@example.com", "Hello", "hi", "<p>hi</p>")
        .await
        .expect("queued");
    let (pending, _) = all_pages(&app, "pending", 200, &["nt-mail"]).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["channel"], "email");
    assert_eq!(pending[0]["recipient"], "ops@example.com");
    assert!(pending[0]["due_at"].as_str().is_some());
    // Given up is the default listing; an e-mail still waiting is not in it.
    let page = app
        .get("/v1/notifications", &app.admin_token)
        .await
        .expect(200);
    assert!(
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|item| item["key"] != "nt-mail")
    );
}

#[tokio::test]
async fn only_administrators_see_or_retry_messages() {
    let app = app_with_a_dead_endpoint().await;
    let (_, customer) = app.customer(1, VISA).await;
    let id = uuid::Uuid::now_v7();
    let retry = format!("/v1/notifications/{id}/retry");
    for (method, path) in [
        (Method::GET, "/v1/notifications"),
        (Method::POST, retry.as_str()),
    ] {
        app.call(method.clone(), path, None, None)
            .await
            .expect_problem(401);
        app.call(method, path, Some(&customer), None)
            .await
            .expect_problem(403);
    }
    crate::helpers::assert_documented(&[
        ("/v1/notifications", "get", &["200", "400", "401", "403"]),
        (
            "/v1/notifications/{id}/retry",
            "post",
            &["200", "400", "401", "403", "404", "409"],
        ),
    ]);
}
