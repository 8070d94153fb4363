//! A node in cluster mode: it follows the leader's log into its own stores until it holds the
//! lease, then leads (runs the services, serves the API, writes through the log) until it
//! loses the lease or is stopped.
//!
//! A node that loses the lease while leading exits with an error instead of going back to
//! following in the same process: its actors may still hold state the log never took, and a
//! fresh process (restarted by its supervisor) starts clean, drops the stores it wrote as
//! leader and rebuilds them from the log.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actors::Config;
use actors::customers::{VaultError, VaultReplicaSlot};
use actors::system::Stores;
use cluster::{
    AppendError, ClusterError, Lease, Log, LogReader, LogWriter, Role, Takeover, VaultBucket,
    VaultWriter,
};
use futures_util::StreamExt;
use storage::{ReplicatorSlot, StorageError};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

use super::follow::{self, FENCE, FollowError, NodeFiles};
use super::replicator::LogReplicator;
use super::standby;
use crate::routes::cluster::{ClusterStatus, NodeDto, NodeRole, advertised_url};
use crate::server::{ServerError, ServerOptions};

/// A follower with entries applied but not yet flushed flushes after this many, or when the
/// log is quiet for [`IDLE`].
const CHECKPOINT_EVERY: u32 = 512;

/// A quiet log for this long: the follower flushes what it applied.
const IDLE: Duration = Duration::from_millis(200);

/// How long a new leader waits for one entry while catching up before it gives up: the
/// entries exist (the log's last sequence is past them), so only a broken NATS cluster is
/// this slow.
const CATCH_UP_PATIENCE: Duration = Duration::from_secs(30);

/// Why a node stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// NATS could not be reached, or the lease or the log failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The log could not be applied to the stores.
    #[error(transparent)]
    Follow(#[from] FollowError),
    /// The stores failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The key vault file could not be made equal to its replica at takeover.
    #[error("the customers' key vault could not be restored from its bucket")]
    Vault(#[from] VaultError),
    /// Serving as leader failed.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The lease's task ended: the node cannot know whether it leads.
    #[error("the lease task stopped")]
    LeaseTask,
    /// A new leader could not read the log to its end in time.
    #[error("the log could not be read to its end within {CATCH_UP_PATIENCE:?}")]
    CatchUp,
    /// This node led and lost the lease: it stopped serving and must start again as a
    /// follower.
    #[error("this node lost the leader's lease and stopped serving")]
    Deposed,
}

type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How the follower phase ended.
enum Followed {
    /// Asked to stop.
    Stop,
    /// The lease is ours and the log is fenced at our position: lead through this writer.
    Lead(Box<LogWriter>),
}

/// Runs the node until `shutdown` resolves ([`NodeError::Deposed`] if it lost the lease while
/// leading).
pub async fn run(
    config: Config,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let mut shutdown: Shutdown = Box::pin(shutdown);
    let files = NodeFiles::new(&config.storage.data_dir);
    if files.forget_if_led()? {
        tracing::warn!("this node led before: its stores are rebuilt from the log");
    }
    let nats = cluster::connect(&config.cluster).await?;
    let log = Log::open(&nats, &config.cluster).await?;
    let vault = VaultBucket::open(&nats, &config.cluster).await?;
    let lease = Lease::open(&nats, &config.cluster, &advertised_url(&config)).await?;
    let (release, released) = oneshot::channel();
    let (role, lease_task) = lease.spawn(released);
    let stop_lease = || async {
        let _ = release.send(());
        let _ = lease_task.await;
    };

    let (status, status_seen) = watch::channel(follower_status(&config, &role.borrow()));
    let listener = TcpListener::bind(config.server.bind)
        .await
        .map_err(|source| ServerError::Bind {
            address: config.server.bind,
            source,
        })?;
    let (stop_standby, standby_stopping) = oneshot::channel::<()>();
    let standby = tokio::spawn(
        axum::serve(listener, standby::router(status_seen))
            .with_graceful_shutdown(async {
                let _ = standby_stopping.await;
            })
            .into_future(),
    );
    tracing::info!(node = %config.cluster.node_id, "following the leader's log");

    let stores = Stores::open(&config)?;
    let followed = follow_until_leading(
        &config,
        &log,
        &stores,
        &files,
        role.clone(),
        &status,
        &mut shutdown,
    )
    .await;
    let closed = stores.close();
    // sled releases a store's lock only when its last handle is gone: the leader reopens them.
    drop(stores);
    let _ = stop_standby.send(());
    let _ = standby.await;
    let writer = match followed {
        Ok(Followed::Lead(writer)) => writer,
        Ok(Followed::Stop) => {
            stop_lease().await;
            return closed.map_err(NodeError::from);
        }
        Err(error) => {
            stop_lease().await;
            return Err(error);
        }
    };
    closed?;
    // Marked before the vault is restored: a node that dies while restoring has written keys
    // as leader, and wipes them when it starts again.
    files.mark_led()?;
    let vault = match restore_vault(&config, &vault).await {
        Ok(writer) => writer,
        Err(error) => {
            stop_lease().await;
            return Err(error);
        }
    };
    tracing::info!(node = %config.cluster.node_id, "leading: serving the API");

    let mut leader = config.clone();
    leader.auth.vault_replica = VaultReplicaSlot::new(Arc::new(
        vault.replica(role.clone(), tokio::runtime::Handle::current()),
    ));
    leader.storage.replicator = ReplicatorSlot::new(Arc::new(LogReplicator::new(
        Arc::from(writer),
        role.clone(),
        tokio::runtime::Handle::current(),
    )));
    let deposed = Arc::new(AtomicBool::new(false));
    let stop_serving = {
        let (deposed, mut role) = (deposed.clone(), role.clone());
        async move {
            tokio::select! {
                () = shutdown => {}
                _ = role.wait_for(|role| !matches!(role, Role::Leader { .. })) => {
                    tracing::error!("the lease was lost: this node stops serving");
                    deposed.store(true, Ordering::SeqCst);
                }
            }
        }
    };
    let served = crate::server::run(leader, options, stop_serving).await;
    stop_lease().await;
    if deposed.load(Ordering::SeqCst) {
        return Err(NodeError::Deposed);
    }
    served.map_err(NodeError::from)
}

/// Takes the key vault's bucket over and makes the local key vault file equal to it, after the
/// log is caught up and fenced and before the customers service opens the vault (its start-up
/// sweep then destroys, in the bucket too, only slots that no record of the complete stores
/// names). A follower's file is not kept current: it holds nothing (see
/// `NodeFiles::forget_if_led`) or what it wrote as leader.
async fn restore_vault(config: &Config, vault: &VaultBucket) -> Result<VaultWriter, NodeError> {
    let Takeover { slots, writer } = vault.take_over().await?;
    let data_dir = config.storage.data_dir.clone();
    let restored =
        tokio::task::spawn_blocking(move || actors::customers::restore_vault(&data_dir, &slots))
            .await
            .map_err(|error| VaultError::Io(std::io::Error::other(error)))??;
    tracing::info!(
        written = restored.written,
        zeroed = restored.zeroed,
        "the customers' key vault was restored from its bucket"
    );
    Ok(writer)
}

/// What a follower tells clients: itself, and the leader the lease names.
fn follower_status(config: &Config, role: &Role) -> ClusterStatus {
    let leader = match role {
        Role::Follower { leader } => leader.as_ref().map(|holder| NodeDto {
            node_id: holder.node_id.clone(),
            url: holder.url.clone(),
        }),
        Role::Leader { .. } => None,
    };
    ClusterStatus {
        role: NodeRole::Follower,
        node: Some(NodeDto {
            node_id: config.cluster.node_id.clone(),
            url: advertised_url(config),
        }),
        leader,
    }
}

/// Applies the log until this node holds the lease, then catches up with the log's end and
/// fences it; or until `shutdown`.
async fn follow_until_leading(
    config: &Config,
    log: &Log,
    stores: &Stores,
    files: &NodeFiles,
    mut role: watch::Receiver<Role>,
    status: &watch::Sender<ClusterStatus>,
    shutdown: &mut Shutdown,
) -> Result<Followed, NodeError> {
    let mut reader = log.read_from(files.applied()?).await?;
    let mut unsaved = 0;
    loop {
        let current = role.borrow_and_update().clone();
        if current.is_leader_now() {
            match take_over(config, log, stores, files, &mut reader).await? {
                Some(writer) => return Ok(Followed::Lead(Box::new(writer))),
                None => continue,
            }
        }
        let seen = follower_status(config, &current);
        status.send_if_modified(|shown| {
            let changed = *shown != seen;
            *shown = seen;
            changed
        });
        tokio::select! {
            biased;
            () = &mut *shutdown => {
                follow::checkpoint(stores, files, reader.consumed()).await?;
                return Ok(Followed::Stop);
            }
            changed = role.changed() => changed.map_err(|_| NodeError::LeaseTask)?,
            next = tokio::time::timeout(IDLE, reader.next()) => match next {
                Ok(Some(entry)) => {
                    follow::apply(stores, &entry?)?;
                    unsaved += 1;
                    if unsaved >= CHECKPOINT_EVERY {
                        follow::checkpoint(stores, files, reader.consumed()).await?;
                        unsaved = 0;
                    }
                }
                Ok(None) => reader = log.read_from(reader.consumed()).await?,
                Err(_quiet) if unsaved > 0 => {
                    follow::checkpoint(stores, files, reader.consumed()).await?;
                    unsaved = 0;
                }
                Err(_quiet) => {}
            },
        }
    }
}

/// Reads the log to its end, then appends a fence at that position: from then on an older
/// leader's append is refused. `None` when someone appended meanwhile (read on and try again).
async fn take_over(
    config: &Config,
    log: &Log,
    stores: &Stores,
    files: &NodeFiles,
    reader: &mut LogReader,
) -> Result<Option<LogWriter>, NodeError> {
    let last = log.last_sequence().await?;
    while reader.consumed() < last {
        match tokio::time::timeout(CATCH_UP_PATIENCE, reader.next()).await {
            Ok(Some(entry)) => follow::apply(stores, &entry?)?,
            Ok(None) => *reader = log.read_from(reader.consumed()).await?,
            Err(_) => return Err(NodeError::CatchUp),
        }
    }
    follow::checkpoint(stores, files, reader.consumed()).await?;
    let writer = log.writer_at(reader.consumed());
    match writer
        .append(FENCE, config.cluster.node_id.as_bytes())
        .await
    {
        Ok(sequence) => {
            files.set_applied(sequence)?;
            tracing::info!(sequence, "caught up with the log and fenced it");
            Ok(Some(writer))
        }
        Err(AppendError::Fenced { .. }) => Ok(None),
        Err(error) => {
            tracing::warn!(%error, "the fence could not be appended; retrying");
            tokio::time::sleep(IDLE).await;
            Ok(None)
        }
    }
}
