//! Liveness and readiness over real HTTP.

use crate::helpers::TestApp;
use actors::locks::UnitLink;
use gateway::server::ServerOptions;

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

#[tokio::test]
async fn a_server_that_cannot_serve_fails_at_start_not_at_its_first_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = actors::Config::default();
    config.server.bind = "127.0.0.1:0".parse().unwrap();
    config.storage.data_dir = dir.path().to_owned();
    config.auth.admin_email = "ops@example.com".into();
    config.auth.admin_password = "no digits here".into();
    let options = ServerOptions::for_config(&config, UnitLink::remote());
    let started = gateway::server::RunningServer::start(config, options).await;
    let error = started.err().expect("refused");
    let causes = actors::error_kind::with_causes(&error);
    assert!(causes.contains("admin account"), "{causes}");
    assert!(causes.contains("password"), "{causes}");
}
