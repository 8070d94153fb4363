//! The leader-following sender: choosing the next node, and following real answers.

use super::*;

fn roots() -> Vec<String> {
    ["http://a:1", "http://b:2", "http://c:3"]
        .map(String::from)
        .to_vec()
}

#[test]
fn only_what_is_harmless_twice_is_sent_again_after_a_lost_answer() {
    let key = [("Idempotency-Key", "k")];
    let car = "/v1/vehicles/0190c0de-0000-7000-8000-000000000000";
    for (method, path, headers, repeat) in [
        (Method::GET, "/v1/audit", &[][..], Repeat::Always),
        (Method::POST, "/v1/auth/token", &[], Repeat::Always),
        (Method::POST, "/v1/reservations", &key, Repeat::Always),
        (
            Method::POST,
            "/v1/reservations",
            &[],
            Repeat::UnlessDelivered,
        ),
        (Method::POST, "/v1/customers", &[], Repeat::UnlessDelivered),
        (Method::POST, "/v1/vehicles", &[], Repeat::UnlessDelivered),
        (
            Method::POST,
            "/v1/reservations/x/finish",
            &[],
            Repeat::UnlessDelivered,
        ),
        (
            Method::POST,
            "/v1/reservations/x/cancel",
            &[],
            Repeat::UnlessDelivered,
        ),
    ] {
        assert_eq!(repeat_of(&method, path, headers), repeat, "{method} {path}");
    }
    let unlock = format!("{car}/unlock");
    let lock = format!("{car}/lock");
    assert_eq!(repeat_of(&Method::POST, &unlock, &[]), Repeat::Always);
    assert_eq!(repeat_of(&Method::POST, &lock, &[]), Repeat::Always);
}

#[test]
fn a_follower_naming_the_leader_is_followed() {
    let next = next_node(&roots(), "http://b:2", Some("http://c:3"), &[]);
    assert_eq!(next, "http://c:3");
    // A leader outside the list (another advertised address) is followed too.
    let next = next_node(&roots(), "http://b:2", Some("http://lb:9"), &[]);
    assert_eq!(next, "http://lb:9");
}

#[test]
fn without_a_usable_name_the_next_node_of_the_list_is_asked() {
    // No leader right now: the next one, wrapping around.
    assert_eq!(next_node(&roots(), "http://c:3", None, &[]), "http://a:1");
    // The named leader did not answer a moment ago (a dead leader still named by a
    // follower whose view is stale): the list decides.
    let dead = ["http://a:1".to_owned()];
    let next = next_node(&roots(), "http://b:2", Some("http://a:1"), &dead);
    assert_eq!(next, "http://c:3");
    // Unreachable nodes are skipped while another is left...
    let dead = ["http://b:2".to_owned()];
    assert_eq!(next_node(&roots(), "http://a:1", None, &dead), "http://c:3");
    // ...and when every other one failed, the next is tried again.
    let all = roots();
    assert_eq!(next_node(&all, "http://a:1", None, &all), "http://b:2");
    // A node outside the list failed: back to the list's first.
    assert_eq!(next_node(&roots(), "http://lb:9", None, &[]), "http://a:1");
    // A single node stays the one.
    let single = ["http://a:1".to_owned()];
    assert_eq!(
        next_node(&single, "http://a:1", None, &single),
        "http://a:1"
    );
}

#[test]
fn only_a_followers_refusal_counts_as_not_leader() {
    let named =
        r#"{"type":"urn:ev-rental:problem:not-leader","status":503,"leader_url":"http://c:3/"}"#;
    assert_eq!(
        not_leader(StatusCode::SERVICE_UNAVAILABLE, named),
        Some(Some("http://c:3".to_owned()))
    );
    let nobody = r#"{"type":"urn:ev-rental:problem:not-leader","status":503,"leader_url":null}"#;
    assert_eq!(
        not_leader(StatusCode::SERVICE_UNAVAILABLE, nobody),
        Some(None)
    );
    let busy = r#"{"type":"urn:ev-rental:problem:unavailable","status":503}"#;
    assert_eq!(not_leader(StatusCode::SERVICE_UNAVAILABLE, busy), None);
    assert_eq!(not_leader(StatusCode::CONFLICT, named), None);
    assert_eq!(not_leader(StatusCode::SERVICE_UNAVAILABLE, "<html>"), None);
}

#[test]
fn a_move_away_from_a_node_another_request_left_already_is_ignored() {
    let nodes = Nodes::new(roots());
    assert_eq!(nodes.leader(), "http://a:1");
    nodes.moved("http://a:1", "http://b:2");
    // A slower request that also saw node a fail does not undo the move.
    nodes.moved("http://a:1", "http://c:3");
    assert_eq!(nodes.leader(), "http://b:2");
    assert_eq!(nodes.others("http://b:2"), ["http://a:1", "http://c:3"]);
}

/// How a fake node treats every request.
#[derive(Clone)]
enum Behaviour {
    /// 200 `{"node": <its name>}`.
    Serve(&'static str),
    /// 503 `not-leader`, naming the node at this root (or none).
    Follower(Option<String>),
    /// Reads the request, then closes the connection without a word: the request arrived and
    /// its answer was lost.
    Hangs,
}

/// A node on a loopback port answering as `behaviour` says; its root and how many requests
/// it received.
async fn fake_node(
    behaviour: impl Fn() -> Behaviour + Send + 'static,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = received.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            // One request per connection, small enough for one read.
            let mut buffer = vec![0; 8192];
            let _ = stream.read(&mut buffer).await;
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let (status, body) = match behaviour() {
                Behaviour::Serve(name) => ("200 OK", format!(r#"{{"node":"{name}"}}"#)),
                Behaviour::Follower(leader) => (
                    "503 Service Unavailable",
                    format!(
                        r#"{{"type":"urn:ev-rental:problem:not-leader","status":503,"leader_url":{}}}"#,
                        leader.map_or("null".to_owned(), |url| format!("\"{url}\""))
                    ),
                ),
                Behaviour::Hangs => continue,
            };
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    (root, received)
}

/// A loopback root nothing listens on: connections are refused.
fn refusing_root() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

async fn send(nodes: &Nodes, repeat: Repeat) -> Result<(StatusCode, String), OpError> {
    let http = reqwest::Client::new();
    nodes
        .send(&http, Method::POST, "/v1/things", |request| request, repeat)
        .await
}

#[tokio::test]
async fn a_request_follows_the_leader_a_follower_names_and_stays_there() {
    let (leader, _) = fake_node(|| Behaviour::Serve("leader")).await;
    let named = leader.clone();
    let (follower, asked) = fake_node(move || Behaviour::Follower(Some(named.clone()))).await;
    let nodes = Nodes::new(vec![follower, leader.clone()]);
    let (status, text) = send(&nodes, Repeat::UnlessDelivered).await.unwrap();
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::OK, r#"{"node":"leader"}"#)
    );
    assert_eq!(nodes.leader(), leader);
    // The next request goes straight to the leader.
    send(&nodes, Repeat::UnlessDelivered).await.unwrap();
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_connection_moves_on_even_for_what_cannot_be_repeated() {
    let (leader, _) = fake_node(|| Behaviour::Serve("leader")).await;
    let nodes = Nodes::new(vec![refusing_root(), leader.clone()]);
    let (status, _) = send(&nodes, Repeat::UnlessDelivered).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(nodes.leader(), leader);
}

#[tokio::test]
async fn a_lost_answer_is_asked_again_only_when_that_is_harmless() {
    let (leader, served) = fake_node(|| Behaviour::Serve("leader")).await;
    let (hanging, _) = fake_node(|| Behaviour::Hangs).await;
    // A release or a cancellation may have been applied: its loss is the caller's error.
    let nodes = Nodes::new(vec![hanging.clone(), leader.clone()]);
    let lost = send(&nodes, Repeat::UnlessDelivered).await.unwrap_err();
    assert_eq!(lost.kind, OpErrorKind::Transport);
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 0);
    // A read, or a booking under its key, is asked again on the next node.
    let (status, _) = send(&nodes, Repeat::Always).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(nodes.leader(), leader);
}

#[tokio::test]
async fn with_one_server_a_lost_answer_is_reported_without_asking_again() {
    let (hanging, asked) = fake_node(|| Behaviour::Hangs).await;
    let nodes = Nodes::new(vec![hanging]);
    let lost = send(&nodes, Repeat::Always).await.unwrap_err();
    assert_eq!(lost.kind, OpErrorKind::Transport);
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
    let refused = Nodes::new(vec![refusing_root()]);
    let lost = send(&refused, Repeat::Always).await.unwrap_err();
    assert_eq!(lost.kind, OpErrorKind::Transport);
}

#[tokio::test]
async fn a_follower_without_a_leader_is_asked_again_until_one_leads() {
    let (leader, _) = fake_node(|| Behaviour::Serve("leader")).await;
    let named = leader.clone();
    // The follower knows no leader for its first two answers, then names it.
    let answers = std::sync::atomic::AtomicUsize::new(0);
    let (follower, _) = fake_node(move || {
        if answers.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
            Behaviour::Follower(None)
        } else {
            Behaviour::Follower(Some(named.clone()))
        }
    })
    .await;
    // The leader is not in the list: only the follower's answer leads there.
    let nodes = Nodes::new(vec![follower]);
    let (status, _) = send(&nodes, Repeat::Always).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(nodes.leader(), leader);
}
