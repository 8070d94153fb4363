//! The domain events a reservation's changes cause, built from the records the change writes.
//!
//! Every builder here is pure: the caller hands the event to the same write as the change
//! (`tables::Change::events`, `Tables::insert_booking`), so the event exists if and only if the
//! change does. A step retried after a crash finds its change made and writes no event again.

use chrono::{DateTime, Utc};

use crate::commands::CommandStatus;
use crate::domain::Cents;
use crate::events::{DomainEvent, EventData, Place, Subjects};
use crate::ids::{CustomerId, ReservationId, VehicleId};

use super::Requester;
use super::model::{ReservationRecord, ReservationStatus};

/// The name this service's events carry as their source (its store's name).
pub(crate) const SOURCE: &str = "reservations";

/// What a confirmation tells about the car, read by the booking path before the car's turn
/// (the vehicles service already answers it there), so the turn that holds the card asks no
/// one for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BookedCar {
    pub(crate) plate: String,
    pub(crate) model: String,
}

fn subjects(record: &ReservationRecord) -> Subjects {
    Subjects::reservation(record.id, record.customer_id, record.vehicle_id)
}

fn event(record: &ReservationRecord, at: DateTime<Utc>, data: EventData) -> DomainEvent {
    DomainEvent::new(SOURCE, at, subjects(record), data)
}

/// The outcome of a booking as written: `reservation.confirmed` or `reservation.rejected`
/// (none for a record in any other state, which a booking never writes).
pub(crate) fn booked(
    record: &ReservationRecord,
    car: &BookedCar,
    place: Option<Place>,
    at: DateTime<Utc>,
) -> Option<DomainEvent> {
    let data = match record.status {
        ReservationStatus::Confirmed => EventData::ReservationConfirmed {
            plate: car.plate.clone(),
            model: car.model.clone(),
            place,
            start_at: record.start_at,
            end_at: record.end_at,
            hold_cents: record.hold_cents,
            hourly_rate_cents: record.hourly_rate_cents,
        },
        ReservationStatus::Rejected => EventData::ReservationRejected {
            reason: record
                .rejection
                .clone()
                .unwrap_or_else(|| "declined".into()),
        },
        _ => return None,
    };
    Some(event(record, at, data))
}

/// Who cancelled, as the event spells it: the system cancels a reservation whose car a late
/// renter kept from it.
pub(crate) fn cancelled_by(requester: Option<Requester>) -> &'static str {
    match requester {
        Some(Requester::Customer(_)) => "customer",
        Some(Requester::Admin) => "admin",
        None => "system",
    }
}

/// `reservation.cancelled`: every hold of the reservation was given back.
pub(crate) fn cancelled(record: &ReservationRecord, by: &str, at: DateTime<Utc>) -> DomainEvent {
    event(
        record,
        at,
        EventData::ReservationCancelled {
            by: by.to_owned(),
            released_cents: record.hold_cents,
        },
    )
}

/// `reservation.extended`, from the record before and after the new end.
pub(crate) fn extended(
    before: &ReservationRecord,
    after: &ReservationRecord,
    at: DateTime<Utc>,
) -> DomainEvent {
    event(
        after,
        at,
        EventData::ReservationExtended {
            previous_end_at: before.end_at,
            end_at: after.end_at,
            added_hold_cents: (after.hold_cents - before.hold_cents).max(Cents::ZERO),
            hold_cents: after.hold_cents,
        },
    )
}

/// `rental.started`, for the record the first unlock made active.
pub(crate) fn started(record: &ReservationRecord, at: DateTime<Utc>) -> DomainEvent {
    event(
        record,
        at,
        EventData::RentalStarted {
            unlocked_at: record.unlocked_at.unwrap_or(at),
        },
    )
}

/// The close of a reservation that held the car, with the figures it has after its
/// settlement: `reservation.no_show` (with the fee asked, `due`) or `rental.ended` (none for
/// any other state).
pub(crate) fn closed(
    record: &ReservationRecord,
    due: Cents,
    at: DateTime<Utc>,
) -> Option<DomainEvent> {
    let data = match record.status {
        ReservationStatus::NoShow => EventData::ReservationNoShow { fee_cents: due },
        ReservationStatus::Completed => EventData::RentalEnded {
            ended_by: record
                .ended_by
                .map_or("system", |by| by.as_str())
                .to_owned(),
            released_at: record.released_at.unwrap_or(at),
            end_at: record.end_at,
            hold_cents: record.hold_cents,
            total_cents: record.total_cents.unwrap_or(due),
            overtime_cents: record.overtime_cents,
            outstanding_cents: record.outstanding_cents,
            settlement_pending: record.settlement_pending,
        },
        _ => return None,
    };
    Some(event(record, at, data))
}

/// Why an unlock the unit settled did not open the car, as `unlock.failed` spells it: the
/// unit said no (`refused`) or did not answer in time (`expired`).
pub(crate) fn unlock_failure(status: CommandStatus) -> Option<&'static str> {
    match status {
        CommandStatus::Done => None,
        CommandStatus::Failed => Some("refused"),
        CommandStatus::Expired | CommandStatus::Pending => Some("expired"),
    }
}

/// `unlock.failed` for the renter's unlock under `reservation`.
pub(crate) fn unlock_failed(
    reservation: ReservationId,
    customer: CustomerId,
    vehicle: VehicleId,
    reason: &str,
    at: DateTime<Utc>,
) -> DomainEvent {
    DomainEvent::new(
        SOURCE,
        at,
        Subjects::reservation(reservation, customer, vehicle),
        EventData::UnlockFailed {
            reason: reason.to_owned(),
        },
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::reservations::model::EndedBy;
    use crate::testing::t0;

    fn record(status: ReservationStatus) -> ReservationRecord {
        ReservationRecord::sample(status, t0(), t0() + TimeDelta::hours(2))
    }

    fn car() -> BookedCar {
        BookedCar {
            plate: "QHT1A23".into(),
            model: "BYD Dolphin".into(),
        }
    }

    #[test]
    fn a_confirmed_booking_carries_the_car_the_window_and_the_money() {
        let confirmed = record(ReservationStatus::Confirmed);
        let place = Some(Place {
            lat: -27.59,
            lon: -48.55,
        });
        let event = booked(&confirmed, &car(), place, t0()).unwrap();
        assert_eq!(event.source, "reservations");
        assert_eq!(
            event.subjects,
            Subjects::reservation(confirmed.id, confirmed.customer_id, confirmed.vehicle_id)
        );
        assert_eq!(
            event.data,
            EventData::ReservationConfirmed {
                plate: "QHT1A23".into(),
                model: "BYD Dolphin".into(),
                place,
                start_at: confirmed.start_at,
                end_at: confirmed.end_at,
                hold_cents: confirmed.hold_cents,
                hourly_rate_cents: confirmed.hourly_rate_cents,
            }
        );
    }

    #[test]
    fn a_rejected_booking_says_why_and_other_states_are_not_bookings() {
        let mut rejected = record(ReservationStatus::Rejected);
        rejected.rejection = Some("insufficient funds".into());
        let event = booked(&rejected, &car(), None, t0()).unwrap();
        assert_eq!(
            event.data,
            EventData::ReservationRejected {
                reason: "insufficient funds".into()
            }
        );
        let active = record(ReservationStatus::Active);
        assert!(booked(&active, &car(), None, t0()).is_none());
    }

    #[test]
    fn an_extension_tells_the_previous_end_and_the_hold_it_added() {
        let before = record(ReservationStatus::Confirmed);
        let mut after = before.clone();
        after.end_at = before.end_at + TimeDelta::hours(1);
        after.hold_cents = before.hold_cents + Cents::new(3_000);
        let event = extended(&before, &after, t0());
        assert_eq!(
            event.data,
            EventData::ReservationExtended {
                previous_end_at: before.end_at,
                end_at: after.end_at,
                added_hold_cents: Cents::new(3_000),
                hold_cents: after.hold_cents,
            }
        );
    }

    #[test]
    fn a_close_is_a_no_show_with_its_fee_or_an_end_with_the_settled_figures() {
        let no_show = record(ReservationStatus::NoShow);
        let event = closed(&no_show, Cents::new(2_500), t0()).unwrap();
        assert_eq!(
            event.data,
            EventData::ReservationNoShow {
                fee_cents: Cents::new(2_500)
            }
        );
        let mut ended = record(ReservationStatus::Completed);
        ended.ended_by = Some(EndedBy::Admin);
        ended.released_at = Some(t0() + TimeDelta::hours(3));
        ended.total_cents = Some(Cents::new(9_000));
        ended.overtime_cents = Cents::new(3_000);
        ended.outstanding_cents = Cents::new(1_000);
        ended.settlement_pending = true;
        let event = closed(&ended, Cents::new(10_000), t0()).unwrap();
        assert_eq!(
            event.data,
            EventData::RentalEnded {
                ended_by: "admin".into(),
                released_at: t0() + TimeDelta::hours(3),
                end_at: ended.end_at,
                hold_cents: ended.hold_cents,
                total_cents: Cents::new(9_000),
                overtime_cents: Cents::new(3_000),
                outstanding_cents: Cents::new(1_000),
                settlement_pending: true,
            }
        );
        assert!(closed(&record(ReservationStatus::Cancelled), Cents::ZERO, t0()).is_none());
    }

    #[test]
    fn an_unlock_fails_as_refused_or_expired_and_a_done_one_does_not() {
        assert_eq!(unlock_failure(CommandStatus::Done), None);
        assert_eq!(unlock_failure(CommandStatus::Failed), Some("refused"));
        assert_eq!(unlock_failure(CommandStatus::Expired), Some("expired"));
        assert_eq!(cancelled_by(Some(Requester::Admin)), "admin");
        assert_eq!(cancelled_by(None), "system");
    }
}
