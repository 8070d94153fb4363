//! The car units' command channel: each unit keeps one WebSocket open, through which the
//! locks service's commands reach it and its acknowledgements come back.
//!
//! Each session attaches its unit to the [`UnitConnections`](actors::locks::UnitConnections)
//! of the production unit link, which hands a command to the live connection of the car, if
//! any, without waiting. A unit that connects again replaces its previous connection (the old
//! one is closed), and is sent every command of its car that has not expired yet, so a command
//! issued while it was out of coverage still reaches it in time.

mod protocol;
mod session;

pub use protocol::{AckFrame, AckResult, CommandFrame};
pub use session::run as run_session;
