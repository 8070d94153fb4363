//! A unit restarted with fixes it could not deliver: the backlog file brings them back, each
//! is delivered once, and the room limit and its counter hold across the restart.

use serde_json::json;

use super::fake::{Canned, FakeServer, eventually};
use super::{TOKEN, config, fix, positions_server, rfc3339, shut_down, times};
use crate::unit::{UnitClient, UnitConfig};

fn with_file(server: &FakeServer, path: &std::path::Path, capacity: usize) -> UnitConfig {
    UnitConfig {
        backlog_file: Some(path.to_owned()),
        backlog_capacity: capacity,
        ..config(server, TOKEN)
    }
}

fn outage(server: &FakeServer) {
    server.set_fallback(Canned::Status(503, vec![], json!({"title": "down"})));
}

/// Every `recorded_at` the server accepted (202), in the order received.
fn accepted(server: &FakeServer) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .filter(|request| request.status == 202)
        .flat_map(|request| times(&request.body))
        .collect()
}

#[tokio::test]
async fn fixes_buffered_before_a_restart_are_delivered_once_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backlog.jsonl");
    let server = positions_server().await;
    outage(&server);

    let unit = UnitClient::spawn(with_file(&server, &path, 100)).unwrap();
    for second in [1, 2, 3, 4] {
        unit.report(fix(second)).unwrap();
    }
    eventually("a refused batch of all four", || {
        server
            .requests()
            .iter()
            .any(|request| times(&request.body).len() == 4)
    })
    .await;
    shut_down(unit).await.unwrap();
    assert!(accepted(&server).is_empty());

    server.set_fallback(Canned::Accept);
    let unit = UnitClient::spawn(with_file(&server, &path, 100)).unwrap();
    assert_eq!(unit.stats().fixes_buffered, 4, "the file brought them back");
    eventually("the four delivered", || unit.stats().fixes_sent == 4).await;
    unit.report(fix(5)).unwrap();
    eventually("the fifth delivered", || unit.stats().fixes_sent == 5).await;
    shut_down(unit).await.unwrap();

    let expected: Vec<String> = (1..=5).map(rfc3339).collect();
    assert_eq!(accepted(&server), expected, "each fix once, in time order");

    // Delivered fixes are gone from the file: a third start has nothing to send.
    let unit = UnitClient::spawn(with_file(&server, &path, 100)).unwrap();
    assert_eq!(unit.stats().fixes_buffered, 0);
    shut_down(unit).await.unwrap();
    assert_eq!(accepted(&server), expected);
}

#[tokio::test]
async fn the_bound_drops_the_oldest_and_the_count_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backlog.jsonl");
    let server = positions_server().await;
    outage(&server);

    let unit = UnitClient::spawn(with_file(&server, &path, 3)).unwrap();
    for second in 1..=5 {
        unit.report(fix(second)).unwrap();
    }
    assert_eq!(unit.stats().fixes_dropped, 2);
    shut_down(unit).await.unwrap();

    server.set_fallback(Canned::Accept);
    let unit = UnitClient::spawn(with_file(&server, &path, 3)).unwrap();
    let stats = unit.stats();
    assert_eq!((stats.fixes_buffered, stats.fixes_dropped), (3, 2));
    eventually("the three newest delivered", || {
        unit.stats().fixes_sent == 3
    })
    .await;
    shut_down(unit).await.unwrap();
    let expected: Vec<String> = (3..=5).map(rfc3339).collect();
    assert_eq!(accepted(&server), expected);
}

#[tokio::test]
async fn an_unreadable_backlog_file_location_fails_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let server = positions_server().await;
    // A directory where the file should be: it can be neither read nor replaced.
    let path = dir.path().join("taken");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("inside"), b"x").unwrap();
    let error = UnitClient::spawn(with_file(&server, &path, 10)).unwrap_err();
    assert!(error.to_string().contains("backlog file"), "{error}");
}
