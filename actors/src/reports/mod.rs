//! Reports: the operator's durable event log and the projections behind the reports.
//!
//! - **Owns** the `reports` store: the log of every public domain event (sequence → event,
//!   and id → sequence, which deduplicates the relay's redeliveries), and the projections fed
//!   by the same events: one record per reservation (`Trip`), per car (`CarFacts`), per
//!   customer's balance, and the cars' thinned track from `vehicle.moved`. It never reads
//!   another service's store: what it knows came as events.
//! - **Sequence**: each logged event gets the next number of the log (the `id:` of the event
//!   stream). Numbers are handed out by one writer actor, and readers never see past the end
//!   known to be on disk, so a number streamed is never given to another event after a crash.
//!   A batch holding a change's event is committed before the relay hears `Ok`; a batch of car
//!   positions only is answered at once and shown after the store's next flush (a crash
//!   before it loses positions nobody saw, as the location store itself may).
//! - **Live**: every logged event is broadcast after its commit; a stream subscribes first,
//!   replays the log, then forwards live events with a higher number (see the gateway's
//!   `routes/events.rs`). A subscriber that falls behind the broadcast reads the log again.
//! - **Retention**: the log keeps `events.retention_days`; a rebuild of the projections
//!   replays what the log still holds, so it reproduces figures for that span only (older
//!   figures are cleared with the rest and not recomputed).

mod areas;
mod error;
mod figures;
mod fold;
mod model;
mod retention;
mod store;
mod writer;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use ractor::{Actor, ActorCell, ActorRef};
use storage::Store;
use tokio::sync::broadcast;

pub use areas::{AREA_CELL_DEG, Areas, MAX_AREA_KM, OUTSIDE, UNKNOWN, grid_cell};
pub use error::ReportsError;
pub use figures::{
    GroupBy, RevenueRow, StatementLine, Summary, UtilisationRow, distance_km, local_offset,
};
pub use model::{CarFacts, Movement, Trip};
pub use writer::Logged;

use crate::ask::{ASK_TIMEOUT, AskError};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::domain::InvalidField;
use crate::events::{DomainEvent, EventSubscriber, SubscriberError};
use crate::ids::CustomerId;
use crate::ports::BoxFuture;
use store::ReportsStore;
use writer::{Writer, WriterMsg};

/// Longest span a report covers.
pub const MAX_SPAN_DAYS: i64 = 366;
/// Live events buffered per stream before it falls behind and reads the log instead.
pub const LIVE_BUFFER: usize = 4_096;
/// How long a rebuild may take before its ask gives up (it keeps running).
const REBUILD_TIMEOUT: Duration = Duration::from_secs(300);
/// How long an append may take: a batch is up to the relay's 256 events and one commit.
const APPEND_TIMEOUT: Duration = Duration::from_secs(20);

/// The reports service's API, and the event subscriber that feeds it. Cheap to clone.
#[derive(Clone)]
pub struct ReportsHandle {
    inner: Arc<Inner>,
}

struct Inner {
    store: ReportsStore,
    writer: ActorRef<WriterMsg>,
    live: broadcast::Sender<Arc<Logged>>,
    clock: SharedClock,
    /// The console's neighbourhoods, which name the areas of revenue by area.
    areas: Areas,
}

/// Starts the service on its store: the writer, and the log's purge under `parent`.
pub async fn start(
    store: Store,
    clock: SharedClock,
    config: &Config,
    parent: Option<ActorCell>,
) -> Result<ReportsHandle, ractor::SpawnErr> {
    let startup = |error: storage::StorageError| ractor::SpawnErr::StartupFailed(error.into());
    let store = ReportsStore::open(store).map_err(startup)?;
    let (live, _) = broadcast::channel(LIVE_BUFFER);
    let arguments = (store.clone(), live.clone());
    let (writer, _) = match parent.clone() {
        Some(parent) => Actor::spawn_linked(None, Writer, arguments, parent).await?,
        None => Actor::spawn(None, Writer, arguments).await?,
    };
    let handle = ReportsHandle {
        inner: Arc::new(Inner {
            store,
            writer,
            live,
            clock: clock.clone(),
            areas: Areas::new(config.console.neighbourhoods.clone()),
        }),
    };
    let purge = retention::LogPurge {
        handle: handle.clone(),
        keep: TimeDelta::days(i64::from(config.events.retention_days)),
    };
    crate::retention::start(purge, clock, parent).await?;
    Ok(handle)
}

/// Parses a report's span from its RFC 3339 texts and checks it (see [`validate_span`]).
pub fn parse_span(from: &str, to: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), ReportsError> {
    let parse = |field: &'static str, text: &str| {
        DateTime::parse_from_rfc3339(text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| {
                InvalidField::new(
                    field,
                    "must be an RFC 3339 time, e.g. 2026-12-01T00:00:00-03:00",
                )
            })
    };
    let (from, to) = match (parse("from", from), parse("to", to)) {
        (Ok(from), Ok(to)) => (from, to),
        (from, to) => {
            let errors = [from.err(), to.err()].into_iter().flatten().collect();
            return Err(ReportsError::Invalid(errors));
        }
    };
    validate_span(from, to)?;
    Ok((from, to))
}

impl GroupBy {
    /// Parses `day`, `vehicle` or `area`.
    pub fn parse(text: &str) -> Result<GroupBy, ReportsError> {
        match text {
            "day" => Ok(GroupBy::Day),
            "vehicle" => Ok(GroupBy::Vehicle),
            "area" => Ok(GroupBy::Area),
            _ => Err(ReportsError::Invalid(vec![InvalidField::new(
                "group_by",
                "must be day, vehicle or area",
            )])),
        }
    }
}

/// Checks a report's span: `from` before `to`, at most [`MAX_SPAN_DAYS`] apart.
pub fn validate_span(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), ReportsError> {
    if from >= to {
        return Err(ReportsError::Invalid(vec![InvalidField::new(
            "to",
            "the end must be after the start",
        )]));
    }
    if to - from > TimeDelta::days(MAX_SPAN_DAYS) {
        return Err(ReportsError::Invalid(vec![InvalidField::new(
            "to",
            format!("a report covers at most {MAX_SPAN_DAYS} days"),
        )]));
    }
    Ok(())
}

impl ReportsHandle {
    async fn ask<R>(
        &self,
        timeout: Duration,
        message: impl FnOnce(ractor::RpcReplyPort<Result<R, ReportsError>>) -> WriterMsg,
    ) -> Result<R, ReportsError>
    where
        R: Send + 'static,
    {
        let answer = ractor::call_t!(self.inner.writer, message, timeout.as_millis() as u64);
        answer.map_err(|error| match error {
            ractor::RactorErr::Timeout => AskError::Timeout {
                actor: "reports writer".into(),
                timeout,
            },
            _ => AskError::Unavailable {
                actor: "reports writer".into(),
            },
        })?
    }

    /// Logs the public events of `events` not logged yet and applies them to the projections;
    /// how many were new. Durably, unless they are all positions (see the module's notes).
    /// What the relay's delivery calls.
    pub async fn append(&self, events: Vec<DomainEvent>) -> Result<usize, ReportsError> {
        self.ask(APPEND_TIMEOUT, |reply| WriterMsg::Append { events, reply })
            .await
    }

    /// Clears the projections and replays the log into them; how many events were replayed.
    pub async fn rebuild(&self) -> Result<u64, ReportsError> {
        self.ask(REBUILD_TIMEOUT, |reply| WriterMsg::Rebuild { reply })
            .await
    }

    /// Removes at most `batch` logged events older than `cutoff`.
    pub(crate) async fn purge(
        &self,
        cutoff: DateTime<Utc>,
        batch: usize,
    ) -> Result<usize, ReportsError> {
        self.ask(ASK_TIMEOUT, |reply| WriterMsg::Purge {
            cutoff,
            batch,
            reply,
        })
        .await
    }

    /// Removes every logged event older than the retention at the service clock's now (what
    /// the periodic job does, on demand); how many went.
    pub async fn purge_expired(&self, keep: TimeDelta) -> Result<u64, ReportsError> {
        let cutoff = self.inner.clock.now() - keep;
        let mut total = 0;
        loop {
            let removed = self.purge(cutoff, crate::retention::BATCH).await?;
            total += removed as u64;
            if removed < crate::retention::BATCH {
                return Ok(total);
            }
        }
    }

    /// Live logged events from now on. Subscribe before reading the log to miss nothing.
    pub fn live(&self) -> broadcast::Receiver<Arc<Logged>> {
        self.inner.live.subscribe()
    }

    /// Logged events after `after`, oldest first, at most `limit`, none past what is durable.
    pub fn read_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, DomainEvent)>, ReportsError> {
        Ok(self.inner.store.read_after(after, limit)?)
    }

    /// The newest durable sequence of the log (0 when empty).
    pub fn last_sequence(&self) -> u64 {
        self.inner.store.committed()
    }

    /// Events in the log (walks it).
    pub fn log_len(&self) -> usize {
        self.inner.store.log_len()
    }

    /// Revenue in `[from, to)` grouped by `group_by`.
    pub fn revenue(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group_by: GroupBy,
    ) -> Result<Vec<RevenueRow>, ReportsError> {
        validate_span(from, to)?;
        Ok(figures::revenue(
            &self.inner.store.trips()?,
            from,
            to,
            group_by,
            &self.inner.areas,
        ))
    }

    /// Each car's utilisation over `[from, to)`, counted up to the service clock's now.
    pub fn utilisation(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<UtilisationRow>, ReportsError> {
        validate_span(from, to)?;
        let store = &self.inner.store;
        Ok(figures::utilisation(
            &store.trips()?,
            &store.cars()?,
            from,
            to,
            self.inner.clock.now(),
        ))
    }

    /// No-shows, cancellations, late returns in `[from, to)` and what customers owe now.
    pub fn summary(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Summary, ReportsError> {
        validate_span(from, to)?;
        let store = &self.inner.store;
        Ok(figures::summary(
            &store.trips()?,
            &store.balances()?,
            from,
            to,
        ))
    }

    /// The customer's trips booked to start in `[from, to)`, by start.
    pub fn statement(
        &self,
        customer: CustomerId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StatementLine>, ReportsError> {
        validate_span(from, to)?;
        let store = &self.inner.store;
        let mut trips: Vec<Trip> = store
            .trips()?
            .into_iter()
            .filter(|trip| figures::in_statement(trip, customer, from, to))
            .collect();
        trips.sort_by_key(|trip| trip.start_at.or(trip.started_at));
        trips
            .iter()
            .map(|trip| {
                let distance = match (trip.vehicle_id, trip.started_at, trip.released_at) {
                    (Some(vehicle), Some(started), Some(ended)) => {
                        let track = store.track(vehicle, started, ended)?;
                        (track.len() >= 2).then(|| distance_km(&track))
                    }
                    _ => None,
                };
                Ok(figures::statement_line(trip, distance))
            })
            .collect()
    }

    /// Whether the writer runs (readiness).
    pub fn ping(&self) -> Result<(), AskError> {
        if self.inner.writer.get_status() == ractor::ActorStatus::Running {
            Ok(())
        } else {
            Err(AskError::Unavailable {
                actor: "reports writer".into(),
            })
        }
    }
}

impl EventSubscriber for ReportsHandle {
    fn name(&self) -> &'static str {
        "reports"
    }

    fn deliver<'a>(
        &'a self,
        events: &'a [DomainEvent],
    ) -> BoxFuture<'a, Result<(), SubscriberError>> {
        Box::pin(async move {
            self.append(events.to_vec())
                .await
                .map(|_| ())
                .map_err(|error| {
                    SubscriberError::caused_by("the event log did not take them", error)
                })
        })
    }
}
