//! The car units' command channel: each unit keeps one WebSocket open, through which the
//! locks service's commands reach it and its acknowledgements come back.
//!
//! Each session attaches its unit to the [`UnitConnections`](actors::locks::UnitConnections)
//! of the production unit link, which hands a command to the live connection of the car, if
//! any, without waiting. A unit that connects again replaces its previous connection (the old
//! one is closed), and is sent every command of its car that has not expired yet, so a command
//! issued while it was out of coverage still reaches it in time.
//!
//! Limits: a unit's frames are a few hundred bytes, so a message (and a frame) is at most
//! [`MAX_MESSAGE_BYTES`]; a larger one ends the connection (the WebSocket library's default
//! was 64 MiB, which one connection could make the server buffer). A failure `reason` is kept
//! to [`actors::commands::MAX_REASON_CHARS`] characters: see [`AckFrame`].

mod protocol;
mod session;

use axum::extract::ws::WebSocketUpgrade;

pub use protocol::{AckFrame, AckResult, CommandFrame};
pub use session::run as run_session;

/// Largest message (and frame) a unit may send, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// The upgrade with the channel's limits: what the connection may take in at once.
pub fn limited(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
}
