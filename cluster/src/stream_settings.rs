//! What every JetStream stream of a deployment must be, checked when a node finds one that
//! already exists (made by hand, or by an older version): each stream adds its own rules.

use async_nats::jetstream::stream::{self, StorageType};

use crate::error::ClusterError;

/// The first problem with `found`: not file storage, fewer than `replicas` copies, or what
/// `own` (the stream's own rules) finds; as the error a node stops with.
pub(crate) fn check(
    found: &stream::Config,
    replicas: usize,
    own: impl FnOnce(&stream::Config) -> Option<String>,
) -> Result<(), ClusterError> {
    let problem = if found.storage != StorageType::File {
        Some("its storage is not file".to_owned())
    } else if found.num_replicas < replicas {
        Some(format!(
            "it keeps {} copies, not {replicas}",
            found.num_replicas
        ))
    } else {
        own(found)
    };
    match problem {
        Some(reason) => Err(ClusterError::StreamSettings {
            stream: found.name.clone(),
            reason,
        }),
        None => Ok(()),
    }
}
