//! The command channel: a WebSocket kept open for as long as the unit runs.
//!
//! One connection at a time. When it drops (coverage lost, server restarted, or the server
//! replaced it with a newer connection of the same unit), the unit waits with exponential
//! backoff and jitter and opens a new one; the server then re-sends every command that has not
//! expired, which [`ExecutedCommands`] turns into re-acknowledgements.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{
    Connector, MaybeTlsStream, WebSocketStream, connect_async_tls_with_config,
};
use tracing::{Instrument, debug, error, info, info_span, warn};

use super::protocol::excerpt;
use super::servers::socket_root;
use super::shared::{Shared, StopReason, bump, stopping};
use super::{
    AckFrame, Backoff, Behaviour, ExecutedCommands, ServerFrame, UnitConfig, UnitError,
    parse_server_frame,
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a polite close waits for the server's close frame before dropping the socket.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The command task, ready to run.
#[derive(Debug)]
pub(crate) struct CommandChannel {
    /// The channel's path under whichever server is in use.
    path: String,
    authorization: HeaderValue,
    tls: Arc<rustls::ClientConfig>,
}

impl CommandChannel {
    /// Prepares the upgrade request's pieces, so that a bad URL or token fails at spawn.
    pub(crate) fn new(
        config: &UnitConfig,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Self, UnitError> {
        let path = config.commands_path();
        for root in config.roots()? {
            let url = format!("{}{path}", socket_root(&root));
            url.as_str().into_client_request().map_err(|error| {
                UnitError::Config(format!("bad WebSocket address {url}: {error}"))
            })?;
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", config.device_token))
            .map_err(|_| {
            UnitError::Config("the device token is not a valid header value".into())
        })?;
        authorization.set_sensitive(true);
        Ok(CommandChannel {
            path,
            authorization,
            tls,
        })
    }

    /// Keeps the channel open until the unit stops.
    pub(crate) async fn run(self, shared: Arc<Shared>) {
        let span = info_span!("commands", vehicle = %shared.config.vehicle_id);
        self.reconnect_forever(&shared).instrument(span).await;
        shared.connected.send_replace(false);
    }

    async fn reconnect_forever(&self, shared: &Shared) {
        let config = &shared.config;
        let mut backoff = Backoff::new(config.initial_backoff, config.max_backoff);
        let mut stop = shared.stop.subscribe();
        let mut executed = ExecutedCommands::new(config.executed_memory);
        let mut connections: u64 = 0;
        loop {
            let (server, root) = shared.servers.current();
            let url = format!("{}{}", socket_root(root), self.path);
            let attempt = tokio::select! {
                attempt = self.connect(&url, config.request_timeout) => attempt,
                _ = stopping(&mut stop) => return,
            };
            let failure = match attempt {
                Ok(socket) => {
                    connections += 1;
                    if connections > 1 {
                        bump(&shared.counters.reconnects, 1);
                    }
                    info!(connection = connections, "command channel open");
                    shared.connected.send_replace(true);
                    let opened = Instant::now();
                    let end = serve(shared, &mut executed, &mut stop, socket).await;
                    shared.connected.send_replace(false);
                    if opened.elapsed() >= config.backoff_reset_after {
                        backoff.reset();
                    }
                    match end {
                        Ok(()) => return,
                        Err(reason) => ("command channel lost", reason),
                    }
                }
                Err(UnitError::InvalidToken) => {
                    error!("the server refused the device token on the command channel; stopping");
                    shared.request_stop(StopReason::InvalidToken);
                    return;
                }
                Err(error) => {
                    // A follower refuses the upgrade with 503, a dead node not at all: the
                    // leader is another node.
                    shared.servers.failed(server);
                    ("could not open the command channel", error)
                }
            };
            let delay = backoff.next_delay();
            let (what, error) = failure;
            warn!(%error, retry_in = ?delay, "{what}");
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = stopping(&mut stop) => return,
            }
        }
    }

    /// One upgrade attempt, bounded in time. A 401 answer becomes [`UnitError::InvalidToken`].
    async fn connect(&self, url: &str, timeout: Duration) -> Result<Socket, UnitError> {
        let mut request = url.into_client_request()?;
        request
            .headers_mut()
            .insert(AUTHORIZATION, self.authorization.clone());
        // The connector only applies to `wss://`; a `ws://` address stays plain.
        let connector = Connector::Rustls(Arc::clone(&self.tls));
        let handshake = connect_async_tls_with_config(request, None, false, Some(connector));
        match tokio::time::timeout(timeout, handshake).await {
            Err(_elapsed) => Err(UnitError::WebSocket(Box::new(tungstenite::Error::Io(
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "WebSocket handshake timed out",
                ),
            )))),
            Ok(Err(tungstenite::Error::Http(response)))
                if response.status() == StatusCode::UNAUTHORIZED =>
            {
                Err(UnitError::InvalidToken)
            }
            Ok(Err(error)) => Err(error.into()),
            Ok(Ok((socket, _response))) => Ok(socket),
        }
    }
}

/// Serves one connection: `Ok` when the unit is stopping (the socket was closed politely),
/// `Err` with the reason when the connection was lost.
async fn serve(
    shared: &Shared,
    executed: &mut ExecutedCommands,
    stop: &mut watch::Receiver<Option<StopReason>>,
    mut socket: Socket,
) -> Result<(), UnitError> {
    // Acknowledgements held back by `Behaviour::DelayAck`. Dropped (aborted) with the
    // connection: the server re-sends the command on the next one and gets the answer then.
    let mut delayed: JoinSet<AckFrame> = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopping(stop) => {
                close_politely(&mut socket).await;
                return Ok(());
            }
            Some(Ok(ack)) = delayed.join_next(), if !delayed.is_empty() => {
                send_ack(shared, &mut socket, &ack).await?;
            }
            // Reading is also what answers the server's pings (tungstenite queues the pong and
            // flushes it on the next read or write), so this branch must always be polled.
            frame = socket.next() => match frame {
                None => return Err(tungstenite::Error::ConnectionClosed.into()),
                Some(Err(error)) => return Err(error.into()),
                Some(Ok(Message::Text(text))) => match decide(shared, executed, &text, Utc::now()) {
                    Reply::Nothing => {}
                    Reply::Now(ack) => send_ack(shared, &mut socket, &ack).await?,
                    Reply::After(delay, ack) => {
                        delayed.spawn(async move {
                            tokio::time::sleep(delay).await;
                            ack
                        });
                    }
                },
                Some(Ok(Message::Close(frame))) => {
                    // tungstenite answers the close; the stream then ends and we reconnect.
                    info!(?frame, "the server is closing the command channel");
                }
                Some(Ok(Message::Binary(bytes))) => {
                    bump(&shared.counters.invalid_frames, 1);
                    warn!(len = bytes.len(), "ignored a binary frame (the protocol is text only)");
                }
                Some(Ok(_ping_pong_or_raw)) => {}
            },
        }
    }
}

/// What to answer to a frame.
#[derive(Debug, PartialEq)]
pub(crate) enum Reply {
    /// Nothing: not a command, expired, or the unit plays silent.
    Nothing,
    /// This acknowledgement, now.
    Now(AckFrame),
    /// This acknowledgement, after a delay.
    After(Duration, AckFrame),
}

/// Applies one text frame to the doors: parse, drop if expired, re-acknowledge if already
/// executed, otherwise execute once and remember the outcome. Kept free of I/O so that the
/// rules can be read in one place.
pub(crate) fn decide(
    shared: &Shared,
    executed: &mut ExecutedCommands,
    text: &str,
    now: DateTime<Utc>,
) -> Reply {
    let counters = &shared.counters;
    let command = match parse_server_frame(text) {
        Ok(ServerFrame::Command(command)) => command,
        Ok(ServerFrame::Error(message)) => {
            warn!(message, "the server could not read one of our frames");
            return Reply::Nothing;
        }
        Err(error) => {
            bump(&counters.invalid_frames, 1);
            warn!(%error, "ignored an unreadable frame");
            return Reply::Nothing;
        }
    };
    bump(&counters.commands_received, 1);
    let id = command.command_id;
    let action = command.action;
    if command.expires_at <= now {
        bump(&counters.expired_ignored, 1);
        info!(command_id = %id, ?action, expires_at = %command.expires_at, "expired command ignored");
        return Reply::Nothing;
    }
    if let Some(outcome) = executed.outcome(id) {
        bump(&counters.duplicates_ignored, 1);
        info!(command_id = %id, ?action, "command already executed: acknowledging it again");
        return Reply::Now(AckFrame::for_outcome(id, outcome));
    }
    let (outcome, delay, state) = {
        let mut doors = shared.doors();
        if *doors.behaviour() == Behaviour::Silent {
            info!(command_id = %id, ?action, "silent unit: command received, not answered");
            return Reply::Nothing;
        }
        let outcome = doors.execute(action);
        (outcome, doors.ack_delay(), doors.state())
    };
    shared.door_state.send_if_modified(|current| {
        let changed = *current != state;
        *current = state;
        changed
    });
    bump(&counters.commands_executed, 1);
    match &outcome {
        Ok(()) => info!(command_id = %id, ?action, doors = ?state, "command executed"),
        Err(reason) => warn!(command_id = %id, ?action, doors = ?state, reason, "command failed"),
    }
    let ack = AckFrame::for_outcome(id, &outcome);
    executed.remember(id, outcome);
    if delay.is_zero() {
        Reply::Now(ack)
    } else {
        Reply::After(delay, ack)
    }
}

async fn send_ack(shared: &Shared, socket: &mut Socket, ack: &AckFrame) -> Result<(), UnitError> {
    let text =
        serde_json::to_string(ack).map_err(|error| UnitError::Protocol(error.to_string()))?;
    debug!(frame = %excerpt(&text), "acknowledging");
    socket.send(Message::text(text)).await?;
    bump(&shared.counters.acks_sent, 1);
    Ok(())
}

/// A close frame ("going away"), then a short wait for the server's own close frame, so the
/// server sees a clean goodbye instead of a reset connection.
async fn close_politely(socket: &mut Socket) {
    let goodbye = CloseFrame {
        code: CloseCode::Away,
        reason: "unit shutting down".into(),
    };
    if let Err(error) = socket.close(Some(goodbye)).await {
        debug!(%error, "could not send the close frame");
        return;
    }
    let drain = async { while let Some(Ok(_)) = socket.next().await {} };
    if tokio::time::timeout(CLOSE_GRACE, drain).await.is_err() {
        debug!("the server did not answer the close frame in time");
    }
    info!("command channel closed");
}
