//! Each car's newest reported state of charge, kept apart from its positions.
//!
//! The `latest` fix is the newest *plausible position*, and a fix may carry no battery fields
//! at all (OsmAnd trackers, units that report charge only now and then), so the charge cannot
//! be read off `latest`. The tracker keeps its own record here instead, from every accepted
//! fix that reports `battery_pct` (a fix flagged for its position still reports a valid
//! charge). The newest by `recorded_at` wins, so a buffered fix arriving late never
//! overwrites a newer report, and a fix without `battery_pct` leaves the record as it is: its
//! `charging` flag alone, with no charge, would describe a state nobody measured.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::model::FixInput;

/// The newest battery report of a car, as the location store keeps it (bincode, positional:
/// new fields go at the end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredBattery {
    pub(crate) battery_pct: f64,
    pub(crate) charging: Option<bool>,
    pub(crate) recorded_at: DateTime<Utc>,
}

impl StoredBattery {
    /// The public view.
    pub(crate) fn view(&self) -> BatteryReport {
        BatteryReport {
            battery_pct: self.battery_pct,
            charging: self.charging,
            recorded_at: self.recorded_at,
        }
    }
}

/// What a car's unit last said about its traction battery.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BatteryReport {
    /// State of charge, percent.
    pub battery_pct: f64,
    /// Whether it was plugged in and charging, if the unit said.
    pub charging: Option<bool>,
    /// When the unit took the fix that carried it (the unit's clock).
    pub recorded_at: DateTime<Utc>,
}

/// The report that should replace `current` after `accepted` fixes were stored, if any: the
/// newest of them that carries a charge, when it is newer than `current`.
pub(crate) fn newer_report<'a>(
    current: Option<&StoredBattery>,
    accepted: impl IntoIterator<Item = &'a FixInput>,
) -> Option<StoredBattery> {
    let newest = accepted
        .into_iter()
        .filter_map(|fix| {
            fix.battery_pct.map(|battery_pct| StoredBattery {
                battery_pct,
                charging: fix.charging,
                recorded_at: fix.recorded_at,
            })
        })
        .max_by_key(|report| report.recorded_at)?;
    match current {
        Some(current) if current.recorded_at >= newest.recorded_at => None,
        _ => Some(newest),
    }
}

/// How long the store may keep showing an unchanged reading's older time: at most 5 minutes,
/// and at most a quarter of the staleness limit, so a car that keeps reporting is never judged
/// stale because of it.
pub(crate) fn refresh_interval(stale_min: u32) -> TimeDelta {
    let quarter = TimeDelta::seconds(i64::from(stale_min) * 60 / 4);
    quarter
        .min(TimeDelta::minutes(5))
        .max(TimeDelta::seconds(1))
}

/// Whether `next` must reach the store, given what the store holds. A new charge or charging
/// flag always does. The same reading again does only once the stored one is `refresh` older:
/// a parked car repeats its charge in every fix, and writing it each time would add a third
/// store write to every fix on the busiest path for nothing but a fresher time.
pub(crate) fn worth_storing(
    stored: Option<&StoredBattery>,
    next: &StoredBattery,
    refresh: TimeDelta,
) -> bool {
    match stored {
        None => true,
        Some(stored) => {
            stored.battery_pct != next.battery_pct
                || stored.charging != next.charging
                || next.recorded_at - stored.recorded_at >= refresh
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchanged_reading_is_stored_again_only_after_the_refresh_interval() {
        let refresh = refresh_interval(60);
        assert_eq!(refresh, TimeDelta::minutes(5));
        assert_eq!(refresh_interval(8), TimeDelta::minutes(2));
        let before = stored(0, 70.0);
        assert!(worth_storing(None, &before, refresh));
        assert!(!worth_storing(Some(&before), &stored(4, 70.0), refresh));
        assert!(worth_storing(Some(&before), &stored(5, 70.0), refresh));
        assert!(worth_storing(Some(&before), &stored(1, 69.0), refresh));
        let charging = StoredBattery {
            charging: Some(true),
            ..stored(1, 70.0)
        };
        assert!(worth_storing(Some(&before), &charging, refresh));
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::minutes(minutes)
    }

    fn fix(minutes: i64, battery_pct: Option<f64>, charging: Option<bool>) -> FixInput {
        FixInput {
            lat: -27.59,
            lon: -48.55,
            recorded_at: at(minutes),
            speed_kmh: None,
            heading_deg: None,
            battery_pct,
            altitude_m: None,
            accuracy_m: None,
            charging,
        }
    }

    fn stored(minutes: i64, battery_pct: f64) -> StoredBattery {
        StoredBattery {
            battery_pct,
            charging: None,
            recorded_at: at(minutes),
        }
    }

    #[test]
    fn the_newest_fix_with_a_charge_wins_whatever_the_batch_order() {
        let batch = [
            fix(3, Some(40.0), Some(true)),
            fix(5, None, Some(false)),
            fix(1, Some(60.0), None),
        ];
        let report = newer_report(None, &batch).unwrap();
        assert_eq!(report.battery_pct, 40.0);
        assert_eq!(report.charging, Some(true));
        assert_eq!(report.recorded_at, at(3));
    }

    #[test]
    fn an_older_or_equal_report_does_not_replace_the_stored_one() {
        let current = stored(10, 30.0);
        assert_eq!(
            newer_report(Some(&current), &[fix(9, Some(90.0), None)]),
            None
        );
        assert_eq!(
            newer_report(Some(&current), &[fix(10, Some(90.0), None)]),
            None
        );
        let newer = newer_report(Some(&current), &[fix(11, Some(29.0), None)]).unwrap();
        assert_eq!(newer.battery_pct, 29.0);
    }

    #[test]
    fn fixes_without_a_charge_change_nothing() {
        let current = stored(10, 30.0);
        let batch = [fix(20, None, Some(true)), fix(21, None, None)];
        assert_eq!(newer_report(Some(&current), &batch), None);
        assert_eq!(newer_report(None, &batch), None);
    }
}
