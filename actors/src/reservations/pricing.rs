//! What a rental costs: the hold at booking, the total at release or no-show.
//!
//! All amounts are integer centavos, rounded up to the centavo, so that a fraction of a
//! centavo is never lost in the operator's disfavour nor charged twice.

use chrono::{DateTime, Utc};

use super::model::ReservationRecord;
use super::rules::RentalRules;

/// `rate` per hour over `minutes`, rounded up to the centavo.
fn pro_rata(rate_cents: i64, minutes: i64) -> i64 {
    (rate_cents * minutes + 59) / 60
}

/// The hold placed at booking: the hourly rate times the reserved time.
pub(crate) fn hold_cents(
    hourly_rate_cents: i64,
    start_at: DateTime<Utc>,
    end_at: DateTime<Utc>,
) -> i64 {
    let minutes = (end_at - start_at).num_minutes().max(0);
    pro_rata(hourly_rate_cents, minutes)
}

/// The total for a car released at `released_at`: the reserved time, plus, when late, every
/// started overtime block at the hourly rate and the late fee.
pub(crate) fn completion_total(
    record: &ReservationRecord,
    released_at: DateTime<Utc>,
    rules: &RentalRules,
) -> i64 {
    if released_at <= record.end_at {
        return record.hold_cents;
    }
    let late = released_at - record.end_at;
    let block_minutes = rules.overtime_block.num_minutes().max(1);
    let late_seconds = late.num_seconds();
    let block_seconds = block_minutes * 60;
    let blocks = (late_seconds + block_seconds - 1) / block_seconds;
    record.hold_cents
        + blocks * pro_rata(record.hourly_rate_cents, block_minutes)
        + rules.late_fee_cents
}

/// The no-show fee: some hours of the rate, never more than what was held.
pub(crate) fn no_show_total(record: &ReservationRecord, rules: &RentalRules) -> i64 {
    (record.hourly_rate_cents * rules.no_show_fee_hours).min(record.hold_cents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RentalConfig;
    use crate::reservations::model::ReservationStatus;
    use chrono::TimeDelta;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::minutes(minutes)
    }

    fn record(rate: i64, hours: i64) -> ReservationRecord {
        ReservationRecord {
            hourly_rate_cents: rate,
            hold_cents: hold_cents(rate, at(0), at(hours * 60)),
            ..ReservationRecord::sample(ReservationStatus::Active, at(0), at(hours * 60))
        }
    }

    #[test]
    fn the_hold_is_rate_times_reserved_time() {
        assert_eq!(hold_cents(3_000, at(0), at(120)), 6_000);
        assert_eq!(hold_cents(3_000, at(0), at(150)), 7_500);
        assert_eq!(
            hold_cents(1_001, at(0), at(121)),
            2_019,
            "rounded up: 1001 × 121 / 60 = 2018.68"
        );
    }

    #[test]
    fn on_time_release_costs_the_hold_and_late_release_adds_blocks_and_the_fee() {
        let rules = RentalRules::from_config(&RentalConfig::default());
        let rental = record(4_000, 2);
        assert_eq!(
            completion_total(&rental, at(60), &rules),
            8_000,
            "early: the reserved time"
        );
        assert_eq!(
            completion_total(&rental, at(120), &rules),
            8_000,
            "exactly at the end"
        );
        // One second late starts the first 15-minute block: 4000 / 4 = 1000, plus the late fee.
        let one_second_late = at(120) + TimeDelta::seconds(1);
        assert_eq!(
            completion_total(&rental, one_second_late, &rules),
            8_000 + 1_000 + 5_000
        );
        assert_eq!(
            completion_total(&rental, at(135), &rules),
            8_000 + 1_000 + 5_000
        );
        assert_eq!(
            completion_total(&rental, at(136), &rules),
            8_000 + 2_000 + 5_000
        );
    }

    #[test]
    fn the_no_show_fee_is_one_hour_and_never_above_the_hold() {
        let rules = RentalRules::from_config(&RentalConfig::default());
        assert_eq!(no_show_total(&record(4_000, 3), &rules), 4_000);
        let mut odd = record(4_000, 2);
        odd.hold_cents = 1_000;
        assert_eq!(no_show_total(&odd, &rules), 1_000);
    }
}
