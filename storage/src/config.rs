//! Storage settings, read from the `[storage]` section of the configuration.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::replication::ReplicatorSlot;

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
    /// Under load, how long a durable commit may wait after the previous flush for others to
    /// join it, in microseconds (0: flush at once). Each flush costs sled a write of its log
    /// buffer on its IO threads, so batching more writes a flush saves CPU; the wait applies
    /// only when the previous flush ended less than this long ago.
    pub commit_window_us: u64,
    /// Where durable commits are replicated before they are acknowledged (cluster mode); set by
    /// code at start-up, never read from a file: a log client is not a setting.
    #[serde(skip)]
    pub replicator: ReplicatorSlot,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("data"),
            cache_capacity_mb: 64,
            flush_every_ms: 500,
            commit_window_us: 1_000,
            replicator: ReplicatorSlot::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replicator_never_reaches_a_configuration_file() {
        let text = toml::to_string(&StorageConfig::default()).unwrap();
        assert!(!text.contains("replicator"), "{text}");
        let read: StorageConfig = toml::from_str(&text).unwrap();
        assert_eq!(read, StorageConfig::default());
        assert!(toml::from_str::<StorageConfig>("replicator = 1").is_err());
    }
}
