//! The rental domain and the services that run it.

#![warn(missing_docs, unreachable_pub)]

pub mod ask;
pub mod clock;
pub mod config;
pub mod domain;
pub mod entity;
pub mod system;

pub use ask::AskError;
pub use config::Config;
pub use system::{RentalSystem, SystemError};
