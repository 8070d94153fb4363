//! The rules of extending a reservation, as pure functions of the record, the new end, the
//! time and the rules; the car's actor applies them in its turn (`car_extension.rs`).

use chrono::{DateTime, Utc};

use crate::domain::{Cents, InvalidField};

use super::error::ReservationsError;
use super::model::{ReservationRecord, ReservationStatus};
use super::pricing::hold_cents;
use super::rules::RentalRules;

/// What an extension asks of the car and the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Extension {
    /// The reservation already ends there: a retried extension, answered as it stands.
    Unchanged,
    /// Move the end to `end_at`, holding `extra` more (zero when the added time is under a
    /// minute, which the pricing does not charge).
    To { end_at: DateTime<Utc>, extra: Cents },
}

/// Checks that `record` may end at `end_at` instead, at `now`: it is confirmed or active and
/// has not reached its end (a rental past its end is in overtime, billed by its own rules,
/// which an extension must not undercut), the new end is later, and the whole reservation
/// stays within `rental.max_hours`. The extra hold is the price of the whole new window less
/// what is held already, so the total held is what booking that window would have held.
pub(crate) fn check_extension(
    record: &ReservationRecord,
    end_at: DateTime<Utc>,
    now: DateTime<Utc>,
    rules: &RentalRules,
) -> Result<Extension, ReservationsError> {
    if !matches!(
        record.status,
        ReservationStatus::Confirmed | ReservationStatus::Active
    ) {
        return Err(ReservationsError::InvalidState {
            action: "extend",
            status: record.status,
        });
    }
    if end_at == record.end_at {
        return Ok(Extension::Unchanged);
    }
    let refuse = |reason: String| {
        Err(ReservationsError::Invalid(vec![InvalidField {
            field: "end_at",
            reason,
        }]))
    };
    if now >= record.end_at {
        return refuse("the reservation has reached its end and can no longer be extended".into());
    }
    if end_at < record.end_at {
        return refuse(format!(
            "the new end must be later than the current end ({})",
            record.end_at.to_rfc3339()
        ));
    }
    if end_at - record.start_at > rules.max_duration {
        return refuse(format!(
            "a reservation lasts at most {} hours",
            rules.max_duration.num_hours()
        ));
    }
    let total = hold_cents(record.hourly_rate_cents, record.start_at, end_at);
    Ok(Extension::To {
        end_at,
        extra: (total - record.hold_cents).max(Cents::ZERO),
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::config::RentalConfig;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::minutes(minutes)
    }

    fn rules() -> RentalRules {
        RentalRules::from_config(&RentalConfig::default())
    }

    /// Confirmed from 60 to 180 minutes, 30 BRL an hour, 60 BRL held.
    fn booked(status: ReservationStatus) -> ReservationRecord {
        ReservationRecord::sample(status, at(60), at(180))
    }

    fn field_of(result: Result<Extension, ReservationsError>) -> Vec<&'static str> {
        match result {
            Err(ReservationsError::Invalid(fields)) => {
                fields.iter().map(|field| field.field).collect()
            }
            other => panic!("expected an invalid end, got {other:?}"),
        }
    }

    #[test]
    fn the_extra_hold_is_the_price_of_the_added_time() {
        for status in [ReservationStatus::Confirmed, ReservationStatus::Active] {
            assert_eq!(
                check_extension(&booked(status), at(270), at(0), &rules()).unwrap(),
                Extension::To {
                    end_at: at(270),
                    extra: Cents::new(4_500)
                },
                "{status:?}"
            );
        }
        assert_eq!(
            check_extension(
                &booked(ReservationStatus::Active),
                at(180),
                at(100),
                &rules()
            )
            .unwrap(),
            Extension::Unchanged
        );
    }

    #[test]
    fn the_new_end_must_be_later_and_within_the_longest_reservation() {
        let record = booked(ReservationStatus::Confirmed);
        assert_eq!(
            field_of(check_extension(&record, at(170), at(0), &rules())),
            ["end_at"]
        );
        // Six hours from the start is the longest; a minute more is refused.
        assert!(check_extension(&record, at(60 + 360), at(0), &rules()).is_ok());
        assert_eq!(
            field_of(check_extension(&record, at(60 + 361), at(0), &rules())),
            ["end_at"]
        );
    }

    #[test]
    fn only_confirmed_or_active_reservations_before_their_end_extend() {
        for status in [
            ReservationStatus::Completed,
            ReservationStatus::Cancelled,
            ReservationStatus::NoShow,
            ReservationStatus::Rejected,
            ReservationStatus::PendingPayment,
        ] {
            assert!(
                matches!(
                    check_extension(&booked(status), at(240), at(0), &rules()),
                    Err(ReservationsError::InvalidState { .. })
                ),
                "{status:?}"
            );
        }
        let overtime = booked(ReservationStatus::Active);
        assert_eq!(
            field_of(check_extension(&overtime, at(240), at(180), &rules())),
            ["end_at"]
        );
    }
}
