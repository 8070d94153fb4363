//! The leader's stores write through the replicated log: each committer's batch is appended to
//! JetStream, and the commit is acknowledged only once JetStream holds it.

use std::sync::Arc;
use std::time::Duration;

use cluster::{AppendError, LogWriter, Role};
use storage::{Batch, ReplicationError, Replicator};
use tokio::runtime::Handle;
use tokio::sync::watch;

/// How long one append may take before the commit fails as unavailable (and is retried with
/// the next flush): JetStream answers in milliseconds when a quorum is up, and every durable
/// commit of the store waits behind this one.
const APPEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Appends batches for the node holding the lease.
pub struct LogReplicator {
    writer: Arc<LogWriter>,
    role: watch::Receiver<Role>,
    runtime: Handle,
}

impl LogReplicator {
    /// A replicator appending through `writer` while `role` says this node leads; `runtime`
    /// drives the NATS client from the stores' committer threads.
    pub fn new(writer: Arc<LogWriter>, role: watch::Receiver<Role>, runtime: Handle) -> Self {
        LogReplicator {
            writer,
            role,
            runtime,
        }
    }

    fn leads(&self) -> bool {
        self.role.borrow().is_leader_now()
    }
}

impl Replicator for LogReplicator {
    /// Called on a store's committer thread (a plain OS thread, never a runtime worker), so
    /// blocking on the runtime's handle is allowed there.
    fn replicate(&self, batch: &Batch) -> Result<(), ReplicationError> {
        // A leader whose lease may have lapsed acknowledges nothing more, even if the log
        // would still take the append: another node may be about to lead.
        if !self.leads() {
            return Err(ReplicationError::Fenced {
                reason: "this node's lease lapsed".into(),
            });
        }
        let payload = batch.encode();
        let appended = self.runtime.block_on(async {
            tokio::time::timeout(APPEND_TIMEOUT, self.writer.append(&batch.store, &payload)).await
        });
        match appended {
            Ok(Ok(_)) if self.leads() => Ok(()),
            // Appended, but the lease lapsed meanwhile: the next leader reads it from the log
            // when it catches up, yet this node may not say so to the client any more.
            Ok(Ok(_)) => Err(ReplicationError::Fenced {
                reason: "this node's lease lapsed during the append".into(),
            }),
            Ok(Err(error @ AppendError::Fenced { .. })) => Err(ReplicationError::Fenced {
                reason: error.to_string(),
            }),
            Ok(Err(error)) => Err(ReplicationError::Unavailable {
                reason: error.to_string(),
            }),
            Err(_) => Err(ReplicationError::Unavailable {
                reason: format!("no acknowledgement within {APPEND_TIMEOUT:?}"),
            }),
        }
    }
}
