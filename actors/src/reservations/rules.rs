//! The booking rules, as pure functions of a request, a record and the time.

use crate::domain::Cents;
use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use crate::config::RentalConfig;
use crate::domain::InvalidField;

use super::error::ReservationsError;
use super::model::{CalendarEntry, NewReservation, ReservationRecord, ReservationStatus};

/// The rental rules from the configuration, as durations.
#[derive(Debug, Clone)]
pub struct RentalRules {
    /// Shortest reservation.
    pub min_duration: TimeDelta,
    /// Longest reservation.
    pub max_duration: TimeDelta,
    /// How far ahead a reservation may start.
    pub max_ahead: TimeDelta,
    /// How far in the past a start may be (clock skew of the app).
    pub start_tolerance: TimeDelta,
    /// How early before the start the renter may unlock.
    pub unlock_grace: TimeDelta,
    /// Overtime is billed per started block of this length.
    pub overtime_block: TimeDelta,
    /// Fee for returning late.
    pub late_fee_cents: Cents,
    /// Hours of the rate charged for a no-show.
    pub no_show_fee_hours: i64,
    /// How long after its end a rental still under way is ended by the system.
    pub auto_end_after: TimeDelta,
}

impl RentalRules {
    /// The rules of `config`.
    pub fn from_config(config: &RentalConfig) -> Self {
        RentalRules {
            min_duration: TimeDelta::hours(i64::from(config.min_hours)),
            max_duration: TimeDelta::hours(i64::from(config.max_hours)),
            max_ahead: TimeDelta::days(i64::from(config.max_days_ahead)),
            start_tolerance: TimeDelta::seconds(config.start_tolerance_s as i64),
            unlock_grace: TimeDelta::minutes(i64::from(config.unlock_grace_min)),
            overtime_block: TimeDelta::minutes(i64::from(config.overtime_block_min)),
            late_fee_cents: Cents::new(config.late_fee_cents),
            no_show_fee_hours: i64::from(config.no_show_fee_hours),
            auto_end_after: TimeDelta::minutes(i64::from(config.auto_end_after_min)),
        }
    }

    /// Checks the requested window: its length, that it does not start in the past (beyond the
    /// tolerance), and that it does not start so far ahead that the card hold would lapse
    /// before the rental (a hold lasts about seven days).
    pub fn check_window(
        &self,
        request: &NewReservation,
        now: DateTime<Utc>,
    ) -> Result<(), ReservationsError> {
        let mut errors = Vec::new();
        let duration = request.end_at - request.start_at;
        if duration < self.min_duration || duration > self.max_duration {
            errors.push(InvalidField {
                field: "end_at",
                reason: format!(
                    "a reservation lasts from {} to {} hours",
                    self.min_duration.num_hours(),
                    self.max_duration.num_hours()
                ),
            });
        }
        if request.start_at < now - self.start_tolerance {
            errors.push(InvalidField {
                field: "start_at",
                reason: "the start is in the past".into(),
            });
        } else if request.start_at > now + self.max_ahead {
            errors.push(InvalidField {
                field: "start_at",
                reason: format!(
                    "a reservation can start at most {} days ahead",
                    self.max_ahead.num_days()
                ),
            });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ReservationsError::Invalid(errors))
        }
    }
}

/// Whether half-open intervals `[a_start, a_end)` and `[b_start, b_end)` share an instant.
pub(crate) fn overlaps(
    a_start: DateTime<Utc>,
    a_end: DateTime<Utc>,
    b_start: DateTime<Utc>,
    b_end: DateTime<Utc>,
) -> bool {
    a_start < b_end && b_start < a_end
}

/// The first calendar entry overlapping `[start, end)`.
pub(crate) fn first_overlap<'a>(
    entries: impl IntoIterator<Item = &'a CalendarEntry>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<&'a CalendarEntry> {
    entries
        .into_iter()
        .find(|entry| overlaps(entry.start_at, entry.end_at, start, end))
}

/// Cancelling is for reservations that have not started: afterwards the renter releases the
/// car instead (and pays for the time).
pub(crate) fn check_cancel(
    record: &ReservationRecord,
    now: DateTime<Utc>,
) -> Result<(), ReservationsError> {
    let cancellable = matches!(
        record.status,
        ReservationStatus::PendingPayment | ReservationStatus::Confirmed
    );
    if !cancellable || now >= record.start_at {
        return Err(ReservationsError::InvalidState {
            action: "cancel",
            status: record.status,
        });
    }
    Ok(())
}

/// Releasing the car needs a reservation that is active (unlocked at least once).
pub(crate) fn check_finish(record: &ReservationRecord) -> Result<(), ReservationsError> {
    if record.status == ReservationStatus::Active {
        Ok(())
    } else {
        Err(ReservationsError::InvalidState {
            action: "finish",
            status: record.status,
        })
    }
}

/// A digest of a request, stored with its idempotency key to tell a replay (same digest) from
/// a different request reusing the key.
pub(crate) fn request_digest(request: &NewReservation) -> String {
    let text = format!(
        "{}|{}|{}",
        request.vehicle_id,
        request.start_at.to_rfc3339(),
        request.end_at.to_rfc3339()
    );
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::VehicleId;

    fn rules() -> RentalRules {
        RentalRules::from_config(&RentalConfig::default())
    }

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::hours(hours)
    }

    fn request(start: DateTime<Utc>, end: DateTime<Utc>) -> NewReservation {
        NewReservation {
            vehicle_id: VehicleId::new(),
            start_at: start,
            end_at: end,
        }
    }

    fn record(
        status: ReservationStatus,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> ReservationRecord {
        ReservationRecord::sample(status, start, end)
    }

    fn invalid_fields(result: Result<(), ReservationsError>) -> Vec<&'static str> {
        match result {
            Err(ReservationsError::Invalid(errors)) => {
                errors.iter().map(|error| error.field).collect()
            }
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn durations_from_two_to_six_hours_are_accepted() {
        let now = at(0);
        for hours in 2..=6 {
            assert!(
                rules()
                    .check_window(&request(at(1), at(1 + hours)), now)
                    .is_ok(),
                "{hours} h"
            );
        }
        let short = request(at(1), at(1) + TimeDelta::minutes(119));
        assert_eq!(
            invalid_fields(rules().check_window(&short, now)),
            ["end_at"]
        );
        let long = request(at(1), at(7) + TimeDelta::minutes(1));
        assert_eq!(invalid_fields(rules().check_window(&long, now)), ["end_at"]);
        assert_eq!(
            invalid_fields(rules().check_window(&request(at(3), at(1)), now)),
            ["end_at"]
        );
    }

    #[test]
    fn the_start_may_not_be_past_beyond_a_minute_nor_more_than_five_days_ahead() {
        let now = at(0);
        let slightly_late = now - TimeDelta::seconds(59);
        assert!(
            rules()
                .check_window(
                    &request(slightly_late, slightly_late + TimeDelta::hours(2)),
                    now
                )
                .is_ok()
        );
        let past = now - TimeDelta::seconds(61);
        assert_eq!(
            invalid_fields(rules().check_window(&request(past, past + TimeDelta::hours(2)), now)),
            ["start_at"]
        );
        let far = now + TimeDelta::days(5) + TimeDelta::seconds(1);
        assert_eq!(
            invalid_fields(rules().check_window(&request(far, far + TimeDelta::hours(2)), now)),
            ["start_at"]
        );
        assert!(
            rules()
                .check_window(&request(at(120), at(122)), now)
                .is_ok()
        );
    }

    #[test]
    fn intervals_are_half_open() {
        assert!(
            !overlaps(at(0), at(2), at(2), at(4)),
            "back to back is fine"
        );
        assert!(overlaps(at(0), at(2), at(1), at(3)));
        assert!(overlaps(at(1), at(2), at(0), at(3)), "inside");
        assert!(overlaps(at(0), at(3), at(1), at(2)), "around");
    }

    #[test]
    fn cancel_only_before_start_and_finish_only_when_active() {
        let confirmed = record(ReservationStatus::Confirmed, at(10), at(12));
        assert!(check_cancel(&confirmed, at(9)).is_ok());
        assert!(check_cancel(&confirmed, at(10)).is_err());
        assert!(check_cancel(&record(ReservationStatus::Active, at(10), at(12)), at(9)).is_err());
        assert!(check_finish(&confirmed).is_err());
        assert!(check_finish(&record(ReservationStatus::Active, at(10), at(12))).is_ok());
    }

    #[test]
    fn the_request_digest_tells_replays_from_different_requests() {
        let first = request(at(1), at(3));
        let mut same = first.clone();
        assert_eq!(request_digest(&first), request_digest(&same));
        same.end_at = at(4);
        assert_ne!(request_digest(&first), request_digest(&same));
    }
}
