//! The rental domain and the services that run it.

pub mod ask;
pub mod audit;
pub mod billing;
pub mod clock;
pub mod commands;
pub mod config;
pub mod customers;
pub mod domain;
pub mod entity;
pub mod error_kind;
pub mod events;
pub mod ids;
pub mod incident;
pub mod location;
pub mod locks;
pub mod metrics;
pub mod notifications;
pub mod page;
pub mod ports;
pub mod reports;
pub mod reservations;
mod retention;
pub mod system;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod vehicles;

pub use ask::AskError;
pub use config::Config;
pub use error_kind::{ErrorKind, Kinded};
pub use storage::{FlushSnapshot, StorageError};
pub use system::{RentalSystem, SystemError};
