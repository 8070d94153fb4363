//! Cluster mode on NATS JetStream: which node leads, and the log every store's commits go
//! through.
//!
//! One node holds the [`Lease`] and runs the services; each durable commit of each store is
//! appended to the [`Log`] and acknowledged only once JetStream has it on a quorum of servers;
//! the other nodes follow the log into their own stores and take over when the lease expires.
//! The customers' key vault, which must be erasable, goes to a [`VaultBucket`] instead of the
//! log.
//! The servers must run with `sync_interval: always`: with the default, NATS 2.12.1 was shown
//! (Jepsen, 2025) to lose acknowledged writes on a power failure.

mod connect;
mod error;
mod fenced;
mod lease;
mod log;
mod stream_settings;
#[cfg(feature = "testing")]
pub mod testing;
mod vault;

pub use connect::{Nats, connect};
pub use error::{AppendError, ClusterError};
pub use lease::{Acquisition, Holder, Lease, Role, safety_margin};
pub use log::{Entry, Log, LogReader, LogWriter};
pub use vault::{BucketRead, LeaderVault, Takeover, VaultBucket, VaultWriter};
