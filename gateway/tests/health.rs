//! Liveness and readiness over real HTTP.

mod common;

use common::TestApp;

#[tokio::test]
async fn healthz_and_readyz_answer_ok() {
    let app = TestApp::spawn().await;

    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    let dir = app.stop().await;
    for service in actors::system::SERVICES {
        assert!(dir.path().join(service).is_dir(), "no store for {service}");
    }
}

#[tokio::test]
async fn a_stopped_app_no_longer_accepts_connections() {
    let app = TestApp::spawn().await;
    let url = app.url("/healthz");
    let client = app.client.clone();
    app.stop().await;
    assert!(client.get(url).send().await.is_err());
}
