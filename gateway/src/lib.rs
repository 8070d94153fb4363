//! The ev-rental HTTP gateway: routes REST requests into the service handles.

#![warn(missing_docs, unreachable_pub)]

pub mod app;
pub mod cli;
pub mod routes;
pub mod server;
pub mod telemetry;
