//! The service against real parts: an SMTP server and a webhook receiver on ports of the test,
//! the store on a temporary directory, the manual clock deciding what is due. Every run is an
//! explicit `deliver_due`; the periodic tick is set an hour apart so it never runs here.

mod confirm_over_smtp;
mod email;
mod events;
mod relayed;
mod smtp_server;
mod webhooks;
mod whole_rental;

use std::sync::Arc;

use chrono::TimeDelta;
use storage::Store;
use tempfile::TempDir;

use super::{NotificationsHandle, start};
use crate::clock::ManualClock;
use crate::config::{Config, NotifyConfig};

/// A configuration whose retries are short and whose tick never comes during a test.
pub(super) fn notify_config() -> NotifyConfig {
    NotifyConfig {
        max_attempts: 3,
        backoff_base_s: 10,
        backoff_cap_s: 60,
        send_timeout_s: 5,
        poll_interval_ms: 3_600_000,
        ..NotifyConfig::default()
    }
}

/// The longest wait between two attempts of [`notify_config`]: advancing the clock by it makes
/// any failed message due again, whatever its jitter.
pub(super) fn cap() -> TimeDelta {
    TimeDelta::seconds(60)
}

/// The service on its own store.
pub(super) struct Harness {
    pub(super) clock: ManualClock,
    pub(super) handle: NotificationsHandle,
    store: Store,
    dir: TempDir,
    config: Config,
}

impl Harness {
    pub(super) async fn start(notify: NotifyConfig) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.storage.data_dir = dir.path().to_owned();
        config.storage.cache_capacity_mb = 8;
        config.notify = notify;
        Harness::open(dir, ManualClock::new(crate::testing::t0()), config).await
    }

    async fn open(dir: TempDir, clock: ManualClock, config: Config) -> Harness {
        let store = Store::open(&config.storage, "notifications").unwrap();
        let handle = start(store.clone(), Arc::new(clock.clone()), &config, None)
            .await
            .unwrap();
        Harness {
            clock,
            handle,
            store,
            dir,
            config,
        }
    }

    /// Stops the service and closes its store, then opens both again, as a restarted process
    /// would; `change` adjusts the configuration in between (a relay that moved).
    pub(super) async fn restart(self, change: impl FnOnce(&mut NotifyConfig)) -> Harness {
        let Harness {
            clock,
            handle,
            store,
            dir,
            mut config,
        } = self;
        handle.stop().await;
        store.close().unwrap();
        drop(handle);
        drop(store);
        change(&mut config.notify);
        Harness::open(dir, clock, config).await
    }
}
