//! The reservations service's read side: one reservation, lists, charges and incidents, read
//! from the service's own store (every change goes through a car's rentals actor).

use crate::billing::LedgerEntry;
use crate::ids::ReservationId;
use crate::incident::Incident;

use super::model::ReservationRecord;
use super::{
    Page, Requester, Reservation, ReservationFilter, ReservationsError, ReservationsHandle,
};

impl ReservationsHandle {
    pub(super) fn record(&self, id: ReservationId) -> Result<ReservationRecord, ReservationsError> {
        self.inner
            .tables
            .reservations
            .get(&id)?
            .ok_or(ReservationsError::NotFound)
    }

    pub(super) fn visible_record(
        &self,
        requester: Requester,
        id: ReservationId,
    ) -> Result<ReservationRecord, ReservationsError> {
        let record = self.record(id)?;
        if requester.may_access(&record) {
            Ok(record)
        } else {
            Err(ReservationsError::NotFound)
        }
    }

    /// One reservation; another customer's is `NotFound`.
    pub fn get(
        &self,
        requester: Requester,
        id: ReservationId,
    ) -> Result<Reservation, ReservationsError> {
        self.visible_record(requester, id)
            .map(|record| Reservation::from(&record))
    }

    /// A customer's own reservations, or (admin) all of them filtered, newest last.
    pub fn list(
        &self,
        requester: Requester,
        filter: &ReservationFilter,
        limit: usize,
        after: Option<ReservationId>,
    ) -> Result<Page<Reservation>, ReservationsError> {
        let tables = &self.inner.tables;
        let limit = limit.clamp(1, 200);
        let keep = |record: &ReservationRecord| {
            filter.status.is_none_or(|status| record.status == status)
                && filter
                    .vehicle_id
                    .is_none_or(|vehicle| record.vehicle_id == vehicle)
                && filter
                    .customer_id
                    .is_none_or(|customer| record.customer_id == customer)
        };
        let mut items = Vec::with_capacity(limit + 1);
        match requester {
            Requester::Customer(customer) => {
                // The scan starts at this customer's first entry, never before it.
                let first = (customer, ReservationId(uuid::Uuid::nil()));
                let start = after.map_or(std::ops::Bound::Included(first), |after| {
                    std::ops::Bound::Excluded((customer, after))
                });
                let end = std::ops::Bound::Included((customer, ReservationId(uuid::Uuid::max())));
                for entry in tables.by_customer.range((start, end)) {
                    let ((_, id), ()) = entry?;
                    if let Some(record) = tables.reservations.get(&id)?
                        && keep(&record)
                    {
                        items.push(record);
                        if items.len() > limit {
                            break;
                        }
                    }
                }
            }
            Requester::Admin => {
                let start = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
                for entry in tables
                    .reservations
                    .range((start, std::ops::Bound::Unbounded))
                {
                    let (_, record) = entry?;
                    if keep(&record) {
                        items.push(record);
                        if items.len() > limit {
                            break;
                        }
                    }
                }
            }
        }
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|record| record.id)
        } else {
            None
        };
        Ok(Page {
            items: items.iter().map(Reservation::from).collect(),
            next_cursor,
        })
    }

    /// The hold, capture, void and refund records of a reservation the requester may see.
    pub async fn charges(
        &self,
        requester: Requester,
        id: ReservationId,
    ) -> Result<Vec<LedgerEntry>, ReservationsError> {
        self.visible_record(requester, id)?;
        self.inner
            .billing
            .ledger(id)
            .await
            .map_err(|error| ReservationsError::upstream("billing", error))
    }

    /// The incidents this service recorded (rentals ended without a lock, charges refused),
    /// oldest first.
    pub fn incidents(&self) -> Result<Vec<Incident>, ReservationsError> {
        let incidents = self
            .inner
            .tables
            .incidents
            .iter()
            .map(|entry| entry.map(|(_, incident)| incident))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(incidents)
    }
}
