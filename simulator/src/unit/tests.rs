//! The unit against a fake server, end to end: the command channel here, the position
//! reports in `positions`.

mod durability;
mod fake;
mod positions;
mod tls;

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;
use fake::{FakeServer, PATIENCE};

const TOKEN: &str = "device-token-of-the-test-car";

/// Short timings so that reconnections and retries take milliseconds.
fn config(server: &FakeServer, token: &str) -> UnitConfig {
    UnitConfig {
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        request_timeout: Duration::from_secs(1),
        ..UnitConfig::new(server.base_url(), Uuid::now_v7(), token)
    }
}

/// A server for the position tests: its command channel refuses upgrades with 503, so the
/// unit keeps retrying it in the background (as in a real outage of that endpoint) and no
/// test waits on an unanswered close at shutdown.
async fn positions_server() -> FakeServer {
    let server = FakeServer::start(TOKEN).await;
    server.refuse_upgrades(503);
    server
}

/// Shuts the unit down, failing (rather than hanging) if it does not stop.
async fn shut_down(unit: UnitHandle) -> Result<(), UnitError> {
    tokio::time::timeout(PATIENCE, unit.shutdown())
        .await
        .expect("the unit did not stop")
}

/// Shuts the unit down while the server answers its close frame, as a real server does.
async fn finish(unit: UnitHandle, channel: fake::FakeConnection) {
    let (shutdown, _close) = tokio::join!(shut_down(unit), channel.expect_close());
    shutdown.unwrap();
}

/// A started unit, connected, and the server's side of its channel.
async fn connected_unit(server: &mut FakeServer) -> (UnitHandle, fake::FakeConnection) {
    let unit = UnitClient::spawn(config(server, TOKEN)).unwrap();
    unit.wait_connected(PATIENCE).await.unwrap();
    let connection = server.next_connection().await;
    (unit, connection)
}

fn command(action: Action) -> CommandFrame {
    CommandFrame {
        command_id: Uuid::now_v7(),
        action,
        expires_at: Utc::now() + chrono::Duration::seconds(10),
    }
}

fn done(command: &CommandFrame) -> Value {
    json!({"command_id": command.command_id, "result": "done"})
}

fn at(second: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + second, 0)
        .single()
        .unwrap()
}

fn fix(second: i64) -> Fix {
    Fix::new(-27.5954, -48.548, at(second))
}

fn times(body: &Value) -> Vec<String> {
    let fixes = body
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![body.clone()]);
    fixes
        .iter()
        .map(|fix| fix["recorded_at"].as_str().unwrap().to_owned())
        .collect()
}

fn rfc3339(second: i64) -> String {
    serde_json::to_value(at(second))
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn commands_are_executed_and_acknowledged_with_the_exact_json() {
    let mut server = FakeServer::start(TOKEN).await;
    let (unit, mut channel) = connected_unit(&mut server).await;
    assert_eq!(unit.doors(), DoorState::Locked);

    let unlock = command(Action::Unlock);
    channel.send_command(&unlock).await;
    assert_eq!(channel.next_ack().await, done(&unlock));
    assert_eq!(unit.doors(), DoorState::Unlocked);

    let lock = command(Action::Lock);
    channel.send_command(&lock).await;
    assert_eq!(channel.next_ack().await, done(&lock));
    assert_eq!(unit.doors(), DoorState::Locked);

    let stats = unit.stats();
    assert_eq!(
        (
            stats.commands_received,
            stats.commands_executed,
            stats.acks_sent
        ),
        (2, 2, 2)
    );
    finish(unit, channel).await;
}

#[tokio::test]
async fn a_duplicate_is_executed_once_and_acknowledged_twice_with_the_same_result() {
    let mut server = FakeServer::start(TOKEN).await;
    let (unit, mut channel) = connected_unit(&mut server).await;

    // A failure is remembered too: re-executing would succeed (fail_next is spent).
    unit.fail_next("door ajar");
    let jammed = command(Action::Unlock);
    let failed =
        json!({"command_id": jammed.command_id, "result": "failed", "reason": "door ajar"});
    channel.send_command(&jammed).await;
    assert_eq!(channel.next_ack().await, failed);
    channel.send_command(&jammed).await;
    assert_eq!(channel.next_ack().await, failed);
    assert_eq!(unit.doors(), DoorState::Locked);

    // A stale unlock arriving again after a lock must not open the car.
    let unlock = command(Action::Unlock);
    let lock = command(Action::Lock);
    for frame in [&unlock, &lock, &unlock] {
        channel.send_command(frame).await;
        assert_eq!(channel.next_ack().await, done(frame));
    }
    assert_eq!(unit.doors(), DoorState::Locked);

    let stats = unit.stats();
    assert_eq!(stats.commands_received, 5);
    assert_eq!(stats.commands_executed, 3);
    assert_eq!(stats.duplicates_ignored, 2);
    assert_eq!(stats.acks_sent, 5);
    finish(unit, channel).await;
}

#[tokio::test]
async fn an_expired_command_is_neither_executed_nor_acknowledged() {
    let mut server = FakeServer::start(TOKEN).await;
    let (unit, mut channel) = connected_unit(&mut server).await;

    let stale = CommandFrame {
        expires_at: Utc::now() - chrono::Duration::seconds(1),
        ..command(Action::Unlock)
    };
    channel.send_command(&stale).await;
    let fresh = command(Action::Lock);
    channel.send_command(&fresh).await;
    // Frames are handled in order: had the stale one been answered, its ack would come first.
    assert_eq!(channel.next_ack().await, done(&fresh));
    assert_eq!(unit.doors(), DoorState::Locked);
    let stats = unit.stats();
    assert_eq!(
        (
            stats.expired_ignored,
            stats.commands_executed,
            stats.acks_sent
        ),
        (1, 1, 1)
    );
    finish(unit, channel).await;
}

#[tokio::test]
async fn a_closed_socket_is_reopened_and_the_resent_command_only_reacknowledged() {
    let mut server = FakeServer::start(TOKEN).await;
    let (unit, mut first) = connected_unit(&mut server).await;
    let unlock = command(Action::Unlock);
    first.send_command(&unlock).await;
    assert_eq!(first.next_ack().await, done(&unlock));
    first.close().await;

    let mut second = server.next_connection().await;
    unit.wait_connected(PATIENCE).await.unwrap();
    second.send_command(&unlock).await;
    assert_eq!(second.next_ack().await, done(&unlock));

    let stats = unit.stats();
    assert_eq!(stats.reconnects, 1);
    assert_eq!((stats.commands_executed, stats.duplicates_ignored), (1, 1));
    finish(unit, second).await;
}

#[tokio::test]
async fn a_refused_token_on_the_upgrade_stops_the_unit() {
    let server = FakeServer::start(TOKEN).await;
    let unit = UnitClient::spawn(config(&server, "stolen-token")).unwrap();
    let outcome = unit.wait_connected(PATIENCE).await;
    assert!(
        matches!(outcome, Err(UnitError::InvalidToken)),
        "{outcome:?}"
    );
    assert_eq!(unit.stopped().await, StopReason::InvalidToken);
    // No retry: the backoff is 20 ms, so a retrying unit would have tried again by now.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(server.upgrade_attempts(), 1);
    assert!(matches!(unit.report(fix(0)), Err(UnitError::InvalidToken)));
    assert!(matches!(
        shut_down(unit).await,
        Err(UnitError::InvalidToken)
    ));
}

#[tokio::test]
async fn an_upgrade_refused_after_a_working_connection_also_stops_the_unit() {
    let mut server = FakeServer::start(TOKEN).await;
    let (unit, channel) = connected_unit(&mut server).await;
    server.refuse_upgrades(401); // the token was revoked while connected
    channel.close().await;
    let stopped = tokio::time::timeout(PATIENCE, unit.stopped()).await;
    assert_eq!(stopped.ok(), Some(StopReason::InvalidToken));
    assert!(!unit.connected());
}

#[tokio::test]
async fn behaviours_shape_the_acknowledgements() {
    let mut server = FakeServer::start(TOKEN).await;
    let (unit, mut channel) = connected_unit(&mut server).await;

    unit.set_behaviour(Behaviour::Refuse("battery too low".into()));
    let refused = command(Action::Unlock);
    channel.send_command(&refused).await;
    let expected =
        json!({"command_id": refused.command_id, "result": "failed", "reason": "battery too low"});
    assert_eq!(channel.next_ack().await, expected);
    assert_eq!(unit.doors(), DoorState::Locked);

    unit.set_behaviour(Behaviour::Silent);
    let ignored = command(Action::Unlock);
    channel.send_command(&ignored).await;
    assert_eq!(
        channel.next_ack_within(Duration::from_millis(150)).await,
        None
    );
    assert_eq!(unit.doors(), DoorState::Locked);

    // Not remembered while silent: re-sent once the unit obeys again, it runs.
    unit.set_behaviour(Behaviour::DelayAck(Duration::from_millis(200)));
    let sent = Instant::now();
    channel.send_command(&ignored).await;
    assert_eq!(channel.next_ack().await, done(&ignored));
    assert!(
        sent.elapsed() >= Duration::from_millis(200),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(unit.doors(), DoorState::Unlocked);
    finish(unit, channel).await;
}

#[tokio::test]
async fn unreadable_frames_are_ignored_without_losing_the_connection() {
    let mut server = FakeServer::start(TOKEN).await;
    let (unit, mut channel) = connected_unit(&mut server).await;
    channel.send_text("not json").await;
    channel
        .send_text(r#"{"command_id":"nope","action":"unlock","expires_at":"soon"}"#)
        .await;
    channel.send_binary(vec![1, 2, 3]).await;
    channel
        .send_text(r#"{"error":"could not read your frame"}"#)
        .await;
    let unlock = command(Action::Unlock);
    channel.send_command(&unlock).await;
    assert_eq!(channel.next_ack().await, done(&unlock));
    let stats = unit.stats();
    assert_eq!(
        (
            stats.invalid_frames,
            stats.reconnects,
            stats.commands_received
        ),
        (3, 0, 1)
    );
    finish(unit, channel).await;
}

#[tokio::test]
async fn shutdown_closes_the_socket_politely() {
    let mut server = FakeServer::start(TOKEN).await;
    let (unit, channel) = connected_unit(&mut server).await;
    let started = Instant::now();
    let (shutdown, close) = tokio::join!(shut_down(unit), channel.expect_close());
    shutdown.unwrap();
    let close = close.expect("a close frame with a code");
    assert_eq!(u16::from(close.code), 1001);
    // The server answered the close, so the unit did not sit out its grace period.
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn settings_that_cannot_work_are_refused_at_spawn() {
    let server = FakeServer::start(TOKEN).await;
    let no_host = UnitConfig {
        base_url: "https://".into(),
        ..config(&server, TOKEN)
    };
    assert!(matches!(
        UnitClient::spawn(no_host),
        Err(UnitError::Config(_))
    ));
    let newline = config(&server, "two\nlines");
    assert!(matches!(
        UnitClient::spawn(newline),
        Err(UnitError::Config(_))
    ));
}
