//! Who may open a car at a given instant, as a pure function of the car's open reservations.
//!
//! At most one reservation is entitled at any instant, so at most one customer can open the
//! car: a rental under way (`active`) holds the car until it ends, however late; otherwise the
//! confirmed reservation whose window contains the instant; otherwise the confirmed reservation
//! whose unlock grace (the minutes before its start) contains it. Windows of one car never
//! overlap, and the grace is shorter than the shortest rental, so the grace of the next
//! reservation only counts once the previous window has closed: it never reaches into
//! another reservation's window or an active rental.

use chrono::{DateTime, TimeDelta, Utc};

use crate::ids::CustomerId;

use super::error::AccessDenied;
use super::model::{ReservationRecord, ReservationStatus};

/// The reservation entitled to open the car at `now`, among its open reservations.
pub(crate) fn entitled(
    open: &[ReservationRecord],
    now: DateTime<Utc>,
    grace: TimeDelta,
) -> Option<&ReservationRecord> {
    let confirmed = || {
        open.iter()
            .filter(|record| record.status == ReservationStatus::Confirmed)
    };
    open.iter()
        .find(|record| record.status == ReservationStatus::Active)
        .or_else(|| confirmed().find(|record| record.start_at <= now && now < record.end_at))
        .or_else(|| {
            confirmed().find(|record| record.start_at - grace <= now && now < record.start_at)
        })
}

/// The reservation through which `customer` may unlock or lock the car at `now`, or why not.
pub(crate) fn check_access(
    open: &[ReservationRecord],
    customer: CustomerId,
    now: DateTime<Utc>,
    grace: TimeDelta,
) -> Result<&ReservationRecord, AccessDenied> {
    let mut own = open.iter().filter(|record| {
        record.customer_id == customer
            && matches!(
                record.status,
                ReservationStatus::Confirmed | ReservationStatus::Active
            )
    });
    let Some(first_own) = own.next() else {
        return Err(AccessDenied::NoReservation);
    };
    match entitled(open, now, grace) {
        Some(holder) if holder.customer_id == customer => Ok(holder),
        Some(holder) if holder.status == ReservationStatus::Active => {
            let waiting = std::iter::once(first_own)
                .chain(own)
                .any(|record| record.start_at - grace <= now && now < record.end_at);
            Err(if waiting {
                AccessDenied::CarNotReturned
            } else {
                AccessDenied::OutsideWindow
            })
        }
        _ => Err(AccessDenied::OutsideWindow),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::minutes(minutes)
    }

    const GRACE: TimeDelta = TimeDelta::minutes(15);

    fn booking(
        customer: CustomerId,
        status: ReservationStatus,
        start: i64,
        end: i64,
    ) -> ReservationRecord {
        ReservationRecord {
            customer_id: customer,
            ..ReservationRecord::sample(status, at(start), at(end))
        }
    }

    #[test]
    fn a_confirmed_reservation_opens_from_its_grace_to_its_end() {
        let ana = CustomerId::new();
        let open = [booking(ana, ReservationStatus::Confirmed, 60, 180)];
        assert_eq!(
            check_access(&open, ana, at(44), GRACE),
            Err(AccessDenied::OutsideWindow)
        );
        assert!(check_access(&open, ana, at(45), GRACE).is_ok());
        assert!(check_access(&open, ana, at(179), GRACE).is_ok());
        assert_eq!(
            check_access(&open, ana, at(180), GRACE),
            Err(AccessDenied::OutsideWindow)
        );
        assert_eq!(
            check_access(&open, CustomerId::new(), at(100), GRACE),
            Err(AccessDenied::NoReservation)
        );
    }

    #[test]
    fn the_grace_of_the_next_renter_never_reaches_into_the_previous_window() {
        let (ana, bia) = (CustomerId::new(), CustomerId::new());
        // Ana 14:00–16:00, Bia 16:00–18:00 (minutes from 12:00).
        let first = booking(ana, ReservationStatus::Confirmed, 120, 240);
        let second = booking(bia, ReservationStatus::Confirmed, 240, 360);
        let open = [first.clone(), second.clone()];
        assert_eq!(
            check_access(&open, bia, at(226), GRACE),
            Err(AccessDenied::OutsideWindow),
            "15:46: Ana's window"
        );
        assert_eq!(check_access(&open, ana, at(226), GRACE), Ok(&first));
        assert_eq!(check_access(&open, bia, at(240), GRACE), Ok(&second));
        assert_eq!(
            check_access(&open, ana, at(240), GRACE),
            Err(AccessDenied::OutsideWindow)
        );
    }

    #[test]
    fn an_active_rental_holds_the_car_until_it_ends_however_late() {
        let (ana, bia) = (CustomerId::new(), CustomerId::new());
        let late = booking(ana, ReservationStatus::Active, 120, 240);
        let next = booking(bia, ReservationStatus::Confirmed, 240, 360);
        let open = [late.clone(), next.clone()];
        assert_eq!(
            check_access(&open, bia, at(226), GRACE),
            Err(AccessDenied::CarNotReturned),
            "Bia's grace while Ana drives"
        );
        assert_eq!(
            check_access(&open, bia, at(260), GRACE),
            Err(AccessDenied::CarNotReturned),
            "16:20, Ana running late"
        );
        assert_eq!(check_access(&open, ana, at(260), GRACE), Ok(&late));
        assert_eq!(entitled(&open, at(260), GRACE), Some(&late));
        // Once Ana's rental has ended it leaves the open set, and Bia's window is hers.
        assert_eq!(
            check_access(std::slice::from_ref(&next), bia, at(260), GRACE),
            Ok(&next)
        );
    }

    #[test]
    fn at_most_one_reservation_is_entitled_at_any_instant() {
        let customers: Vec<_> = (0..3).map(|_| CustomerId::new()).collect();
        let open = [
            booking(customers[0], ReservationStatus::Confirmed, 0, 120),
            booking(customers[1], ReservationStatus::Confirmed, 125, 245),
            booking(customers[2], ReservationStatus::Confirmed, 245, 365),
        ];
        for minute in -30..400 {
            let allowed = customers
                .iter()
                .filter(|customer| check_access(&open, **customer, at(minute), GRACE).is_ok())
                .count();
            assert!(
                allowed <= 1,
                "{allowed} customers may open the car at {minute}"
            );
        }
    }
}
