//! One unit's connection, from the upgrade to its end.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use actors::ids::VehicleId;
use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::{SinkExt, StreamExt};

use super::protocol::{AckFrame, CommandFrame};
use crate::state::AppState;

/// Serves the command channel of `vehicle`'s unit until it closes, fails, falls silent, or a
/// newer connection of the same unit replaces it.
pub async fn run(socket: WebSocket, state: AppState, vehicle: VehicleId) {
    let mut attached = state.units.attach(vehicle);
    let (mut outgoing, mut incoming) = socket.split();
    let fleet = &state.config.fleet;
    let mut ping = tokio::time::interval(Duration::from_secs(fleet.unit_ping_interval_s));
    ping.tick().await; // the first tick is immediate
    let silence = Duration::from_secs(fleet.unit_silence_timeout_s);
    let mut last_heard = Instant::now();
    // A command issued while this connection starts can come both from the pending list and
    // from the channel; each is sent once per connection.
    let mut sent = HashSet::new();

    // Commands issued while the unit was away, still within their time.
    match state.services.locks.pending_commands(vehicle).await {
        Ok(pending) => {
            for command in pending {
                if !sent.insert(command.command_id) {
                    continue;
                }
                if send(&mut outgoing, &CommandFrame::from(command))
                    .await
                    .is_err()
                {
                    state.units.detach(vehicle, attached.id);
                    return;
                }
            }
        }
        Err(error) => tracing::warn!(%vehicle, %error, "cannot read the unit's pending commands"),
    }
    tracing::info!(%vehicle, "unit connected");

    let reason = loop {
        tokio::select! {
            command = attached.commands.recv() => match command {
                Some(command) => {
                    if !sent.insert(command.command_id) {
                        continue;
                    }
                    if send(&mut outgoing, &CommandFrame::from(command)).await.is_err() {
                        break "send failed";
                    }
                }
                None => {
                    let close = CloseFrame { code: close_code::POLICY, reason: "replaced by a newer connection".into() };
                    let _ = outgoing.send(Message::Close(Some(close))).await;
                    break "replaced";
                }
            },
            frame = incoming.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    last_heard = Instant::now();
                    if let Some(answer) = acknowledge(&state, vehicle, text.as_str()).await
                        && send(&mut outgoing, &answer).await.is_err()
                    {
                        break "send failed";
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    last_heard = Instant::now();
                    let error = serde_json::json!({ "error": "frames are JSON text" });
                    if send(&mut outgoing, &error).await.is_err() {
                        break "send failed";
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => last_heard = Instant::now(),
                Some(Ok(Message::Close(_))) | None => break "closed by the unit",
                Some(Err(_)) => break "connection error",
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > silence {
                    let close = CloseFrame { code: close_code::AWAY, reason: "no answer to pings".into() };
                    let _ = outgoing.send(Message::Close(Some(close))).await;
                    break "silent";
                }
                if outgoing.send(Message::Ping(Default::default())).await.is_err() {
                    break "send failed";
                }
            }
        }
    };
    state.units.detach(vehicle, attached.id);
    tracing::info!(%vehicle, reason, "unit disconnected");
}

async fn send<S>(outgoing: &mut S, frame: &impl serde::Serialize) -> Result<(), ()>
where
    S: SinkExt<Message> + Unpin,
{
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    outgoing
        .send(Message::Text(text.into()))
        .await
        .map_err(|_| ())
}

/// Passes an acknowledgement to the locks service; returns an error frame for the unit when
/// the frame cannot be read or names a command the car never had.
async fn acknowledge(
    state: &AppState,
    vehicle: VehicleId,
    text: &str,
) -> Option<serde_json::Value> {
    let ack: AckFrame = match serde_json::from_str(text) {
        Ok(ack) => ack,
        Err(error) => {
            return Some(
                serde_json::json!({ "error": format!("unreadable acknowledgement: {error}") }),
            );
        }
    };
    match state
        .services
        .locks
        .acknowledge(vehicle, ack.command_id, ack.unit_result())
        .await
    {
        Ok(outcome) => {
            tracing::debug!(%vehicle, command = %ack.command_id, ?outcome, "acknowledgement");
            ack.reason_error()
        }
        Err(error) => {
            tracing::warn!(%vehicle, command = %ack.command_id, %error, "acknowledgement refused");
            Some(serde_json::json!({ "error": error.to_string(), "command_id": ack.command_id }))
        }
    }
}
