//! A fake ev-rental server for the unit's tests, on one port like the real one: a `POST` goes
//! to a tiny hand-written HTTP/1.1 responder (the positions endpoint), a `GET` to a WebSocket
//! upgrade (the command channel). Both check the bearer token.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{WebSocketStream, accept_hdr_async};

use crate::unit::CommandFrame;

/// How long a test waits for something that should happen at once.
pub(super) const PATIENCE: Duration = Duration::from_millis(1500);

/// An answer of the positions endpoint.
#[derive(Debug, Clone)]
pub(super) enum Canned {
    /// 202 with the counts of the request's fixes.
    Accept,
    /// A fixed status, extra headers and JSON body.
    Status(u16, Vec<(&'static str, String)>, Value),
}

/// A request the positions endpoint received.
#[derive(Debug, Clone)]
pub(super) struct Recorded {
    pub(super) at: Instant,
    pub(super) path: String,
    pub(super) authorization: Option<String>,
    pub(super) body: Value,
    pub(super) status: u16,
}

struct State {
    token: String,
    /// 0: accept upgrades; otherwise the status refusing them.
    refuse_upgrades: AtomicU16,
    upgrade_attempts: AtomicUsize,
    script: Mutex<(VecDeque<Canned>, Canned)>,
    requests: Mutex<Vec<Recorded>>,
    connections: mpsc::UnboundedSender<FakeConnection>,
}

/// The fake server; stops when dropped.
pub(super) struct FakeServer {
    addr: SocketAddr,
    state: Arc<State>,
    connections: mpsc::UnboundedReceiver<FakeConnection>,
    accept_loop: JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

impl FakeServer {
    /// Listens on 127.0.0.1:0, accepting `token` only, answering 202 to every report.
    pub(super) async fn start(token: &str) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (sender, connections) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            token: token.to_owned(),
            refuse_upgrades: AtomicU16::new(0),
            upgrade_attempts: AtomicUsize::new(0),
            script: Mutex::new((VecDeque::new(), Canned::Accept)),
            requests: Mutex::new(Vec::new()),
            connections: sender,
        });
        let accepting = Arc::clone(&state);
        let accept_loop = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(route(stream, Arc::clone(&accepting)));
            }
        });
        FakeServer {
            addr,
            state,
            connections,
            accept_loop,
        }
    }

    pub(super) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(super) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers every upgrade with `status` from now on (401: the token was revoked; 503: no
    /// command channel, for tests of the positions alone).
    pub(super) fn refuse_upgrades(&self, status: u16) {
        self.state.refuse_upgrades.store(status, Ordering::SeqCst);
    }

    pub(super) fn upgrade_attempts(&self) -> usize {
        self.state.upgrade_attempts.load(Ordering::SeqCst)
    }

    /// The answer to the next report not yet scripted.
    pub(super) fn respond_next(&self, canned: Canned) {
        self.state.script.lock().unwrap().0.push_back(canned);
    }

    /// The answer once the scripted ones are used up.
    pub(super) fn set_fallback(&self, canned: Canned) {
        self.state.script.lock().unwrap().1 = canned;
    }

    pub(super) fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The next accepted WebSocket connection.
    pub(super) async fn next_connection(&mut self) -> FakeConnection {
        tokio::time::timeout(PATIENCE, self.connections.recv())
            .await
            .expect("the unit did not connect in time")
            .expect("the accept loop ended")
    }
}

/// Polls `condition` until it holds, failing the test after [`PATIENCE`].
pub(super) async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A `POST` is a position report, anything else a WebSocket upgrade.
async fn route(stream: TcpStream, state: Arc<State>) {
    let mut start = [0u8; 4];
    loop {
        match stream.peek(&mut start).await {
            Ok(0) | Err(_) => return,
            Ok(4) => break,
            Ok(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
    if &start == b"POST" {
        answer_report(stream, &state).await;
    } else {
        upgrade(stream, state).await;
    }
}

#[allow(
    clippy::result_large_err,
    reason = "the callback's error type is tungstenite's, not ours to shrink"
)]
async fn upgrade(stream: TcpStream, state: Arc<State>) {
    state.upgrade_attempts.fetch_add(1, Ordering::SeqCst);
    let checking = Arc::clone(&state);
    let check = move |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let expected = format!("Bearer {}", checking.token);
        let presented = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let refused = match checking.refuse_upgrades.load(Ordering::SeqCst) {
            _ if presented != Some(expected.as_str()) => StatusCode::UNAUTHORIZED,
            0 => return Ok(response),
            status => StatusCode::from_u16(status).unwrap(),
        };
        let mut refusal = ErrorResponse::new(Some("refused".into()));
        *refusal.status_mut() = refused;
        Err(refusal)
    };
    if let Ok(ws) = accept_hdr_async(stream, check).await {
        let _ = state.connections.send(FakeConnection { ws });
    }
}

async fn answer_report(mut stream: TcpStream, state: &State) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(at) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < header_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    }
    let body: Value =
        serde_json::from_slice(&buffer[header_end..header_end + length]).unwrap_or(Value::Null);
    let authorization = header("authorization");
    let canned = if authorization.as_deref() != Some(&format!("Bearer {}", state.token)) {
        Canned::Status(401, vec![], json!({"title": "Unauthorized", "status": 401}))
    } else {
        let mut script = state.script.lock().unwrap();
        let fallback = script.1.clone();
        script.0.pop_front().unwrap_or(fallback)
    };
    let (status, headers, answer) = match canned {
        Canned::Accept => {
            let count = body.as_array().map_or(1, Vec::len);
            (
                202,
                vec![],
                json!({"accepted": count, "duplicates": 0, "flagged": 0}),
            )
        }
        Canned::Status(status, headers, answer) => (status, headers, answer),
    };
    state.requests.lock().unwrap().push(Recorded {
        at: Instant::now(),
        path: head
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned(),
        authorization,
        body,
        status,
    });
    let answer = answer.to_string();
    let mut response = format!(
        "HTTP/1.1 {status} Canned\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        answer.len()
    );
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(&answer);
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The server's side of one command channel.
pub(super) struct FakeConnection {
    ws: WebSocketStream<TcpStream>,
}

impl FakeConnection {
    pub(super) async fn send_command(&mut self, command: &CommandFrame) {
        self.send_text(&serde_json::to_string(command).unwrap())
            .await;
    }

    pub(super) async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    pub(super) async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::binary(bytes)).await.unwrap();
    }

    /// The next text frame from the unit, as JSON.
    pub(super) async fn next_ack(&mut self) -> Value {
        self.next_ack_within(PATIENCE)
            .await
            .expect("no acknowledgement in time")
    }

    /// The next text frame within `wait`, or `None`.
    pub(super) async fn next_ack_within(&mut self, wait: Duration) -> Option<Value> {
        let read = async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
                    Some(Ok(Message::Close(_))) | None => panic!("the unit closed the channel"),
                    Some(Err(error)) => panic!("channel broken: {error}"),
                    Some(Ok(_)) => {}
                }
            }
        };
        tokio::time::timeout(wait, read).await.ok()
    }

    /// Closes from the server's side, as when a newer connection replaces this one.
    pub(super) async fn close(mut self) {
        let _ = self.ws.close(None).await;
        while let Some(Ok(_)) = self.ws.next().await {}
    }

    /// Reads until the unit's close frame, answering it, and returns it.
    pub(super) async fn expect_close(mut self) -> Option<CloseFrame> {
        let read = async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Close(frame))) => {
                        // Keep reading: that is what sends our answering close frame.
                        while let Some(Ok(_)) = self.ws.next().await {}
                        return frame;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => panic!("channel broken before the close frame: {error}"),
                    None => panic!("channel ended without a close frame"),
                }
            }
        };
        tokio::time::timeout(PATIENCE, read)
            .await
            .expect("no close frame in time")
    }
}
