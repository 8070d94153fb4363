//! Retention: the periodic purges of records kept only for a while (idempotency keys after
//! 24 hours, car positions after `fleet.position_retention_days`).
//!
//! Each service that keeps such records owns a [`Purge`] and starts its job under its own
//! parent actor, so the job stops (and lets go of the store) with the service. What has
//! expired is decided by a pure function of the record's time and the service clock's `now`;
//! the job only paces the work. Work goes in batches of at most [`BATCH`] items, each its own
//! short transaction, with a yield between batches: a purge never holds a store, or the
//! writers of the rows it does not touch, for long.
//!
//! The pace is real time (like actor timeouts: it paces work, it is not a rule of the domain);
//! the clock that decides what is expired is the service's, so tests drive purges with the
//! manual clock by calling [`purge_all`] directly.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef};

use crate::clock::SharedClock;

/// Most items one batch removes.
pub(crate) const BATCH: usize = 256;

/// How often a service's purge runs.
pub(crate) const PERIOD: Duration = Duration::from_secs(600);

/// One service's purge of expired records.
pub(crate) trait Purge: Send + Sync + 'static {
    /// What is purged, for logs and the metric's label.
    fn kind(&self) -> &'static str;

    /// Runs once before the first purge (a migration of records stored before the purge
    /// existed, for instance).
    fn prepare(&self, now: DateTime<Utc>) -> impl Future<Output = Result<(), String>> + Send {
        let _ = now;
        std::future::ready(Ok(()))
    }

    /// Removes at most `batch` items expired at `now`, durably, and says how many it removed;
    /// fewer than `batch` means nothing expired is left.
    fn purge_batch(
        &self,
        now: DateTime<Utc>,
        batch: usize,
    ) -> impl Future<Output = Result<usize, String>> + Send;
}

/// Removes everything expired at `now`, a batch at a time; the count removed.
pub(crate) async fn purge_all<P: Purge>(purge: &P, now: DateTime<Utc>) -> Result<u64, String> {
    let mut total = 0u64;
    loop {
        let removed = purge.purge_batch(now, BATCH).await?;
        total += removed as u64;
        crate::metrics::purged(purge.kind(), removed);
        if removed < BATCH {
            return Ok(total);
        }
        // Let the service's own work run between two batches.
        tokio::task::yield_now().await;
    }
}

/// Starts the periodic job of `purge` under `parent`, which stops it with the service. Without
/// a parent no job runs: nothing would stop it, and it would keep the store open.
pub(crate) async fn start<P: Purge>(
    purge: P,
    clock: SharedClock,
    parent: Option<ActorCell>,
) -> Result<(), ractor::SpawnErr> {
    let Some(parent) = parent else {
        return Ok(());
    };
    Actor::spawn_linked(
        None,
        PurgeJob::<P>(std::marker::PhantomData),
        (purge, clock),
        parent,
    )
    .await?;
    Ok(())
}

/// The job's only message: time to purge.
pub(crate) struct Tick;

struct PurgeJob<P>(std::marker::PhantomData<fn() -> P>);

/// A job's purge, its clock, and whether its preparation ran.
pub(crate) struct JobState<P> {
    purge: P,
    clock: SharedClock,
    prepared: bool,
}

impl<P: Purge> Actor for PurgeJob<P> {
    type Msg = Tick;
    type State = JobState<P>;
    type Arguments = (P, SharedClock);

    async fn pre_start(
        &self,
        myself: ActorRef<Tick>,
        arguments: (P, SharedClock),
    ) -> Result<Self::State, ActorProcessingErr> {
        // The first tick comes after one period: start-up has enough to do.
        myself.send_interval(PERIOD, || Tick);
        let (purge, clock) = arguments;
        Ok(JobState {
            purge,
            clock,
            prepared: false,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Tick>,
        _tick: Tick,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let JobState {
            purge,
            clock,
            prepared,
        } = state;
        // A failure is logged and retried at the next tick; it never stops the job.
        if !*prepared {
            match purge.prepare(clock.now()).await {
                Ok(()) => *prepared = true,
                Err(error) => {
                    tracing::warn!(kind = purge.kind(), %error, "purge preparation failed; retried later");
                    return Ok(());
                }
            }
        }
        match purge_all(purge, clock.now()).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(kind = purge.kind(), removed, "expired records purged"),
            Err(error) => {
                tracing::warn!(kind = purge.kind(), %error, "purge failed; retried later")
            }
        }
        Ok(())
    }
}
