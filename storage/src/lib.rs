//! Storage for ev-rental: one sled database per service, typed tables over its trees, one
//! value codec, order-preserving keys, unique indexes, transactions within a store, and group
//! commit for durable writes.
//!
//! Nothing here knows the rental domain: services define their records and choose, per write,
//! whether to wait for durability ([`Store::commit`]) or rely on the periodic flush.
//!
//! In cluster mode a store replicates every flush through a [`Replicator`] before acknowledging
//! it, and followers rebuild it with [`Store::apply`] (see [`replication`]).

pub mod codec;
mod commit;
mod config;
mod error;
mod follower;
mod index;
mod journal;
mod key;
mod outbox;
mod replicated_flush;
pub mod replication;
mod stats;
mod store;
mod table;
mod transaction;

pub use config::StorageConfig;
pub use error::{StorageError, StorageResult};
pub use follower::Snapshot;
pub use index::UniqueIndex;
pub use key::{Key, KeyError};
pub use outbox::Outbox;
pub use replication::{Batch, Change, ReplicationError, Replicator, ReplicatorSlot};
pub use stats::FlushSnapshot;
pub use store::Store;
pub use table::{Entries, Table};
pub use transaction::{Tx, TxAbort, TxError, TxIndex, TxMember, TxOpError, TxTable};
