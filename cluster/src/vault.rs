//! The customers' key vault, replicated: a JetStream key-value bucket `<name>-keys` with one
//! key per slot (`slot.<index>`), each value the slot's 128 bytes (the customer's key wrapped by
//! the cluster-wide data key). Not the log: the log keeps every entry and denies deletes, and a
//! destroyed key must leave no copy behind (crypto-shredding).
//!
//! How a slot is destroyed, and why not with the key-value API. A KV `delete` only appends a
//! marker; a KV `purge` appends a marker with `Nats-Rollup: sub`, which makes the server drop
//! the subject's earlier messages; a bucket's `history` limit drops the oldest revision when a
//! newer one is stored. All three remove messages through the stream's `removeMsg`, which marks
//! them deleted without overwriting them: the bytes stay in the stream's block files until the
//! server compacts the block, at a time of its choosing (with `history: 1`, a replaced revision
//! was measured still in its block file 15 s later, nats-server 2.15.1). JetStream's
//! message-delete request (`$JS.API.STREAM.MSG.DELETE.<stream>`) instead erases securely unless
//! the request says `no_erase`: `jsStreamDeleteMsgRequest` calls `mset.eraseMsg`, and the file
//! store's `msgBlock.eraseMsg` overwrites the record in place with random bytes (nats-server,
//! `server/jetstream_api.go`, `server/filestore.go`); in a clustered stream the request is
//! proposed to every replica, which applies the same erase. async-nats 0.51's
//! `Stream::delete_message` sends `{"seq": n}` without `no_erase` (`src/jetstream/stream.rs`),
//! so it asks for that erase; the test above finds the erased revision gone from every
//! server's block files at once. The server refuses it on a stream with `deny_delete`, which
//! `create_key_value` always sets, so the bucket's stream is created here with the key-value
//! conventions (`KV_<bucket>`, subjects `$KV.<bucket>.>`, rollups allowed, `discard: new`) and
//! `deny_delete: false`, then opened as a bucket.
//!
//! So no revision is ever left to the limit: the bucket keeps up to [`HISTORY`] revisions per
//! slot, and a put erases the slot's earlier revisions (a rotation's re-wrap, or a slot a failed
//! store left behind) once the new one is stored, and an erase erases them all. A crash between
//! a put and its clean-up leaves an earlier revision that the slot's next put or erase removes.
//!
//! What remains: each server's Raft log of the stream keeps every proposed message until it is
//! compacted behind a snapshot (the test shows the erased slot still there), then only in the
//! file system's freed blocks. Those copies are wrapped by the data key, never plain: without
//! it they open nothing, and the data key is not on the NATS servers.
//!
//! Only the leader writes, and a deposed one must not: a node paused past its lease (a stop, a
//! long pause) that then stored slot 7 would overwrite, and its clean-up erase, the key the new
//! leader had just given slot 7 for another customer. So every put and erase is published with
//! the expected last sequence, like the log's appends (`crate::fenced`), and a node that takes
//! over ([`VaultBucket::take_over`]) reads the bucket, then writes its own `leader` key fenced by
//! the sequence it read: from then on any write of its predecessor is refused, and had the
//! predecessor written between the read and the mark, the mark is refused and the bucket read
//! again. An erase is published too, as a key-value delete marker, before the stream's deletes
//! remove every message of the slot up to that marker: the deletes cannot be fenced, but they
//! reach only revisions older than a fenced write, never one a successor made.

use std::time::Duration;

use actors::config::ClusterConfig;
use actors::customers::{SlotBytes, VaultReplica, VaultReplicaError};
use async_nats::HeaderMap;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::push::OrderedConfig;
use async_nats::jetstream::stream::{self, DiscardPolicy, LastRawMessageErrorKind, StorageType};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::connect::{Nats, REQUEST_TIMEOUT};
use crate::error::{AppendError, ClusterError};
use crate::fenced::Fenced;
use crate::lease::Role;

/// Revisions a slot may have at once: more than a put and its clean-up ever leave, so that the
/// stream's limit, which removes without erasing, never drops one (64 is JetStream's largest
/// key-value history).
pub(crate) const HISTORY: i64 = 64;

/// How often a takeover reads the bucket again when a write of the deposed leader came between
/// its read and its mark. A deposed leader stops writing within one request's timeout.
const TAKEOVER_TRIES: u32 = 5;

/// The key-value API's header naming a delete marker (`DEL`) or a purge marker (`PURGE`).
const KV_OPERATION: &str = "KV-Operation";
/// Drops the subject's earlier messages when this one is stored (JetStream's rollup).
const ROLLUP: &str = "Nats-Rollup";

/// The bucket of one deployment (`cluster.name`), for reading; [`VaultBucket::take_over`]
/// gives the leader its writer.
#[derive(Clone)]
pub struct VaultBucket {
    name: String,
    stream: stream::Stream,
    nats: Nats,
    /// `$KV.<bucket>.slot.`, followed by the slot's index.
    subject_prefix: String,
}

impl std::fmt::Debug for VaultBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultBucket")
            .field("bucket", &self.name)
            .finish_non_exhaustive()
    }
}

/// The bucket as a node taking over read it.
#[derive(Debug)]
pub struct BucketRead {
    /// The stream's last sequence, read before the slots.
    pub last_sequence: u64,
    /// Every slot then.
    pub slots: Vec<(u64, SlotBytes)>,
}

/// What a node taking over finds in the bucket, and its writer, fenced from then on against
/// every earlier leader.
#[derive(Debug)]
pub struct Takeover {
    /// Every slot the bucket held when the node marked it as its own.
    pub slots: Vec<(u64, SlotBytes)>,
    /// The leader's writer.
    pub writer: VaultWriter,
}

/// The leader's writer of the bucket: every put and erase is refused once another node has
/// taken the bucket over.
#[derive(Debug)]
pub struct VaultWriter {
    bucket: VaultBucket,
    fenced: Fenced,
}

async fn timed<T, E: Into<async_nats::Error>>(
    action: &'static str,
    future: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ClusterError> {
    tokio::time::timeout(REQUEST_TIMEOUT, future)
        .await
        .map_err(|_| ClusterError::TimedOut { action })?
        .map_err(|source| ClusterError::nats(action, source))
}

impl VaultBucket {
    /// Creates the bucket `<name>-keys` (or finds it) and checks that an existing one can
    /// erase, never drops a revision by itself, and keeps them on file with as many copies as
    /// configured.
    pub async fn open(nats: &Nats, config: &ClusterConfig) -> Result<VaultBucket, ClusterError> {
        let bucket = format!("{}-keys", config.name);
        let wanted = stream::Config {
            name: format!("KV_{bucket}"),
            description: Some("the customers' key vault, one key per slot".into()),
            subjects: vec![format!("$KV.{bucket}.>")],
            storage: StorageType::File,
            num_replicas: config.stream_replicas as usize,
            max_messages_per_subject: HISTORY,
            max_age: Duration::ZERO,
            discard: DiscardPolicy::New,
            allow_rollup: true,
            allow_direct: true,
            deny_delete: false,
            deny_purge: false,
            ..stream::Config::default()
        };
        let action = "create or find the key vault's bucket";
        let mut stream = timed(action, nats.jetstream.get_or_create_stream(wanted)).await?;
        let info = timed(action, stream.info()).await?.clone();
        check_settings(&info.config, config.stream_replicas as usize)?;
        // Opened as a bucket too: the key-value API accepts what this stream is.
        timed(action, nats.jetstream.get_key_value(bucket.clone())).await?;
        Ok(VaultBucket {
            subject_prefix: format!("$KV.{bucket}.slot."),
            name: bucket,
            stream,
            nats: nats.clone(),
        })
    }

    fn slot_subject(&self, slot: u64) -> String {
        format!("{}{slot}", self.subject_prefix)
    }

    /// Reads every slot and marks the bucket as this node's, fenced by the sequence read (see
    /// the module's note): answers the slots a new leader restores its vault file from, and
    /// the only writer that may change them from now on. Reads again when a write of the
    /// deposed leader came between the read and the mark.
    pub async fn take_over(&self) -> Result<Takeover, ClusterError> {
        let mut tries = 1;
        loop {
            let read = self.read().await?;
            match self.mark(read).await {
                Err(ClusterError::VaultWrite {
                    source: AppendError::Fenced { .. },
                    ..
                }) if tries < TAKEOVER_TRIES => {
                    tracing::warn!(
                        "the key vault's bucket changed while this node read it: reading it again"
                    );
                    tries += 1;
                }
                marked => return marked,
            }
        }
    }

    /// The first half of [`VaultBucket::take_over`]: every slot, and the stream's last sequence
    /// read before them.
    pub async fn read(&self) -> Result<BucketRead, ClusterError> {
        let info = timed("read the key vault's bucket", self.stream.get_info()).await?;
        let slots = self.all().await?;
        Ok(BucketRead {
            last_sequence: info.state.last_sequence,
            slots,
        })
    }

    /// The second half of [`VaultBucket::take_over`]: writes this node's `leader` key expecting
    /// nothing after `read`. Refused as fenced ([`ClusterError::VaultWrite`] with
    /// [`AppendError::Fenced`]) when anything was written since, so `read` may miss it.
    pub async fn mark(&self, read: BucketRead) -> Result<Takeover, ClusterError> {
        let action = "mark the key vault's bucket as this leader's";
        let fenced = Fenced::new(self.nats.clone(), self.stream.clone(), read.last_sequence);
        let mut headers = HeaderMap::new();
        headers.insert(ROLLUP, "sub");
        let payload = Bytes::from(self.nats.node_id.clone());
        let subject = format!("$KV.{}.leader", self.name);
        let refused = |source| ClusterError::VaultWrite { action, source };
        fenced
            .turn()
            .await
            .map_err(refused)?
            .publish(&subject, headers, payload)
            .await
            .map_err(refused)?;
        let writer = VaultWriter {
            bucket: self.clone(),
            fenced,
        };
        Ok(Takeover {
            slots: read.slots,
            writer,
        })
    }

    /// Erases, with the stream's secure delete, every message of `subject` before sequence
    /// `bound`, oldest first.
    async fn erase_before(&self, subject: &str, bound: u64) -> Result<(), ClusterError> {
        let action = "erase a slot's earlier revision";
        loop {
            let oldest = tokio::time::timeout(
                REQUEST_TIMEOUT,
                self.stream
                    .raw_message_builder()
                    .sequence(1)
                    .next_by_subject(subject.to_owned())
                    .send(),
            )
            .await
            .map_err(|_| ClusterError::TimedOut { action })?;
            match oldest {
                Ok(message) if message.sequence < bound => {
                    timed(action, self.stream.delete_message(message.sequence)).await?;
                }
                Ok(_) => return Ok(()),
                Err(error) if error.kind() == LastRawMessageErrorKind::NoMessageFound => {
                    return Ok(());
                }
                Err(error) => return Err(ClusterError::nats(action, error)),
            }
        }
    }

    /// Every slot the bucket holds: the latest message of each subject, read through one
    /// ordered consumer rather than a request per key.
    pub async fn all(&self) -> Result<Vec<(u64, SlotBytes)>, ClusterError> {
        let action = "read the key vault's bucket";
        let consumer = timed(
            action,
            self.stream.create_consumer(OrderedConfig {
                deliver_subject: self.nats.client.new_inbox(),
                description: Some("the key vault's takeover".into()),
                filter_subject: format!("{}>", self.subject_prefix),
                deliver_policy: DeliverPolicy::LastPerSubject,
                ..OrderedConfig::default()
            }),
        )
        .await?;
        let mut slots = Vec::new();
        if consumer.cached_info().num_pending == 0 {
            return Ok(slots);
        }
        let mut messages = timed(action, consumer.messages()).await?;
        loop {
            let message = match tokio::time::timeout(REQUEST_TIMEOUT, messages.next()).await {
                Err(_) => return Err(ClusterError::TimedOut { action }),
                Ok(None) => return Err(ClusterError::TimedOut { action }),
                Ok(Some(message)) => {
                    message.map_err(|source| ClusterError::nats(action, source))?
                }
            };
            let info = message
                .info()
                .map_err(|source| ClusterError::nats(action, source))?;
            let (sequence, pending) = (info.stream_sequence, info.pending);
            let slot = message
                .subject
                .strip_prefix(self.subject_prefix.as_str())
                .and_then(|index| index.parse::<u64>().ok());
            // A slot whose latest message is a delete marker is an erase cut short before its
            // deletes: the slot is empty.
            let erased = message
                .headers
                .as_ref()
                .and_then(|headers| headers.get(KV_OPERATION))
                .is_some_and(|operation| matches!(operation.as_str(), "DEL" | "PURGE"));
            match (slot, <SlotBytes>::try_from(&message.payload[..])) {
                (Some(_), _) if erased => {}
                (Some(slot), Ok(bytes)) => slots.push((slot, bytes)),
                _ => {
                    return Err(ClusterError::Malformed {
                        sequence,
                        reason: "not a key vault slot",
                    });
                }
            }
            if pending == 0 {
                return Ok(slots);
            }
        }
    }
}

impl VaultWriter {
    fn refused(action: &'static str) -> impl FnOnce(AppendError) -> ClusterError {
        move |source| ClusterError::VaultWrite { action, source }
    }

    /// Stores slot `slot`, durable on a quorum when it returns, then erases its earlier
    /// revisions. Answers the new revision.
    pub async fn put(&self, slot: u64, bytes: &SlotBytes) -> Result<u64, ClusterError> {
        let action = "store a slot of the key vault";
        let subject = self.bucket.slot_subject(slot);
        let revision = {
            let mut turn = self.fenced.turn().await.map_err(Self::refused(action))?;
            let payload = Bytes::copy_from_slice(bytes);
            turn.publish(&subject, HeaderMap::new(), payload)
                .await
                .map_err(Self::refused(action))?
        };
        self.bucket.erase_before(&subject, revision).await?;
        Ok(revision)
    }

    /// Erases every message of slot `slot` with the stream's secure delete (see the module's
    /// note): afterwards no revision of it can be read back. A slot never stored is no error.
    pub async fn erase(&self, slot: u64) -> Result<(), ClusterError> {
        let action = "erase a slot of the key vault";
        let subject = self.bucket.slot_subject(slot);
        let marker = {
            let mut turn = self.fenced.turn().await.map_err(Self::refused(action))?;
            let mut headers = HeaderMap::new();
            headers.insert(KV_OPERATION, "DEL");
            turn.publish(&subject, headers, Bytes::new())
                .await
                .map_err(Self::refused(action))?
        };
        // The marker goes too: it held nothing, and an empty subject is a slot never stored.
        self.bucket.erase_before(&subject, marker + 1).await
    }

    /// The blocking port the customers' vault writes through, for the node holding the lease
    /// (`role`); `runtime` drives the client from the vault's blocking threads.
    pub fn replica(self, role: watch::Receiver<Role>, runtime: Handle) -> LeaderVault {
        LeaderVault {
            writer: self,
            role,
            runtime,
        }
    }
}

/// The key-value conventions plus what erasure needs; anything else could keep old keys.
fn check_settings(found: &stream::Config, replicas: usize) -> Result<(), ClusterError> {
    crate::stream_settings::check(found, replicas, |found| {
        if found.deny_delete {
            Some("it denies message deletes, so a destroyed key could not be erased".to_owned())
        } else if found.max_messages_per_subject < HISTORY {
            Some(format!(
                "it keeps {} revisions per slot, not {HISTORY}: it would drop one without erasing it",
                found.max_messages_per_subject
            ))
        } else {
            None
        }
    })
}

/// The bucket as the leader's vault sees it: blocking calls, refused once the lease may have
/// lapsed (another node's vault is then the one written).
pub struct LeaderVault {
    writer: VaultWriter,
    role: watch::Receiver<Role>,
    runtime: Handle,
}

impl LeaderVault {
    fn leads(&self) -> Result<(), VaultReplicaError> {
        if self.role.borrow().is_leader_now() {
            Ok(())
        } else {
            Err(VaultReplicaError::NotLeader)
        }
    }

    /// Runs `request` on the runtime from the calling (blocking) thread. The request's own
    /// timeouts bound it; this one also covers a runtime too busy to poll it.
    fn block_on<T>(
        &self,
        action: &'static str,
        request: impl std::future::Future<Output = Result<T, ClusterError>>,
    ) -> Result<T, VaultReplicaError> {
        let patience = REQUEST_TIMEOUT * 2;
        self.runtime
            .block_on(async { tokio::time::timeout(patience, request).await })
            .map_err(|_| VaultReplicaError::TimedOut {
                timeout_ms: patience.as_millis() as u64,
            })?
            .map_err(|error| match error {
                ClusterError::TimedOut { .. } => VaultReplicaError::TimedOut {
                    timeout_ms: REQUEST_TIMEOUT.as_millis() as u64,
                },
                // Another node took the bucket over: this one no longer leads, whatever its
                // lease said when the write began.
                ClusterError::VaultWrite {
                    source: AppendError::Fenced { .. },
                    ..
                } => VaultReplicaError::NotLeader,
                error => VaultReplicaError::Failed {
                    action,
                    source: Box::new(error),
                },
            })
    }
}

impl VaultReplica for LeaderVault {
    fn put(&self, slot: u64, bytes: &SlotBytes) -> Result<(), VaultReplicaError> {
        self.leads()?;
        self.block_on("store a slot", self.writer.put(slot, bytes))?;
        // Stored, but a record naming the slot must not be acknowledged by a node that may no
        // longer lead: the store fails, and the slot is one no record uses.
        self.leads()
    }

    fn erase(&self, slot: u64) -> Result<(), VaultReplicaError> {
        self.leads()?;
        self.block_on("erase a slot", self.writer.erase(slot))
    }

    fn all(&self) -> Result<Vec<(u64, SlotBytes)>, VaultReplicaError> {
        self.block_on("read every slot", self.writer.bucket.all())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_that_cannot_erase_or_drops_revisions_by_itself_is_refused() {
        let good = stream::Config {
            name: "KV_x-keys".into(),
            storage: StorageType::File,
            num_replicas: 3,
            max_messages_per_subject: HISTORY,
            ..stream::Config::default()
        };
        assert!(check_settings(&good, 3).is_ok());
        for bad in [
            stream::Config {
                deny_delete: true,
                ..good.clone()
            },
            stream::Config {
                max_messages_per_subject: 1,
                ..good.clone()
            },
            stream::Config {
                num_replicas: 1,
                ..good.clone()
            },
            stream::Config {
                storage: StorageType::Memory,
                ..good.clone()
            },
        ] {
            assert!(matches!(
                check_settings(&bad, 3),
                Err(ClusterError::StreamSettings { .. })
            ));
        }
    }
}
