//! Storage for ev-rental: one sled database per service, typed tables over its trees, one
//! value codec, order-preserving keys, unique indexes, transactions within a store, and group
//! commit for durable writes.
//!
//! Nothing here knows the rental domain: services define their records and choose, per write,
//! whether to wait for durability ([`Store::commit`]) or rely on the periodic flush.

pub mod codec;
mod commit;
mod config;
mod error;
mod index;
mod key;
mod outbox;
mod stats;
mod store;
mod table;
mod transaction;

pub use config::StorageConfig;
pub use error::{StorageError, StorageResult};
pub use index::UniqueIndex;
pub use key::{Key, KeyError};
pub use outbox::Outbox;
pub use stats::FlushSnapshot;
pub use store::Store;
pub use table::{Entries, Table};
pub use transaction::{Tx, TxAbort, TxError, TxIndex, TxMember, TxOpError, TxTable};
