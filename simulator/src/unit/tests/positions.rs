//! Position reports against the fake server: delivery, buffering, and what each answer means.

use std::time::Duration;

use serde_json::json;

use super::fake::{Canned, PATIENCE, eventually};
use super::{TOKEN, config, fix, positions_server, rfc3339, shut_down, times};
use crate::unit::{Fix, StopReason, UnitClient, UnitError};

#[tokio::test]
async fn a_fix_is_sent_at_once_as_one_object_with_the_bearer_token() {
    let server = positions_server().await;
    let config = config(&server, TOKEN);
    let vehicle = config.vehicle_id;
    let unit = UnitClient::spawn(config).unwrap();
    unit.report(Fix {
        battery_pct: Some(80.0),
        ..fix(1)
    })
    .unwrap();
    eventually("one report", || server.requests().len() == 1).await;
    let request = &server.requests()[0];
    assert_eq!(request.path, format!("/v1/units/{vehicle}/positions"));
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(
        request.body,
        json!({"lat": -27.5954, "lon": -48.548, "recorded_at": rfc3339(1), "battery_pct": 80.0})
    );
    eventually("the fix counted as sent", || unit.stats().fixes_sent == 1).await;
    assert_eq!(unit.stats().fixes_buffered, 0);
    shut_down(unit).await.unwrap();
}

#[tokio::test]
async fn fixes_reported_during_an_outage_are_sent_later_in_one_batch_in_time_order() {
    let server = positions_server().await;
    server.set_fallback(Canned::Status(
        503,
        vec![],
        json!({"title": "Service Unavailable"}),
    ));
    let unit = UnitClient::spawn(config(&server, TOKEN)).unwrap();
    unit.report(fix(10)).unwrap();
    eventually("a first failed report", || !server.requests().is_empty()).await;
    unit.report(fix(20)).unwrap();
    unit.report(fix(5)).unwrap(); // late, older: must still go first
    eventually("a failed report of all three", || {
        server
            .requests()
            .iter()
            .any(|request| times(&request.body).len() == 3)
    })
    .await;
    assert_eq!(unit.stats().fixes_buffered, 3);
    assert_eq!(unit.stats().fixes_sent, 0);

    server.set_fallback(Canned::Accept);
    eventually("the batch delivered", || unit.stats().fixes_sent == 3).await;
    let delivered: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.status == 202)
        .collect();
    assert_eq!(delivered.len(), 1, "one batch");
    assert_eq!(
        times(&delivered[0].body),
        [rfc3339(5), rfc3339(10), rfc3339(20)]
    );
    assert!(delivered[0].body.is_array());
    assert_eq!(unit.stats().fixes_buffered, 0);
    shut_down(unit).await.unwrap();
}

#[tokio::test]
async fn retry_after_is_respected_and_the_fixes_kept() {
    let server = positions_server().await;
    let slow_down = json!({"title": "Too Many Requests", "status": 429});
    server.respond_next(Canned::Status(
        429,
        vec![("retry-after", "1".into())],
        slow_down,
    ));
    let unit = UnitClient::spawn(config(&server, TOKEN)).unwrap();
    unit.report(fix(1)).unwrap();
    eventually("the retry", || server.requests().len() == 2).await;
    let requests = server.requests();
    let gap = requests[1].at - requests[0].at;
    // The backoff alone would have retried after 10–20 ms.
    assert!(gap >= Duration::from_millis(950), "retried after {gap:?}");
    assert_eq!(times(&requests[1].body), [rfc3339(1)]);
    assert_eq!(requests[1].status, 202);
    shut_down(unit).await.unwrap();
}

#[tokio::test]
async fn a_400_with_rejected_fixes_does_not_resend_the_good_ones() {
    let server = positions_server().await;
    let problem = json!({
        "type": "about:blank", "title": "Bad Request", "status": 400,
        "detail": "1 fix(es) refused, listed in `rejected`; the 1 other(s) were processed",
        "accepted": 1, "duplicates": 0, "flagged": 0,
        "rejected": [{"index": 1, "errors": {"lat": "must be within -90..=90"}}]
    });
    server.respond_next(Canned::Status(400, vec![], problem));
    let unit = UnitClient::spawn(config(&server, TOKEN)).unwrap();
    // Both queued before the position task first runs (single-threaded test runtime): one batch.
    unit.report(fix(1)).unwrap();
    unit.report(Fix {
        lat: 123.0,
        ..fix(2)
    })
    .unwrap();
    eventually("the refused batch", || server.requests().len() == 1).await;
    assert_eq!(times(&server.requests()[0].body), [rfc3339(1), rfc3339(2)]);

    unit.report(fix(3)).unwrap();
    eventually("the next report", || server.requests().len() == 2).await;
    assert_eq!(times(&server.requests()[1].body), [rfc3339(3)]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.requests().len(), 2, "nothing re-sent");
    let stats = unit.stats();
    assert_eq!(
        (stats.fixes_sent, stats.fixes_rejected, stats.fixes_buffered),
        (2, 1, 0)
    );
    shut_down(unit).await.unwrap();
}

#[tokio::test]
async fn a_401_on_a_report_stops_the_unit() {
    let server = positions_server().await;
    server.respond_next(Canned::Status(
        401,
        vec![],
        json!({"title": "Unauthorized"}),
    ));
    let unit = UnitClient::spawn(config(&server, TOKEN)).unwrap();
    unit.report(fix(1)).unwrap();
    let stopped = tokio::time::timeout(PATIENCE, unit.stopped()).await;
    assert_eq!(stopped.ok(), Some(StopReason::InvalidToken));
    eventually("the channel closed too", || !unit.connected()).await;
    assert_eq!(server.requests().len(), 1);
    assert!(matches!(
        shut_down(unit).await,
        Err(UnitError::InvalidToken)
    ));
}
