//! Questions other services and the simulator's audit ask of reservations (read-only, but for
//! a car's retirement, which the car's rentals actor carries out: see `car_retirement`).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ask::AskError;
use crate::ids::{CustomerId, ReservationId, VehicleId};
use crate::ports::{BoxFuture, ReservationLookup};

use super::ReservationsHandle;
use super::model::{CalendarEntry, ReservationStatus};
use super::rules::overlaps;

fn storage_unavailable(error: storage::StorageError) -> AskError {
    tracing::error!(%error, "reservations store unreadable");
    AskError::Unavailable {
        actor: "reservations store".into(),
    }
}

impl ReservationLookup for ReservationsHandle {
    fn customer_has_open(&self, customer: CustomerId) -> BoxFuture<'_, Result<bool, AskError>> {
        let result = self
            .inner
            .tables
            .customer_calendar
            .scan_prefix(&customer)
            .next()
            .transpose()
            .map(|first| first.is_some())
            .map_err(storage_unavailable);
        Box::pin(async move { result })
    }

    fn vehicle_has_open(&self, vehicle: VehicleId) -> BoxFuture<'_, Result<bool, AskError>> {
        let result = self
            .inner
            .tables
            .car_calendar
            .scan_prefix(&vehicle)
            .next()
            .transpose()
            .map(|first| first.is_some())
            .map_err(storage_unavailable);
        Box::pin(async move { result })
    }

    fn retire_vehicle(&self, vehicle: VehicleId) -> BoxFuture<'_, Result<bool, AskError>> {
        Box::pin(super::car_retirement::retire_vehicle(self, vehicle))
    }

    fn busy(
        &self,
        vehicles: Vec<VehicleId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<HashSet<VehicleId>, AskError>> {
        let mut busy = HashSet::new();
        let mut result = Ok(());
        for vehicle in vehicles {
            match self.inner.tables.car_entries(vehicle) {
                Ok(entries) => {
                    if entries
                        .iter()
                        .any(|entry| overlaps(entry.start_at, entry.end_at, from, to))
                    {
                        busy.insert(vehicle);
                    }
                }
                Err(error) => {
                    result = Err(storage_unavailable(error));
                    break;
                }
            }
        }
        Box::pin(async move { result.map(|()| busy) })
    }
}

/// A span in which a renter held a car: start inclusive, end exclusive.
pub type RentalWindow = (DateTime<Utc>, DateTime<Utc>);

/// When a reservation let its renter open the car: from the unlock grace before its start
/// until the release; `until` is `None` while the rental is still under way (a late renter may
/// still lock and unlock until they release the car).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessWindow {
    /// The renter.
    pub customer_id: CustomerId,
    /// The car.
    pub vehicle_id: VehicleId,
    /// The first instant an unlock was allowed.
    pub from: DateTime<Utc>,
    /// The instant access ended, if it has.
    pub until: Option<DateTime<Utc>>,
}

impl AccessWindow {
    /// Whether `at` falls inside the window.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        at >= self.from && self.until.is_none_or(|until| at < until)
    }
}

/// A span in which a reservation's renter had the car open to them: from the first unlock
/// to the release (`until` is `None` while the rental is under way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occupancy {
    /// The reservation.
    pub reservation_id: ReservationId,
    /// The renter.
    pub customer_id: CustomerId,
    /// The car.
    pub vehicle_id: VehicleId,
    /// The first unlock.
    pub from: DateTime<Utc>,
    /// The release, if any.
    pub until: Option<DateTime<Utc>>,
}

impl Occupancy {
    /// Whether `at` falls inside the span.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        at >= self.from && self.until.is_none_or(|until| at < until)
    }

    fn overlaps(&self, other: &Occupancy) -> bool {
        let ends_after = |until: Option<DateTime<Utc>>, start| until.is_none_or(|end| end > start);
        ends_after(self.until, other.from) && ends_after(other.until, self.from)
    }
}

/// What the invariant audit found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReservationsAudit {
    /// Reservations by status.
    pub by_status: BTreeMap<&'static str, u64>,
    /// Broken invariants, in words; empty when all hold.
    pub violations: Vec<String>,
    /// Every span in which a renter had a car, by car then time (for the unlock check).
    #[serde(skip)]
    pub occupancy: Vec<Occupancy>,
}

/// Reports every pair of one car's occupancy spans that share an instant: two customers who
/// could open the car at the same time. `spans` is sorted by car, then start.
pub(crate) fn shared_access(spans: &[Occupancy]) -> Vec<String> {
    let mut problems = Vec::new();
    for (index, first) in spans.iter().enumerate() {
        for second in spans[index + 1..]
            .iter()
            .take_while(|second| second.vehicle_id == first.vehicle_id)
        {
            if first.overlaps(second) && first.customer_id != second.customer_id {
                problems.push(format!(
                    "car {} was open to two customers at once: reservations {} and {}",
                    first.vehicle_id, first.reservation_id, second.reservation_id
                ));
            }
        }
    }
    problems
}

impl ReservationsHandle {
    /// The spans in which `customer` held `vehicle`, oldest first: each reservation that kept
    /// the car for them, from its start to the release (or to its end if not released).
    pub fn rental_windows(
        &self,
        customer: CustomerId,
        vehicle: VehicleId,
    ) -> Result<Vec<RentalWindow>, storage::StorageError> {
        let tables = &self.inner.tables;
        let mut windows = Vec::new();
        for entry in tables.by_customer.scan_prefix(&customer) {
            let ((_, id), ()) = entry?;
            let Some(record) = tables.reservations.get(&id)? else {
                continue;
            };
            if record.vehicle_id == vehicle && record.status.held_the_car() {
                windows.push((record.start_at, record.released_at.unwrap_or(record.end_at)));
            }
        }
        windows.sort_unstable();
        Ok(windows)
    }

    /// The window in which reservation `id` let its renter open the car; `None` for an
    /// unknown reservation or one that never held the car (rejected, cancelled, unpaid).
    pub fn access_window(
        &self,
        id: ReservationId,
    ) -> Result<Option<AccessWindow>, storage::StorageError> {
        let Some(record) = self.inner.tables.reservations.get(&id)? else {
            return Ok(None);
        };
        if !record.status.held_the_car() {
            return Ok(None);
        }
        let until = match (record.released_at, record.status) {
            (Some(released), _) => Some(released),
            (None, ReservationStatus::Active) => None,
            (None, _) => Some(record.end_at),
        };
        Ok(Some(AccessWindow {
            customer_id: record.customer_id,
            vehicle_id: record.vehicle_id,
            from: record.start_at - self.inner.rules.unlock_grace,
            until,
        }))
    }

    /// Reads the whole store and checks: no car has overlapping open reservations, every
    /// calendar entry belongs to an open reservation, and every open reservation is on its
    /// car's calendar.
    pub fn audit(&self) -> Result<ReservationsAudit, storage::StorageError> {
        let tables = &self.inner.tables;
        let mut audit = ReservationsAudit::default();
        let mut open = HashSet::new();
        let now = self.inner.clock.now();
        // The automatic end fires at its time and retries failures every 30 s: a minute's
        // slack keeps a deadline being handled right now from reading as a violation.
        let overdue_after = self.inner.rules.auto_end_after + chrono::TimeDelta::minutes(1);
        for entry in tables.reservations.iter() {
            let (id, record) = entry?;
            *audit.by_status.entry(record.status.as_str()).or_default() += 1;
            if record.status.is_open() {
                open.insert(id);
            }
            if record.status == ReservationStatus::Active && now > record.end_at + overdue_after {
                audit.violations.push(format!(
                    "rental {id} of car {} is still under way {} minutes after its end",
                    record.vehicle_id,
                    (now - record.end_at).num_minutes()
                ));
            }
            if let Some(from) = record.unlocked_at {
                audit.occupancy.push(Occupancy {
                    reservation_id: id,
                    customer_id: record.customer_id,
                    vehicle_id: record.vehicle_id,
                    from,
                    until: record.released_at,
                });
            }
        }
        audit
            .occupancy
            .sort_by_key(|span| (span.vehicle_id, span.from));
        audit.violations.extend(shared_access(&audit.occupancy));
        let mut per_car: BTreeMap<VehicleId, Vec<CalendarEntry>> = BTreeMap::new();
        let mut on_calendar = HashSet::new();
        for entry in tables.car_calendar.iter() {
            let ((vehicle, _, id), value) = entry?;
            if !open.contains(&id) {
                audit.violations.push(format!(
                    "calendar of car {vehicle} holds closed reservation {id}"
                ));
            }
            on_calendar.insert(id);
            per_car.entry(vehicle).or_default().push(value);
        }
        for (vehicle, entries) in &per_car {
            for pair in entries.windows(2) {
                // Entries are sorted by start, so an overlap shows between neighbours.
                if overlaps(
                    pair[0].start_at,
                    pair[0].end_at,
                    pair[1].start_at,
                    pair[1].end_at,
                ) {
                    audit.violations.push(format!(
                        "car {vehicle} is booked twice: {} and {}",
                        pair[0].reservation_id, pair[1].reservation_id
                    ));
                }
            }
        }
        for id in open.difference(&on_calendar) {
            audit.violations.push(format!(
                "open reservation {id} is missing from its car's calendar"
            ));
        }
        Ok(audit)
    }
}
