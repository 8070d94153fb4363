//! `VehicleTracker`: the actor that ingests one car's fixes, one batch at a time.
//!
//! Serialising a car's batches in one actor is what makes deduplication and "latest = newest
//! plausible fix" race-free without a transaction per fix. The tracker keeps the newest
//! [`WINDOW`] stored fixes in memory, so the common case (fixes arriving in order, a few
//! seconds apart) finds its duplicate check and its previous neighbour without touching the
//! store; only fixes older than the window (a unit flushing an old buffer) read the history.

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ractor::RpcReplyPort;
use storage::{StorageError, Store, Table};

use super::area::ServiceArea;
use super::battery::{StoredBattery, newer_report, worth_storing};
use super::error::LocationError;
use super::fix::{Sample, is_plausible, validate};
use super::grid::SharedGrid;
use super::model::{FixInput, IngestReport, RejectedFix, StoredFix};
use super::moved;
use crate::clock::SharedClock;
use crate::entity::{Activation, ActorProcessingErr, Entity};
use crate::ids::VehicleId;

/// Fixes a tracker keeps in memory: 16 minutes of driving at one fix every 30 s.
pub(crate) const WINDOW: usize = 32;

/// How many fixes the search for a plausible neighbour looks at before it gives up when they
/// are all flagged. Without this limit one bad fix taken as plausible (a car's very first fix off by
/// kilometres, or a car carried on a truck with its unit off) would get every later fix
/// flagged for hours. After this many flagged fixes (10 minutes at one every 30 s) the next
/// fix is judged on its own and the track re-anchors there.
pub(crate) const MAX_FLAGGED_RUN: usize = 20;

/// History key: big-endian `(car, time)`, so a prefix scan walks one car in time order.
pub(crate) type HistoryKey = (VehicleId, DateTime<Utc>);

/// What every tracker (and the handle, for reads) shares.
#[derive(Clone)]
pub(crate) struct LocationContext {
    pub(crate) store: Store,
    /// Every stored fix (lazy durability).
    pub(crate) history: Table<HistoryKey, StoredFix>,
    /// The newest plausible fix of each car (lazy durability).
    pub(crate) latest: Table<VehicleId, StoredFix>,
    /// Whether each car is offered to customers, as the vehicles service last said (durable).
    pub(crate) listed: Table<VehicleId, bool>,
    /// The newest battery report of each car (lazy durability, like the fixes it comes from).
    pub(crate) battery: Table<VehicleId, StoredBattery>,
    /// How stale the stored time of an unchanged battery reading may get.
    pub(crate) battery_refresh: chrono::TimeDelta,
    pub(crate) grid: SharedGrid,
    pub(crate) area: Arc<ServiceArea>,
    pub(crate) clock: SharedClock,
    pub(crate) max_speed_kmh: f64,
    /// The least time, by the fixes' clocks, between two `vehicle.moved` events of a car.
    pub(crate) position_every: chrono::TimeDelta,
}

impl LocationContext {
    /// Moves the car in the grid to its new latest position; a car outside the service area
    /// is taken out of the grid, since no customer may pick it up there.
    pub(crate) fn place(&self, id: VehicleId, fix: &StoredFix) {
        let mut grid = self.grid.write();
        if self.area.contains(fix.lat, fix.lon) {
            grid.place(id, fix.lat, fix.lon);
        } else {
            grid.remove(id);
        }
    }
}

/// The messages of a tracker.
pub(crate) enum TrackerMsg {
    /// Ingest a batch (shared, because an ask may be re-sent to a fresh activation).
    Record {
        fixes: Arc<[FixInput]>,
        reply: RpcReplyPort<Result<IngestReport, LocationError>>,
    },
    /// Record whether the car is offered to customers.
    SetListed {
        listed: bool,
        reply: RpcReplyPort<Result<(), LocationError>>,
    },
    /// Delete the fixes recorded in `[from, to]` (an erased customer's trip).
    Forget {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        reply: RpcReplyPort<Result<u64, LocationError>>,
    },
}

/// One car's position state while the car is active.
pub(crate) struct VehicleTracker {
    id: VehicleId,
    latest: Option<StoredFix>,
    /// The newest battery report seen, the tracker being its only writer.
    battery: Option<StoredBattery>,
    /// The report the store holds (see `battery::worth_storing`).
    battery_stored: Option<StoredBattery>,
    /// The newest stored fixes of the car, oldest first.
    window: VecDeque<StoredFix>,
    /// The window holds every stored fix of the car (it has fewer than [`WINDOW`]).
    window_is_all: bool,
    /// When the fix of the last `vehicle.moved` event was taken (see `moved`).
    last_moved: Option<DateTime<Utc>>,
}

impl StoredFix {
    fn sample(&self) -> Sample {
        Sample {
            lat: self.lat,
            lon: self.lon,
            at: self.recorded_at,
        }
    }
}

impl Entity for VehicleTracker {
    type Id = VehicleId;
    type Msg = TrackerMsg;
    type Context = LocationContext;
    const KIND: &'static str = "vehicle tracker";

    async fn activate(
        id: VehicleId,
        activation: Activation,
        context: &LocationContext,
    ) -> Result<Option<Self>, ActorProcessingErr> {
        let mut latest = context.latest.get(&id)?;
        let mut window = context
            .history
            .scan_prefix(&id)
            .rev()
            .take(WINDOW)
            .map(|entry| entry.map(|(_, fix)| fix))
            .collect::<Result<VecDeque<_>, _>>()?;
        window.make_contiguous().reverse();
        if activation == Activation::Existing
            && latest.is_none()
            && window.is_empty()
            && !context.listed.contains(&id)?
        {
            return Ok(None);
        }
        // A tracker that failed between storing a fix and updating `latest` left the latter
        // behind; the window tells.
        let newest = window.iter().rev().find(|fix| !fix.flagged);
        if let Some(newest) = newest
            && latest
                .as_ref()
                .is_none_or(|latest| newest.recorded_at > latest.recorded_at)
        {
            context.latest.insert(&id, newest)?;
            context.place(id, newest);
            latest = Some(newest.clone());
        }
        let battery = context.battery.get(&id)?;
        Ok(Some(VehicleTracker {
            id,
            latest,
            battery_stored: battery.clone(),
            battery,
            window_is_all: window.len() < WINDOW,
            window,
            last_moved: None,
        }))
    }

    async fn handle(
        &mut self,
        message: TrackerMsg,
        context: &LocationContext,
    ) -> Result<(), ActorProcessingErr> {
        let (failure, id) = match message {
            TrackerMsg::Record { fixes, reply } => match self.record(&fixes, context) {
                Ok(report) => {
                    let _ = reply.send(Ok(report));
                    return Ok(());
                }
                Err(error) => {
                    let failure = error.to_string();
                    let _ = reply.send(Err(error.into()));
                    (failure, self.id)
                }
            },
            TrackerMsg::SetListed { listed, reply } => {
                let result = self.set_listed(listed, context).await;
                let _ = reply.send(result);
                return Ok(());
            }
            TrackerMsg::Forget { from, to, reply } => {
                let result = self.forget(from, to, context).await;
                let _ = reply.send(result);
                return Ok(());
            }
        };
        // Some fixes of the batch may be stored and others not: restart from the store rather
        // than trust the in-memory window.
        tracing::error!(vehicle = %id, error = %failure, "storing fixes failed");
        Err(format!("tracker {id}: storing fixes failed: {failure}").into())
    }
}

impl VehicleTracker {
    /// Validates, deduplicates, judges and stores a batch. Writes are lazy: no commit here, the
    /// store's periodic flush (`storage.flush_every_ms`) makes them durable, and a crash loses
    /// at most that much of the newest fixes (units re-send what was not acknowledged, and the
    /// next fix 30 s later supersedes a lost one anyway).
    fn record(
        &mut self,
        fixes: &[FixInput],
        context: &LocationContext,
    ) -> Result<IngestReport, StorageError> {
        let now = context.clock.now();
        let mut report = IngestReport::default();
        let mut valid = Vec::with_capacity(fixes.len());
        for (index, fix) in fixes.iter().enumerate() {
            match validate(fix, now) {
                Ok(()) => valid.push((index, fix)),
                Err(errors) => report.rejected.push(RejectedFix { index, errors }),
            }
        }
        // In time order, each fix finds the earlier ones of its own batch as neighbours and
        // duplicates; among equal times the first in the batch is the one kept.
        valid.sort_by_key(|(index, fix)| (fix.recorded_at, *index));
        let mut latest_changed = false;
        let mut stored_now = Vec::with_capacity(valid.len());
        for (_, fix) in valid {
            let at = fix.recorded_at;
            if self.is_stored(at, context)? {
                report.duplicates += 1;
                continue;
            }
            stored_now.push(fix);
            let sample = Sample {
                lat: fix.lat,
                lon: fix.lon,
                at,
            };
            let previous = self.previous_plausible(at, context)?;
            let next = self.next_plausible(at, context)?;
            let flagged = !is_plausible(previous, sample, next, context.max_speed_kmh);
            let stored = StoredFix {
                lat: fix.lat,
                lon: fix.lon,
                recorded_at: at,
                speed_kmh: fix.speed_kmh,
                heading_deg: fix.heading_deg,
                battery_pct: fix.battery_pct,
                flagged,
                outside_service_area: !context.area.contains(fix.lat, fix.lon),
                received_at: now,
                altitude_m: fix.altitude_m,
                accuracy_m: fix.accuracy_m,
                charging: fix.charging,
            };
            context.history.insert(&(self.id, at), &stored)?;
            report.accepted += 1;
            if flagged {
                report.flagged += 1;
            } else if self
                .latest
                .as_ref()
                .is_none_or(|latest| at > latest.recorded_at)
            {
                self.latest = Some(stored.clone());
                latest_changed = true;
            }
            self.remember(stored);
        }
        if let (true, Some(latest)) = (latest_changed, &self.latest) {
            context.latest.insert(&self.id, latest)?;
            context.place(self.id, latest);
            if moved::due(self.last_moved, latest.recorded_at, context.position_every) {
                let event = moved::event(self.id, latest, now);
                // The position is stored either way; a lost event only thins the stream more.
                match context.store.outbox().append_alone(&event) {
                    Ok(_) => self.last_moved = Some(latest.recorded_at),
                    Err(error) => {
                        tracing::warn!(vehicle = %self.id, %error, "vehicle.moved not appended")
                    }
                }
            }
        }
        if let Some(battery) = newer_report(self.battery.as_ref(), stored_now) {
            if worth_storing(
                self.battery_stored.as_ref(),
                &battery,
                context.battery_refresh,
            ) {
                context.battery.insert(&self.id, &battery)?;
                self.battery_stored = Some(battery.clone());
            }
            self.battery = Some(battery);
        }
        if report.flagged > 0 || !report.rejected.is_empty() {
            tracing::debug!(
                vehicle = %self.id,
                accepted = report.accepted,
                flagged = report.flagged,
                rejected = report.rejected.len(),
                "fix batch with implausible or invalid fixes"
            );
        }
        Ok(report)
    }

    /// Persists the listed flag durably (a rare admin change, and a car wrongly offered after a
    /// crash would be worse than a slow answer), then shows it in the grid.
    async fn set_listed(
        &mut self,
        listed: bool,
        context: &LocationContext,
    ) -> Result<(), LocationError> {
        context.listed.insert(&self.id, &listed)?;
        context.store.commit().await?;
        context.grid.write().set_listed(self.id, listed);
        Ok(())
    }

    /// Deletes the car's fixes recorded in `[from, to]`, from the store and the window, and
    /// waits until that is durable. Here, in the car's own turn, so that no batch being
    /// stored interleaves with it. The `latest` position stays (see `retention`): it is where
    /// the car is now, which the next renter needs, and the next fix replaces it.
    async fn forget(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        context: &LocationContext,
    ) -> Result<u64, LocationError> {
        let keys = super::retention::window_keys(&context.history, self.id, from, to)?;
        for key in &keys {
            context.history.remove(key)?;
        }
        self.window
            .retain(|fix| fix.recorded_at < from || fix.recorded_at > to);
        if !keys.is_empty() {
            context.store.commit().await?;
        }
        Ok(keys.len() as u64)
    }

    /// Whether the window holds every stored fix at or after `at`.
    fn covers(&self, at: DateTime<Utc>) -> bool {
        self.window_is_all
            || self
                .window
                .front()
                .is_some_and(|oldest| oldest.recorded_at <= at)
    }

    fn is_stored(
        &self,
        at: DateTime<Utc>,
        context: &LocationContext,
    ) -> Result<bool, StorageError> {
        if self.covers(at) {
            Ok(self
                .window
                .binary_search_by_key(&at, |fix| fix.recorded_at)
                .is_ok())
        } else {
            context.history.contains(&(self.id, at))
        }
    }

    /// The newest unflagged stored fix before `at`, looking at most [`MAX_FLAGGED_RUN`] back.
    fn previous_plausible(
        &self,
        at: DateTime<Utc>,
        context: &LocationContext,
    ) -> Result<Option<Sample>, StorageError> {
        let covered = self.covers(at);
        let in_window = if covered {
            self.window.partition_point(|fix| fix.recorded_at < at)
        } else {
            0
        };
        let in_window = self.window.range(..in_window);
        let before = match (covered, self.window.front()) {
            (true, Some(oldest)) => oldest.recorded_at,
            _ => at,
        };
        // Older fixes than the window's are read only if the window has no plausible one (a
        // sled range costs nothing until it is pulled).
        let from_store = (!(covered && self.window_is_all)).then(|| {
            context
                .history
                .range((self.id, DateTime::<Utc>::MIN_UTC)..(self.id, before))
                .rev()
        });
        let candidates = in_window.rev().cloned().map(Ok).chain(
            from_store
                .into_iter()
                .flatten()
                .map(|entry| entry.map(|(_, fix)| fix)),
        );
        first_plausible(candidates)
    }

    /// The oldest unflagged stored fix after `at`, looking at most [`MAX_FLAGGED_RUN`] ahead.
    fn next_plausible(
        &self,
        at: DateTime<Utc>,
        context: &LocationContext,
    ) -> Result<Option<Sample>, StorageError> {
        if self.covers(at) {
            let position = self.window.partition_point(|fix| fix.recorded_at <= at);
            return first_plausible(self.window.range(position..).cloned().map(Ok));
        }
        let after = context
            .history
            .range((
                Bound::Excluded((self.id, at)),
                Bound::Included((self.id, DateTime::<Utc>::MAX_UTC)),
            ))
            .map(|entry| entry.map(|(_, fix)| fix));
        first_plausible(after)
    }

    /// Adds a stored fix to the window if it falls in it, dropping the oldest beyond
    /// [`WINDOW`].
    fn remember(&mut self, fix: StoredFix) {
        if !self.covers(fix.recorded_at) {
            return;
        }
        let position = self
            .window
            .partition_point(|stored| stored.recorded_at < fix.recorded_at);
        self.window.insert(position, fix);
        if self.window.len() > WINDOW {
            self.window.pop_front();
            self.window_is_all = false;
        }
    }
}

/// The first unflagged fix among `candidates`, unless [`MAX_FLAGGED_RUN`] flagged ones come
/// first.
fn first_plausible(
    candidates: impl Iterator<Item = Result<StoredFix, StorageError>>,
) -> Result<Option<Sample>, StorageError> {
    for candidate in candidates.take(MAX_FLAGGED_RUN) {
        let fix = candidate?;
        if !fix.flagged {
            return Ok(Some(fix.sample()));
        }
    }
    Ok(None)
}
