//! The ev-rental HTTP gateway: routes REST requests into the service handles. No business
//! rule lives here: handlers parse, authenticate, call a handle and shape the answer.

pub mod access_log;
pub mod app;
pub mod auth;
pub mod cli;
pub mod client_addr;
pub mod cluster;
pub mod error;
pub mod extract;
pub mod login_limit;
pub mod metrics;
pub mod osmand;
pub mod probe;
pub mod rate_limit;
pub mod redact;
pub mod routes;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod units;
