//! What a rental costs: the hold at booking, the total at release or no-show.
//!
//! Amounts are [`Cents`]; time is charged pro rata and rounded up to the centavo
//! ([`Cents::per_hour_over`]).

use chrono::{DateTime, Utc};

use super::model::ReservationRecord;
use super::rules::RentalRules;
use crate::domain::Cents;

/// The hold placed at booking: the hourly rate times the reserved time.
pub(crate) fn hold_cents(
    hourly_rate: Cents,
    start_at: DateTime<Utc>,
    end_at: DateTime<Utc>,
) -> Cents {
    let minutes = (end_at - start_at).num_minutes().max(0);
    hourly_rate.per_hour_over(minutes)
}

/// The total for a car released at `released_at`: the reserved time, plus, when late, every
/// started overtime block at the hourly rate and the late fee.
pub(crate) fn completion_total(
    record: &ReservationRecord,
    released_at: DateTime<Utc>,
    rules: &RentalRules,
) -> Cents {
    if released_at <= record.end_at {
        return record.hold_cents;
    }
    let late = released_at - record.end_at;
    let block_minutes = rules.overtime_block.num_minutes().max(1);
    let late_seconds = late.num_seconds();
    let block_seconds = block_minutes * 60;
    let blocks = (late_seconds + block_seconds - 1) / block_seconds;
    record.hold_cents
        + record
            .hourly_rate_cents
            .per_hour_over(block_minutes)
            .times(blocks)
        + rules.late_fee_cents
}

/// The no-show fee: some hours of the rate, never more than what was held.
pub(crate) fn no_show_total(record: &ReservationRecord, rules: &RentalRules) -> Cents {
    record
        .hourly_rate_cents
        .times(rules.no_show_fee_hours)
        .min(record.hold_cents)
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
        let rate = Cents::new(rate);
        ReservationRecord {
            hourly_rate_cents: rate,
            hold_cents: hold_cents(rate, at(0), at(hours * 60)),
            ..ReservationRecord::sample(ReservationStatus::Active, at(0), at(hours * 60))
        }
    }

    #[test]
    fn the_hold_is_rate_times_reserved_time() {
        assert_eq!(
            hold_cents(Cents::new(3_000), at(0), at(120)),
            Cents::new(6_000)
        );
        assert_eq!(
            hold_cents(Cents::new(3_000), at(0), at(150)),
            Cents::new(7_500)
        );
        assert_eq!(
            hold_cents(Cents::new(1_001), at(0), at(121)),
            Cents::new(2_019),
            "rounded up: 1001 × 121 / 60 = 2018.68"
        );
    }

    #[test]
    fn on_time_release_costs_the_hold_and_late_release_adds_blocks_and_the_fee() {
        let rules = RentalRules::from_config(&RentalConfig::default());
        let rental = record(4_000, 2);
        assert_eq!(
            completion_total(&rental, at(60), &rules),
            Cents::new(8_000),
            "early: the reserved time"
        );
        assert_eq!(
            completion_total(&rental, at(120), &rules),
            Cents::new(8_000),
            "exactly at the end"
        );
        // One second late starts the first 15-minute block: 4000 / 4 = 1000, plus the late fee.
        let one_second_late = at(120) + TimeDelta::seconds(1);
        assert_eq!(
            completion_total(&rental, one_second_late, &rules),
            Cents::new(8_000 + 1_000 + 5_000)
        );
        assert_eq!(
            completion_total(&rental, at(135), &rules),
            Cents::new(8_000 + 1_000 + 5_000)
        );
        assert_eq!(
            completion_total(&rental, at(136), &rules),
            Cents::new(8_000 + 2_000 + 5_000)
        );
    }

    #[test]
    fn the_no_show_fee_is_one_hour_and_never_above_the_hold() {
        let rules = RentalRules::from_config(&RentalConfig::default());
        assert_eq!(no_show_total(&record(4_000, 3), &rules), Cents::new(4_000));
        let mut odd = record(4_000, 2);
        odd.hold_cents = Cents::new(1_000);
        assert_eq!(no_show_total(&odd, &rules), Cents::new(1_000));
    }
}
