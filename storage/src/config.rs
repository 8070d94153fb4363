//! Storage settings, read from the `[storage]` section of the configuration.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where stores live and how much memory and flushing they get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// The directory holding one sub-directory per service store.
    pub data_dir: PathBuf,
    /// sled's page cache per store, in MiB. sled's own default is 1 GiB per `Db`, which with six
    /// stores would let the cache alone claim 6 GiB.
    pub cache_capacity_mb: u64,
    /// How often lazily written data (positions) is flushed, in milliseconds. It is also the
    /// longest stretch of lazy writes a crash can lose.
    pub flush_every_ms: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("data"),
            cache_capacity_mb: 64,
            flush_every_ms: 500,
        }
    }
}
