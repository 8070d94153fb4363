//! The reference car-unit client: what a car's embedded unit does against ev-rental.
//!
//! A unit is the backend's second kind of client (the app is the first). It authenticates with
//! the device token an admin received once when registering the vehicle, and it does two
//! independent things, each in its own task so that one failing never starves the other:
//!
//! - **positions** — `POST {base}/v1/units/{vehicle_id}/positions` with one fix or a batch of up
//!   to 500. Fixes that cannot be delivered (no coverage, server down, rate limited) wait in a
//!   bounded [`Backlog`] and go out oldest first when the server answers again;
//! - **commands** — a WebSocket on `{base}/v1/units/{vehicle_id}/commands` on which the server
//!   sends lock/unlock commands and the unit acknowledges each. The socket is reopened with
//!   exponential backoff and jitter whenever it drops; the server re-sends every command that
//!   has not expired, so the unit remembers what it already executed and only re-acknowledges.
//!
//! Both speak TLS (`https://` gives `wss://`, through rustls with the public roots and any
//! private authority configured); plain `http://` is for a trusted network only. With
//! [`UnitConfig::backlog_file`] the backlog is kept on disk, so fixes taken while the server
//! was out of reach survive a restart of the unit.
//!
//! ```no_run
//! # async fn example() -> Result<(), simulator::unit::UnitError> {
//! use simulator::unit::{Fix, UnitClient, UnitConfig};
//! use std::time::Duration;
//!
//! let vehicle_id = uuid::Uuid::now_v7();
//! let config = UnitConfig::new("http://127.0.0.1:8080", vehicle_id, "device-token");
//! let unit = UnitClient::spawn(config)?;
//! unit.wait_connected(Duration::from_secs(10)).await?;
//! unit.report(Fix::new(-27.5954, -48.5480, chrono::Utc::now()))?;
//! println!("doors: {:?}", unit.doors());
//! unit.shutdown().await?;
//! # Ok(()) }
//! ```

mod backlog;
mod backoff;
mod client;
mod commands;
mod config;
mod doors;
mod error;
mod executed;
mod journal;
mod positions;
mod protocol;
mod servers;
mod shared;
mod tls;

pub use backlog::Backlog;
pub use backoff::Backoff;
pub use client::{UnitClient, UnitHandle};
pub use config::UnitConfig;
pub use doors::{Behaviour, DoorState, Doors};
pub use error::UnitError;
pub use executed::ExecutedCommands;
pub use protocol::{
    AckFrame, AckResult, Action, CommandFrame, Fix, PositionsAccepted, PositionsRejected,
    RejectedFix, ServerFrame, parse_server_frame,
};
pub use shared::{StopReason, UnitStats};
pub use tls::certificates_from_pem;

#[cfg(test)]
mod tests;
