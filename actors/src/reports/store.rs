//! The reports store: the operator's event log (sequence → event, with an index id →
//! sequence that deduplicates redeliveries) and the projections fed by the same events.
//!
//! Every write goes through the writer actor; this type only knows how to write and read.
//! One event's log entry, id entry and projection change are one transaction, so a crash
//! never leaves an event counted without being logged (a redelivery would count it twice) nor
//! logged without being counted.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use storage::{StorageError, Store, Table, Tx, TxAbort, TxError, TxOpError};
use uuid::Uuid;

use super::fold::{self, Target};
use super::model::{CarFacts, Trip};
use crate::events::DomainEvent;
use crate::ids::{CustomerId, ReservationId, VehicleId};

/// The key of a car's thinned track.
type PositionKey = (VehicleId, DateTime<Utc>);

/// The reports store's tables. Cheap to clone.
#[derive(Clone)]
pub(crate) struct ReportsStore {
    pub(crate) store: Store,
    log: Table<u64, DomainEvent>,
    log_ids: Table<Uuid, u64>,
    trips: Table<ReservationId, Trip>,
    cars: Table<VehicleId, CarFacts>,
    balances: Table<CustomerId, i64>,
    positions: Table<PositionKey, (f64, f64)>,
    /// The newest sequence durably in the log: readers never see past it, so an event a
    /// crash could still take back (and give its number to another) is never streamed.
    committed: Arc<AtomicU64>,
}

fn flatten(error: TxError<Infallible>) -> StorageError {
    match error {
        TxError::Storage(error) => error,
        TxError::Aborted(never) => match never {},
    }
}

impl ReportsStore {
    pub(crate) fn open(store: Store) -> Result<Self, StorageError> {
        let reports = ReportsStore {
            log: store.table("log")?,
            log_ids: store.table("log_ids")?,
            trips: store.table("trips")?,
            cars: store.table("cars")?,
            balances: store.table("balances")?,
            positions: store.table("positions")?,
            committed: Arc::new(AtomicU64::new(0)),
            store,
        };
        // What is on disk at start was flushed by the last close or is what survived a crash:
        // either way it is all there is.
        let last = reports.last_sequence()?;
        reports.committed.store(last, Ordering::Release);
        Ok(reports)
    }

    /// The newest sequence written (committed or not).
    pub(crate) fn last_sequence(&self) -> Result<u64, StorageError> {
        Ok(match self.log.iter().next_back() {
            Some(entry) => entry?.0,
            None => 0,
        })
    }

    /// The newest sequence readers may see.
    pub(crate) fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    pub(crate) fn mark_committed(&self, sequence: u64) {
        self.committed.fetch_max(sequence, Ordering::AcqRel);
    }

    /// Whether the log already holds the event.
    pub(crate) fn knows(&self, id: &Uuid) -> Result<bool, StorageError> {
        self.log_ids.contains(id)
    }

    /// Logs `event` as `sequence` and applies it to the projections, in one transaction.
    pub(crate) fn append(&self, sequence: u64, event: &DomainEvent) -> Result<(), StorageError> {
        let start_place = self.start_place(event)?;
        let members: [&dyn storage::TxMember; 6] = [
            &self.log,
            &self.log_ids,
            &self.trips,
            &self.cars,
            &self.balances,
            &self.positions,
        ];
        self.store
            .transaction(&members, |tx| {
                tx.table(&self.log)?.insert(&sequence, event)?;
                tx.table(&self.log_ids)?.insert(&event.id, &sequence)?;
                self.project(tx, event, start_place)?;
                Ok::<_, TxAbort<Infallible>>(())
            })
            .map_err(flatten)
    }

    /// Logs a car's position as `sequence` and records it in the track with plain writes, no
    /// transaction: sled rolls its write buffer to disk for every transaction, which at one
    /// position per car every few seconds would be most of this store's work. What a
    /// transaction would protect is not at stake: sled recovers its writes in order, so a crash
    /// leaves a prefix of these three, and the id goes first, so a prefix is either nothing, an
    /// id without its entry (the position is lost, as a lazy fix may be) or the entry. The
    /// track entry is the same however often it is written.
    pub(crate) fn append_position(
        &self,
        sequence: u64,
        event: &DomainEvent,
    ) -> Result<(), StorageError> {
        self.log_ids.insert(&event.id, &sequence)?;
        self.log.insert(&sequence, event)?;
        if let Target::Position(vehicle, at, place) = fold::target(event) {
            self.positions.insert(&(vehicle, at), &place)?;
        }
        Ok(())
    }

    /// Applies a logged event to the projections again (a rebuild).
    pub(crate) fn reproject(&self, event: &DomainEvent) -> Result<(), StorageError> {
        let start_place = self.start_place(event)?;
        let members: [&dyn storage::TxMember; 4] =
            [&self.trips, &self.cars, &self.balances, &self.positions];
        self.store
            .transaction(&members, |tx| {
                self.project(tx, event, start_place)?;
                Ok::<_, TxAbort<Infallible>>(())
            })
            .map_err(flatten)
    }

    /// Where the car was when a rental started: its newest known position at the unlock.
    fn start_place(&self, event: &DomainEvent) -> Result<Option<(f64, f64)>, StorageError> {
        let (crate::events::EventData::RentalStarted { unlocked_at }, Some(vehicle)) =
            (&event.data, event.subjects.vehicle_id)
        else {
            return Ok(None);
        };
        let newest = self
            .positions
            .range((vehicle, DateTime::<Utc>::MIN_UTC)..=(vehicle, *unlocked_at))
            .next_back()
            .transpose()?;
        Ok(newest.map(|(_, place)| place))
    }

    fn project(
        &self,
        tx: &Tx<'_>,
        event: &DomainEvent,
        start_place: Option<(f64, f64)>,
    ) -> Result<(), TxOpError> {
        match fold::target(event) {
            Target::Trip(id) => {
                let trips = tx.table(&self.trips)?;
                let mut trip = trips.get(&id)?.unwrap_or_default();
                fold::apply_to_trip(&mut trip, event, start_place);
                trips.insert(&id, &trip)?;
            }
            Target::Car(id) => {
                let cars = tx.table(&self.cars)?;
                let mut car = cars.get(&id)?.unwrap_or_default();
                fold::apply_to_car(&mut car, event);
                cars.insert(&id, &car)?;
            }
            Target::Balance(id) => {
                let balances = tx.table(&self.balances)?;
                let owed = fold::apply_to_balance(balances.get(&id)?.unwrap_or(0), event);
                balances.insert(&id, &owed)?;
            }
            Target::Position(id, at, place) => {
                tx.table(&self.positions)?.insert(&(id, at), &place)?;
            }
            Target::Nothing => {}
        }
        Ok(())
    }

    /// Empties the projections (not the log).
    pub(crate) fn clear_projections(&self) -> Result<(), StorageError> {
        fn clear<K: storage::Key, V: serde::Serialize + serde::de::DeserializeOwned>(
            table: &Table<K, V>,
        ) -> Result<(), StorageError> {
            let keys = table
                .iter()
                .map(|entry| entry.map(|(key, _)| key))
                .collect::<Result<Vec<_>, _>>()?;
            for key in keys {
                table.remove(&key)?;
            }
            Ok(())
        }
        clear(&self.trips)?;
        clear(&self.cars)?;
        clear(&self.balances)?;
        clear(&self.positions)
    }

    /// Logged events with a sequence in `(after, committed]`, oldest first, at most `limit`.
    pub(crate) fn read_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, DomainEvent)>, StorageError> {
        let end = self.committed();
        if after >= end {
            return Ok(Vec::new());
        }
        self.log
            .range(after + 1..=end)
            .take(limit)
            .collect::<Result<Vec<_>, _>>()
    }

    /// Logged events from `after` on, whatever their commit state (the writer's rebuild).
    pub(crate) fn log_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, DomainEvent)>, StorageError> {
        self.log
            .range(after.saturating_add(1)..)
            .take(limit)
            .collect::<Result<Vec<_>, _>>()
    }

    /// Removes at most `batch` log entries (with their ids) that occurred before `cutoff`,
    /// oldest sequence first, stopping at the first younger one; and the track's positions
    /// before `cutoff`. How many entries went.
    pub(crate) fn purge(&self, cutoff: DateTime<Utc>, batch: usize) -> Result<usize, StorageError> {
        let mut removed = 0;
        let doomed: Vec<(u64, Uuid)> = self
            .log
            .iter()
            .take(batch)
            .map_while(|entry| match entry {
                Ok((sequence, event)) if event.occurred_at < cutoff => {
                    Some(Ok((sequence, event.id)))
                }
                Ok(_) => None,
                Err(error) => Some(Err(error)),
            })
            .collect::<Result<_, _>>()?;
        for (sequence, id) in doomed {
            let members: [&dyn storage::TxMember; 2] = [&self.log, &self.log_ids];
            self.store
                .transaction(&members, |tx| {
                    tx.table(&self.log)?.remove(&sequence)?;
                    tx.table(&self.log_ids)?.remove(&id)?;
                    Ok::<_, TxAbort<Infallible>>(())
                })
                .map_err(flatten)?;
            removed += 1;
        }
        let old_positions: Vec<PositionKey> = self
            .positions
            .iter()
            .filter_map(|entry| match entry {
                Ok((key, _)) if key.1 < cutoff => Some(Ok(key)),
                Ok(_) => None,
                Err(error) => Some(Err(error)),
            })
            .take(batch)
            .collect::<Result<_, _>>()?;
        removed += old_positions.len();
        for key in old_positions {
            self.positions.remove(&key)?;
        }
        Ok(removed)
    }

    /// Every trip (an operator's report reads them all).
    pub(crate) fn trips(&self) -> Result<Vec<Trip>, StorageError> {
        self.trips
            .iter()
            .map(|entry| entry.map(|(_, trip)| trip))
            .collect()
    }

    /// Every car's facts.
    pub(crate) fn cars(&self) -> Result<Vec<(VehicleId, CarFacts)>, StorageError> {
        self.cars.iter().collect()
    }

    /// Every customer's balance.
    pub(crate) fn balances(&self) -> Result<Vec<(CustomerId, i64)>, StorageError> {
        self.balances.iter().collect()
    }

    /// The car's track in `[from, to]`, oldest first.
    pub(crate) fn track(
        &self,
        vehicle: VehicleId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(f64, f64)>, StorageError> {
        self.positions
            .range((vehicle, from)..=(vehicle, to))
            .map(|entry| entry.map(|(_, place)| place))
            .collect()
    }

    /// Events in the log (walks it: tests and operators).
    pub(crate) fn log_len(&self) -> usize {
        self.log.len()
    }
}
