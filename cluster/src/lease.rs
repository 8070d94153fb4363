//! The leader's lease: one key in a JetStream key-value bucket, created by the node that wins
//! and renewed by compare-and-set on its revision.
//!
//! The key expires through the bucket's `max_age` (the lease's ttl). Per-key TTLs (NATS 2.11's
//! `Nats-TTL`) would do the same, but async-nats sets them in whole seconds and only on
//! `create`, not on the `update` that renews, so a renewed key would lose its TTL; `max_age`
//! counts from each revision's own store time and works on every JetStream server.
//!
//! Safety: JetStream expires a revision no earlier than `ttl` after it stored it, which is
//! after the holder sent it. The holder therefore counts itself leader only until
//! `sent + ttl - margin`, the margin covering clock-rate drift between the machines and
//! scheduling delays, and steps down then without waiting for the server: by the time another
//! node can create the key, the old holder has stopped acknowledging.

use std::time::Duration;

use actors::config::ClusterConfig;
use async_nats::jetstream::kv::{self, CreateErrorKind, Operation, UpdateErrorKind};
use serde::{Deserialize, Serialize};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::connect::{Nats, REQUEST_TIMEOUT};
use crate::error::ClusterError;

/// The one key of the bucket.
const KEY: &str = "leader";
/// The smallest margin between the holder's own end of leadership and the server's expiry.
const MIN_MARGIN: Duration = Duration::from_millis(200);

/// A lease holder, as written in the key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The holder's `cluster.node_id`.
    pub node_id: String,
    /// Where clients reach the holder's API (followers send them there).
    pub url: String,
}

/// What this node is, as the lease task last found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// This node holds the lease, at `revision`, and may act as leader until `valid_until`.
    Leader {
        /// The key's revision this node wrote last.
        revision: u64,
        /// The end of this node's leadership unless it renews first.
        valid_until: Instant,
    },
    /// Another node holds the lease, or nobody does (`None`), or who is not known.
    Follower {
        /// The holder, when known.
        leader: Option<Holder>,
    },
}

impl Role {
    /// Whether this node may act as leader at this very instant. A published `Leader` goes
    /// stale the moment its validity passes, even before the lease task publishes `Follower`;
    /// whoever acknowledges a write asks this at the moment it does.
    pub fn is_leader_now(&self) -> bool {
        match self {
            Role::Leader { valid_until, .. } => Instant::now() < *valid_until,
            Role::Follower { .. } => false,
        }
    }
}

/// The outcome of an attempt to take or renew the lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acquisition {
    /// This node holds the lease at `revision` until `valid_until`.
    Won {
        /// The revision written.
        revision: u64,
        /// The end of leadership unless renewed (see the module's safety note).
        valid_until: Instant,
    },
    /// Another node holds it (`holder`, when it could be read).
    Lost {
        /// The holder, when known.
        holder: Option<Holder>,
    },
}

/// The lease of one deployment (`cluster.name`) for one node.
#[derive(Clone)]
pub struct Lease {
    store: kv::Store,
    me: Holder,
    value: bytes::Bytes,
    ttl: Duration,
    margin: Duration,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("me", &self.me)
            .field("ttl", &self.ttl)
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

/// The margin kept between the holder's end and the server's: a fifth of the ttl, at least
/// 200 ms, and never the whole ttl.
pub fn safety_margin(ttl: Duration) -> Duration {
    (ttl / 5).max(MIN_MARGIN).min(ttl / 2)
}

impl Lease {
    /// Creates the bucket `<name>-leader` (or finds it, created the same way by another node)
    /// for this node, reachable at `url`.
    pub async fn open(
        nats: &Nats,
        config: &ClusterConfig,
        url: &str,
    ) -> Result<Lease, ClusterError> {
        let ttl = Duration::from_millis(config.lease_ttl_ms);
        let bucket = kv::Config {
            bucket: format!("{}-leader", config.name),
            description: "the leader's lease".into(),
            history: 1,
            max_age: ttl,
            // A lease is tiny; a file keeps it across a server's restart like the log.
            storage: async_nats::jetstream::stream::StorageType::File,
            num_replicas: config.stream_replicas as usize,
            ..kv::Config::default()
        };
        let store = with_timeout(
            "create the lease's bucket",
            nats.jetstream.create_key_value(bucket),
        )
        .await?
        .map_err(|source| ClusterError::nats("create the lease's bucket", source))?;
        let me = Holder {
            node_id: nats.node_id.clone(),
            url: url.to_owned(),
        };
        let value = serde_json::to_vec(&me)
            .map_err(|source| ClusterError::HolderDecode { source })?
            .into();
        Ok(Lease {
            store,
            me,
            value,
            ttl,
            margin: safety_margin(ttl),
        })
    }

    /// This node, as it writes itself into the lease.
    pub fn me(&self) -> &Holder {
        &self.me
    }

    /// Takes the lease if nobody holds it.
    pub async fn try_acquire(&self) -> Result<Acquisition, ClusterError> {
        let sent = Instant::now();
        let created =
            with_timeout("take the lease", self.store.create(KEY, self.value.clone())).await?;
        match created {
            Ok(revision) => Ok(self.won(revision, sent)),
            Err(error) if error.kind() == CreateErrorKind::AlreadyExists => Ok(Acquisition::Lost {
                holder: self.current_holder().await?,
            }),
            Err(error) => Err(ClusterError::nats("take the lease", error)),
        }
    }

    /// Extends the lease held at `revision`. Refused when anything else was written since:
    /// the lease expired and another node took it.
    pub async fn renew(&self, revision: u64) -> Result<Acquisition, ClusterError> {
        let sent = Instant::now();
        let updated = with_timeout(
            "renew the lease",
            self.store.update(KEY, self.value.clone(), revision),
        )
        .await?;
        match updated {
            Ok(revision) => Ok(self.won(revision, sent)),
            Err(error) if error.kind() == UpdateErrorKind::WrongLastRevision => {
                Ok(Acquisition::Lost {
                    holder: self.current_holder().await.ok().flatten(),
                })
            }
            Err(error) => Err(ClusterError::nats("renew the lease", error)),
        }
    }

    /// Who holds the lease now, if anybody.
    pub async fn current_holder(&self) -> Result<Option<Holder>, ClusterError> {
        let entry = with_timeout("read the lease", self.store.entry(KEY))
            .await?
            .map_err(|source| ClusterError::nats("read the lease", source))?;
        match entry {
            Some(entry) if entry.operation == Operation::Put => {
                serde_json::from_slice(&entry.value)
                    .map(Some)
                    .map_err(|source| ClusterError::HolderDecode { source })
            }
            _ => Ok(None),
        }
    }

    /// Gives the lease up at once (a clean shutdown), so that another node need not wait for
    /// it to expire. Only the revision this node wrote is deleted: a lease already taken by
    /// another node is left alone.
    pub async fn release(&self, revision: u64) -> Result<(), ClusterError> {
        with_timeout(
            "release the lease",
            self.store.delete_expect_revision(KEY, Some(revision)),
        )
        .await?
        .map_err(|source| ClusterError::nats("release the lease", source))
    }

    fn won(&self, revision: u64, sent: Instant) -> Acquisition {
        Acquisition::Won {
            revision,
            valid_until: sent + self.ttl - self.margin,
        }
    }

    /// Competes for the lease and renews it every third of the ttl, publishing this node's
    /// role, until `shutdown` fires (or its sender is dropped); then steps down and releases.
    pub fn spawn(self, shutdown: oneshot::Receiver<()>) -> (watch::Receiver<Role>, JoinHandle<()>) {
        let (role, watcher) = watch::channel(Role::Follower { leader: None });
        let task = tokio::spawn(self.run(role, shutdown));
        (watcher, task)
    }

    async fn run(self, role: watch::Sender<Role>, mut shutdown: oneshot::Receiver<()>) {
        let period = self.ttl / 3;
        let mut held: Option<(u64, Instant)> = None;
        loop {
            let started = Instant::now();
            let attempt = async {
                match held {
                    Some((revision, _)) => self.renew(revision).await,
                    None => self.try_acquire().await,
                }
            };
            let outcome = tokio::select! {
                biased;
                _ = &mut shutdown => break,
                _ = until(held) => {
                    step_down(&role, &mut held, None);
                    continue;
                }
                outcome = attempt => outcome,
            };
            match outcome {
                // An answer so late that the validity it grants has already passed.
                Ok(Acquisition::Won { valid_until, .. }) if valid_until <= Instant::now() => {
                    step_down(&role, &mut held, None);
                }
                Ok(Acquisition::Won {
                    revision,
                    valid_until,
                }) => {
                    held = Some((revision, valid_until));
                    role.send_replace(Role::Leader {
                        revision,
                        valid_until,
                    });
                }
                Ok(Acquisition::Lost { holder }) => step_down(&role, &mut held, holder),
                // Still leader until the validity passes: a renewal may succeed next time.
                Err(error) => tracing::warn!(%error, "the lease could not be renewed or taken"),
            }
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                _ = until(held) => step_down(&role, &mut held, None),
                _ = tokio::time::sleep_until(started + period) => {}
            }
        }
        if let Some((revision, _)) = held {
            // Stop acting as leader before the key is gone, never after.
            step_down(&role, &mut held, None);
            if let Err(error) = self.release(revision).await {
                tracing::warn!(%error, "the lease could not be released; it will expire");
            }
        }
    }
}

/// Publishes `Follower`, unless it is already published with the same holder.
fn step_down(
    role: &watch::Sender<Role>,
    held: &mut Option<(u64, Instant)>,
    leader: Option<Holder>,
) {
    *held = None;
    let follower = Role::Follower { leader };
    role.send_if_modified(|current| {
        let changed = *current != follower;
        if changed {
            *current = follower.clone();
        }
        changed
    });
}

/// Resolves when the held lease's validity passes; never when none is held.
async fn until(held: Option<(u64, Instant)>) {
    match held {
        Some((_, valid_until)) => tokio::time::sleep_until(valid_until).await,
        None => std::future::pending().await,
    }
}

async fn with_timeout<T>(
    action: &'static str,
    future: impl std::future::Future<Output = T>,
) -> Result<T, ClusterError> {
    tokio::time::timeout(REQUEST_TIMEOUT, future)
        .await
        .map_err(|_| ClusterError::TimedOut { action })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_is_a_fifth_at_least_200_ms_and_at_most_half() {
        assert_eq!(
            safety_margin(Duration::from_secs(3)),
            Duration::from_millis(600)
        );
        assert_eq!(
            safety_margin(Duration::from_millis(600)),
            Duration::from_millis(200)
        );
        assert_eq!(
            safety_margin(Duration::from_millis(300)),
            Duration::from_millis(150)
        );
    }

    #[test]
    fn a_leader_whose_validity_passed_is_not_leader_now() {
        let now = Instant::now();
        let stale = Role::Leader {
            revision: 1,
            valid_until: now,
        };
        assert!(!stale.is_leader_now());
        let fresh = Role::Leader {
            revision: 1,
            valid_until: now + Duration::from_secs(60),
        };
        assert!(fresh.is_leader_now());
        assert!(!Role::Follower { leader: None }.is_leader_now());
    }

    #[test]
    fn the_holder_is_plain_json() {
        let holder = Holder {
            node_id: "node-1".into(),
            url: "http://10.0.0.1:8080".into(),
        };
        let text = serde_json::to_string(&holder).unwrap_or_default();
        assert_eq!(text, r#"{"node_id":"node-1","url":"http://10.0.0.1:8080"}"#);
    }
}
