//! The lease and the log against a real three-server NATS cluster (`sync_interval: always`).

mod lease;
mod log;
mod rate;
mod vault;

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use cluster::Role;

/// Long enough for any step of a healthy cluster on a loaded machine; only a hang reaches it.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// Waits until the role satisfies `wanted`, returning when it was seen and the role.
pub(crate) async fn wait_for(
    role: &mut watch::Receiver<Role>,
    wanted: impl Fn(&Role) -> bool,
) -> (Instant, Role) {
    let seen = tokio::time::timeout(PATIENCE, role.wait_for(|role| wanted(role)))
        .await
        .expect("the role changed in time")
        .expect("the lease task is running")
        .clone();
    (Instant::now(), seen)
}

/// Retries `attempt` while it fails: right after a bucket or stream is created, the server a
/// client is connected to may not know yet who answers its subjects ("no responders").
pub(crate) async fn settled<
    T,
    E: std::fmt::Debug,
    F: std::future::Future<Output = Result<T, E>>,
>(
    mut attempt: impl FnMut() -> F,
) -> T {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match attempt().await {
                Ok(value) => return value,
                Err(error) => {
                    eprintln!("retrying: {error:?}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    })
    .await
    .expect("the cluster answered in time")
}

/// Whether the role is `Leader`, stale or not.
pub(crate) fn is_leader(role: &Role) -> bool {
    matches!(role, Role::Leader { .. })
}
