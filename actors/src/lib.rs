//! The rental domain and the services that run it.

#![warn(missing_docs, unreachable_pub)]

pub mod config;
pub mod domain;
pub mod system;

pub use config::Config;
pub use system::{RentalSystem, SystemError};
