//! Test support shared by the location and vehicles service tests: a parent actor whose stop
//! takes a whole service down (ractor stops an actor's children with it), and reopening a
//! store once the previous holder of its file lock is gone.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use storage::{StorageConfig, Store};

/// A do-nothing supervisor to start a service under.
pub(crate) struct Parent;

impl Actor for Parent {
    type Msg = ();
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _myself: ActorRef<()>, _args: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }
}

/// A running parent.
pub(crate) async fn parent() -> ActorRef<()> {
    Actor::spawn(None, Parent, ()).await.unwrap().0
}

/// Stops `parent` and everything under it, and waits for it.
pub(crate) async fn stop(parent: ActorRef<()>) {
    parent
        .stop_and_wait(None, Some(Duration::from_secs(5)))
        .await
        .unwrap();
}

/// The storage settings of a test store under `dir`.
pub(crate) fn storage(dir: &Path) -> StorageConfig {
    StorageConfig {
        data_dir: dir.to_owned(),
        cache_capacity_mb: 4,
        flush_every_ms: 50,
        commit_window_us: 1_000,
        ..StorageConfig::default()
    }
}

/// Opens the store `name`, waiting for killed actors to drop their clones of a previous
/// instance (sled holds a file lock until the last clone is gone).
pub(crate) async fn open(dir: &Path, name: &str) -> Store {
    let mut attempts = 0;
    loop {
        match Store::open(&storage(dir), name) {
            Ok(store) => return store,
            Err(error) if attempts < 200 => {
                attempts += 1;
                let _ = error;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => panic!("cannot reopen store {name}: {error}"),
        }
    }
}

/// A Tuesday noon in Florianópolis (15:00 UTC).
pub(crate) fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 15, 0, 0).unwrap()
}
