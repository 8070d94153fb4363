//! The reservations store: records, both calendars, idempotency keys and deadlines.
//!
//! Only open reservations (pending payment, confirmed, active) occupy the calendars, so an
//! overlap check scans a handful of entries per car or customer, and "has open reservations"
//! is a non-empty prefix. A reservation's record and its calendar entries always change in one
//! transaction.

use chrono::{DateTime, Utc};
use storage::{StorageResult, Store, Table, TxAbort, TxError};

use crate::events::DomainEvent;
use crate::ids::{CustomerId, IncidentId, ReservationId, VehicleId};
use crate::incident::Incident;

use super::model::{
    CalendarEntry, DeadlineKind, IdempotencyRecord, InFlight, ReservationRecord, UnfinishedBooking,
};

/// Key of a calendar entry: owner, start, reservation (so entries sort by start).
pub(crate) type CarSlot = (VehicleId, DateTime<Utc>, ReservationId);
/// Key of a customer's calendar entry.
pub(crate) type CustomerSlot = (CustomerId, DateTime<Utc>, ReservationId);
/// Key of the idempotency keys' time index: created at, then the key's own key.
pub(crate) type IdempotencyAge = (DateTime<Utc>, CustomerId, String);
/// Key of a persisted deadline: when, which reservation, which kind (its code).
pub(crate) type DeadlineKey = (DateTime<Utc>, ReservationId, u8);

/// The store's tables.
#[derive(Clone)]
pub(crate) struct Tables {
    pub(crate) store: Store,
    pub(crate) reservations: Table<ReservationId, ReservationRecord>,
    pub(crate) car_calendar: Table<CarSlot, CalendarEntry>,
    pub(crate) customer_calendar: Table<CustomerSlot, CalendarEntry>,
    pub(crate) by_customer: Table<(CustomerId, ReservationId), ()>,
    pub(crate) idempotency: Table<(CustomerId, String), IdempotencyRecord>,
    /// Each idempotency key by its creation (the reservation's `created_at`), so that the
    /// retention job walks the expired ones in time order (see `retention`).
    pub(crate) idempotency_by_time: Table<IdempotencyAge, ()>,
    pub(crate) deadlines: Table<DeadlineKey, ()>,
    /// Bookings with an idempotency key that the payment provider's outage interrupted, by
    /// customer and key: the reservation id their retry takes, so that it resumes the same
    /// charge (the same hold idempotency key at the provider) instead of placing another.
    /// Written and removed by the customer's schedule only.
    pub(crate) unfinished_bookings: Table<(CustomerId, String), UnfinishedBooking>,
    /// Each car's fencing number (see `car`).
    pub(crate) car_fences: Table<VehicleId, u64>,
    /// Commands ordered and not yet reported back, by car: scanned at start.
    pub(crate) in_flight: Table<VehicleId, InFlight>,
    pub(crate) incidents: Table<IncidentId, Incident>,
    /// Cars closed to bookings for good, with when: written by the car's rentals actor in the
    /// turn that found no open reservation (see `car_retirement`).
    pub(crate) retired_cars: Table<VehicleId, DateTime<Utc>>,
}

/// A change to one car's reservations, written in one transaction: the record (its calendar
/// entries freed when it closes), deadlines added and removed, the car's access state, an
/// incident and the events the change causes (so an event exists if and only if its change
/// does, and a retried step that finds the change made writes none).
#[derive(Default)]
pub(crate) struct Change<'a> {
    pub(crate) record: Option<&'a ReservationRecord>,
    pub(crate) add_deadlines: &'a [(DateTime<Utc>, DeadlineKind)],
    pub(crate) remove_deadlines: &'a [(DateTime<Utc>, DeadlineKind)],
    /// The car's fence and in-flight command (`None` inside: cleared).
    pub(crate) access: Option<(VehicleId, u64, Option<&'a InFlight>)>,
    pub(crate) incident: Option<&'a Incident>,
    /// Rewrite the open record's calendar entries: its end moved (an extension).
    pub(crate) calendar: bool,
    /// The domain events of the change, appended to the store's outbox.
    pub(crate) events: &'a [DomainEvent],
}

impl Tables {
    pub(crate) fn open(store: Store) -> StorageResult<Self> {
        Ok(Tables {
            reservations: store.table("reservations")?,
            car_calendar: store.table("car_calendar")?,
            customer_calendar: store.table("customer_calendar")?,
            by_customer: store.table("by_customer")?,
            idempotency: store.table("idempotency")?,
            idempotency_by_time: store.table("idempotency_by_time")?,
            unfinished_bookings: store.table("unfinished_bookings")?,
            deadlines: store.table("deadlines")?,
            car_fences: store.table("car_fences")?,
            in_flight: store.table("in_flight")?,
            incidents: store.table("incidents")?,
            retired_cars: store.table("retired_cars")?,
            store,
        })
    }

    /// The open intervals of a car.
    pub(crate) fn car_entries(&self, vehicle: VehicleId) -> StorageResult<Vec<CalendarEntry>> {
        self.car_calendar
            .scan_prefix(&vehicle)
            .map(|entry| entry.map(|(_, value)| value))
            .collect()
    }

    /// The open intervals of a customer.
    pub(crate) fn customer_entries(
        &self,
        customer: CustomerId,
    ) -> StorageResult<Vec<CalendarEntry>> {
        self.customer_calendar
            .scan_prefix(&customer)
            .map(|entry| entry.map(|(_, value)| value))
            .collect()
    }

    /// Writes a new reservation with its calendar entries (when it is open), listing,
    /// idempotency key, deadlines and the events of its outcome, all or nothing.
    pub(crate) fn insert_booking(
        &self,
        record: &ReservationRecord,
        idempotency: Option<&(String, IdempotencyRecord)>,
        deadlines: &[(DateTime<Utc>, DeadlineKind)],
        events: &[DomainEvent],
    ) -> Result<(), TxError<()>> {
        let (car_slot, customer_slot) = slots(record);
        let (car_entry, customer_entry) = entries(record);
        let outbox = self.store.outbox();
        self.store.transaction(
            &[
                &self.reservations,
                &self.car_calendar,
                &self.customer_calendar,
                &self.by_customer,
                &self.idempotency,
                &self.idempotency_by_time,
                &self.deadlines,
                outbox.member(),
            ],
            |tx| {
                tx.table(&self.reservations)?.insert(&record.id, record)?;
                if record.status.is_open() {
                    tx.table(&self.car_calendar)?
                        .insert(&car_slot, &car_entry)?;
                    tx.table(&self.customer_calendar)?
                        .insert(&customer_slot, &customer_entry)?;
                }
                tx.table(&self.by_customer)?
                    .insert(&(record.customer_id, record.id), &())?;
                if let Some((key, value)) = idempotency {
                    tx.table(&self.idempotency)?
                        .insert(&(record.customer_id, key.clone()), value)?;
                    tx.table(&self.idempotency_by_time)?
                        .insert(&(record.created_at, record.customer_id, key.clone()), &())?;
                }
                let deadline_table = tx.table(&self.deadlines)?;
                for (at, kind) in deadlines {
                    deadline_table.insert(&(*at, record.id, kind.code()), &())?;
                }
                crate::events::append(outbox, tx, events)?;
                Ok::<(), TxAbort<()>>(())
            },
        )
    }

    /// Writes `change` in one transaction (not yet durable: the caller commits when the
    /// change must survive a crash before it is acted on).
    pub(crate) fn write(&self, change: &Change<'_>) -> Result<(), TxError<()>> {
        let outbox = self.store.outbox();
        self.store.transaction(
            &[
                &self.reservations,
                &self.car_calendar,
                &self.customer_calendar,
                &self.deadlines,
                &self.car_fences,
                &self.in_flight,
                &self.incidents,
                outbox.member(),
            ],
            |tx| {
                if let Some(record) = change.record {
                    tx.table(&self.reservations)?.insert(&record.id, record)?;
                    let (car_slot, customer_slot) = slots(record);
                    if !record.status.is_open() {
                        tx.table(&self.car_calendar)?.remove(&car_slot)?;
                        tx.table(&self.customer_calendar)?.remove(&customer_slot)?;
                    } else if change.calendar {
                        let (car_entry, customer_entry) = entries(record);
                        tx.table(&self.car_calendar)?
                            .insert(&car_slot, &car_entry)?;
                        tx.table(&self.customer_calendar)?
                            .insert(&customer_slot, &customer_entry)?;
                    }
                    let deadline_table = tx.table(&self.deadlines)?;
                    for (at, kind) in change.remove_deadlines {
                        deadline_table.remove(&(*at, record.id, kind.code()))?;
                    }
                    for (at, kind) in change.add_deadlines {
                        deadline_table.insert(&(*at, record.id, kind.code()), &())?;
                    }
                }
                if let Some((vehicle, fence, in_flight)) = change.access {
                    tx.table(&self.car_fences)?.insert(&vehicle, &fence)?;
                    let table = tx.table(&self.in_flight)?;
                    match in_flight {
                        Some(in_flight) => table.insert(&vehicle, in_flight)?,
                        None => table.remove(&vehicle)?,
                    }
                }
                if let Some(incident) = change.incident {
                    tx.table(&self.incidents)?.insert(&incident.id, incident)?;
                }
                crate::events::append(outbox, tx, change.events)?;
                Ok::<(), TxAbort<()>>(())
            },
        )
    }
}

fn slots(record: &ReservationRecord) -> (CarSlot, CustomerSlot) {
    (
        (record.vehicle_id, record.start_at, record.id),
        (record.customer_id, record.start_at, record.id),
    )
}

fn entries(record: &ReservationRecord) -> (CalendarEntry, CalendarEntry) {
    let entry = |counterpart| CalendarEntry {
        reservation_id: record.id,
        counterpart,
        start_at: record.start_at,
        end_at: record.end_at,
    };
    (
        entry(record.customer_id.as_uuid()),
        entry(record.vehicle_id.as_uuid()),
    )
}

/// Flattens a transaction error whose closure never aborts on its own.
pub(crate) fn tx_storage(error: TxError<()>) -> storage::StorageError {
    match error {
        TxError::Storage(error) => error,
        TxError::Aborted(()) => storage::StorageError::Closed {
            store: "reservations".into(),
        },
    }
}
