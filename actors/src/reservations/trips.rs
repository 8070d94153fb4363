//! The trips of a customer: for an erasure, which stretches of which cars' position history
//! are theirs, so that location can forget them (`LocationHandle::forget_window`).

use chrono::{DateTime, Utc};

use crate::ids::{CustomerId, ReservationId, VehicleId};

use super::model::ReservationRecord;
use super::tables::Tables;
use super::{ReservationsError, ReservationsHandle};

/// One trip: the reservation, its car, and the window in which the customer had the car
/// (both ends included).
pub type Trip = (ReservationId, VehicleId, DateTime<Utc>, DateTime<Utc>);

/// The window in which the reservation's renter had the car, if they ever opened it: from the
/// first unlock, or the start if that came first (an unlock in the grace before the start),
/// to the release; a rental still under way runs to its end or `now`, whichever is later. A
/// reservation never unlocked (cancelled, rejected, a no-show) was not a trip.
pub(crate) fn trip_window(
    record: &ReservationRecord,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let unlocked = record.unlocked_at?;
    let from = unlocked.min(record.start_at);
    let to = record.released_at.unwrap_or_else(|| record.end_at.max(now));
    Some((from, to.max(from)))
}

impl ReservationsHandle {
    /// For each of the customer's reservations that was used (the car was unlocked), the car
    /// and the window from the unlock (or the start, if earlier) to the release (or the end),
    /// oldest first. Read from the store through the customer's index of reservations.
    pub async fn trips_of(&self, customer: CustomerId) -> Result<Vec<Trip>, ReservationsError> {
        trips(&self.inner.tables, customer, self.inner.clock.now())
    }
}

/// [`ReservationsHandle::trips_of`], for the actors that hold the tables.
pub(super) fn trips(
    tables: &Tables,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<Vec<Trip>, ReservationsError> {
    let mut trips = Vec::new();
    for entry in tables.by_customer.scan_prefix(&customer) {
        let ((_, id), ()) = entry?;
        let Some(record) = tables.reservations.get(&id)? else {
            continue;
        };
        if let Some((from, to)) = trip_window(&record, now) {
            trips.push((record.id, record.vehicle_id, from, to));
        }
    }
    trips.sort_by_key(|trip| (trip.2, trip.0));
    Ok(trips)
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::reservations::ReservationStatus;

    fn record(status: ReservationStatus) -> ReservationRecord {
        let start = crate::testing::t0();
        ReservationRecord::sample(status, start, start + TimeDelta::hours(2))
    }

    #[test]
    fn a_trip_runs_from_the_unlock_or_start_to_the_release() {
        let now = crate::testing::t0() + TimeDelta::hours(10);
        let never_opened = record(ReservationStatus::NoShow);
        assert_eq!(trip_window(&never_opened, now), None);

        let mut early = record(ReservationStatus::Completed);
        early.unlocked_at = Some(early.start_at - TimeDelta::minutes(10));
        early.released_at = Some(early.end_at + TimeDelta::minutes(20));
        assert_eq!(
            trip_window(&early, now),
            Some((
                early.start_at - TimeDelta::minutes(10),
                early.end_at + TimeDelta::minutes(20)
            ))
        );

        let mut late = record(ReservationStatus::Completed);
        late.unlocked_at = Some(late.start_at + TimeDelta::minutes(30));
        late.released_at = Some(late.start_at + TimeDelta::hours(1));
        assert_eq!(
            trip_window(&late, now),
            Some((late.start_at, late.start_at + TimeDelta::hours(1)))
        );

        let mut under_way = record(ReservationStatus::Active);
        under_way.unlocked_at = Some(under_way.start_at);
        assert_eq!(
            trip_window(&under_way, now),
            Some((under_way.start_at, now)),
            "a rental past its end runs to now"
        );
    }
}
