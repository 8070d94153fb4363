//! Pure rules for one fix: is it well-formed, and is it physically plausible next to the fixes
//! recorded just before and after it.

use chrono::{DateTime, TimeDelta, Utc};
use geo::{Distance, Haversine, Point};

use super::model::FixInput;
use crate::domain::InvalidField;

/// How far ahead of the service clock a unit's clock may run. Units sync by GNSS time, so more
/// than this means a broken clock, and a fix from the "future" would pin the car's latest
/// position until real time caught up with it.
pub(crate) const MAX_CLOCK_AHEAD: TimeDelta = TimeDelta::minutes(2);

/// Lowest altitude a road vehicle can report (the Dead Sea shore is at -430 m), metres.
const MIN_ALTITUDE_M: f64 = -500.0;
/// Highest altitude accepted; GNSS receivers in a car never legitimately report more.
const MAX_ALTITUDE_M: f64 = 20_000.0;
/// Widest accuracy radius accepted: a cell-tower position can be kilometres off, but a radius
/// beyond this is a unit's "no fix" sentinel, not a position.
const MAX_ACCURACY_M: f64 = 100_000.0;

/// Checks every field of `fix` against the clock's `now`; all failures are reported.
pub(crate) fn validate(fix: &FixInput, now: DateTime<Utc>) -> Result<(), Vec<InvalidField>> {
    let mut errors = Vec::new();
    if !(fix.lat.is_finite() && (-90.0..=90.0).contains(&fix.lat)) {
        errors.push(InvalidField::new(
            "lat",
            "latitude must be between -90 and 90",
        ));
    }
    if !(fix.lon.is_finite() && (-180.0..=180.0).contains(&fix.lon)) {
        errors.push(InvalidField::new(
            "lon",
            "longitude must be between -180 and 180",
        ));
    }
    if fix.recorded_at > now + MAX_CLOCK_AHEAD {
        errors.push(InvalidField::new(
            "recorded_at",
            "recorded_at is more than 2 minutes in the future; check the unit's clock",
        ));
    }
    let optional = [
        (
            "speed_kmh",
            fix.speed_kmh,
            0.0..=400.0,
            "speed must be between 0 and 400 km/h",
        ),
        (
            "battery_pct",
            fix.battery_pct,
            0.0..=100.0,
            "battery must be between 0 and 100 percent",
        ),
        (
            "altitude_m",
            fix.altitude_m,
            MIN_ALTITUDE_M..=MAX_ALTITUDE_M,
            "altitude must be between -500 and 20000 metres",
        ),
        (
            "accuracy_m",
            fix.accuracy_m,
            0.0..=MAX_ACCURACY_M,
            "accuracy must be between 0 and 100000 metres",
        ),
    ];
    for (field, value, range, reason) in optional {
        if let Some(value) = value
            && !(value.is_finite() && range.contains(&value))
        {
            errors.push(InvalidField::new(field, reason));
        }
    }
    if let Some(heading) = fix.heading_deg
        && !(heading.is_finite() && (0.0..360.0).contains(&heading))
    {
        errors.push(InvalidField::new(
            "heading_deg",
            "heading must be at least 0 and below 360 degrees",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A point in time and space, the part of a fix that plausibility looks at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sample {
    pub(crate) lat: f64,
    pub(crate) lon: f64,
    pub(crate) at: DateTime<Utc>,
}

/// Great-circle distance in metres (x is longitude in `geo`).
pub(crate) fn distance_m(lat: f64, lon: f64, other_lat: f64, other_lon: f64) -> f64 {
    Haversine.distance(Point::new(lon, lat), Point::new(other_lon, other_lat))
}

/// The average speed needed to go from `a` to `b`, km/h. Two fixes at the same instant
/// (which deduplication rules out) give infinity unless they are at the same place.
pub(crate) fn implied_speed_kmh(a: Sample, b: Sample) -> f64 {
    let metres = distance_m(a.lat, a.lon, b.lat, b.lon);
    let seconds = (b.at - a.at).as_seconds_f64().abs();
    if seconds == 0.0 {
        return if metres == 0.0 { 0.0 } else { f64::INFINITY };
    }
    metres / seconds * 3.6
}

/// Whether `fix` is plausible between its previous and next plausible stored fixes. A fix
/// with no neighbour at all (a car's first) is plausible: there is nothing to compare with.
pub(crate) fn is_plausible(
    previous: Option<Sample>,
    fix: Sample,
    next: Option<Sample>,
    max_speed_kmh: f64,
) -> bool {
    [previous, next]
        .into_iter()
        .flatten()
        .all(|neighbour| implied_speed_kmh(neighbour, fix) <= max_speed_kmh)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn fix(lat: f64, lon: f64) -> FixInput {
        FixInput {
            lat,
            lon,
            recorded_at: now(),
            speed_kmh: Some(30.0),
            heading_deg: Some(90.0),
            battery_pct: Some(80.0),
            altitude_m: None,
            accuracy_m: None,
            charging: None,
        }
    }

    fn fields(result: Result<(), Vec<InvalidField>>) -> Vec<&'static str> {
        result
            .err()
            .unwrap_or_default()
            .iter()
            .map(|error| error.field)
            .collect()
    }

    #[test]
    fn a_normal_fix_is_valid_and_optional_fields_may_be_missing() {
        assert_eq!(validate(&fix(-27.5954, -48.5480), now()), Ok(()));
        let bare = FixInput {
            speed_kmh: None,
            heading_deg: None,
            battery_pct: None,
            ..fix(-27.5954, -48.5480)
        };
        assert_eq!(validate(&bare, now()), Ok(()));
        let edges = FixInput {
            speed_kmh: Some(0.0),
            heading_deg: Some(0.0),
            battery_pct: Some(100.0),
            ..fix(90.0, -180.0)
        };
        assert_eq!(validate(&edges, now()), Ok(()));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let bad = FixInput {
            lat: 91.0,
            lon: f64::NAN,
            recorded_at: now() + TimeDelta::minutes(3),
            speed_kmh: Some(401.0),
            heading_deg: Some(360.0),
            battery_pct: Some(-1.0),
            altitude_m: None,
            accuracy_m: None,
            charging: None,
        };
        assert_eq!(
            fields(validate(&bad, now())),
            [
                "lat",
                "lon",
                "recorded_at",
                "speed_kmh",
                "battery_pct",
                "heading_deg"
            ]
        );
        let infinite = FixInput {
            lat: f64::INFINITY,
            ..fix(0.0, 0.0)
        };
        assert_eq!(fields(validate(&infinite, now())), ["lat"]);
    }

    #[test]
    fn the_future_limit_is_two_minutes() {
        let mut ahead = fix(0.0, 0.0);
        ahead.recorded_at = now() + MAX_CLOCK_AHEAD;
        assert_eq!(validate(&ahead, now()), Ok(()));
        ahead.recorded_at += TimeDelta::seconds(1);
        assert_eq!(fields(validate(&ahead, now())), ["recorded_at"]);
        let old = FixInput {
            recorded_at: now() - TimeDelta::days(3),
            ..fix(0.0, 0.0)
        };
        assert_eq!(
            validate(&old, now()),
            Ok(()),
            "late buffered fixes are fine"
        );
    }

    fn sample(lat: f64, lon: f64, seconds: i64) -> Sample {
        Sample {
            lat,
            lon,
            at: now() + TimeDelta::seconds(seconds),
        }
    }

    #[test]
    fn implied_speed_matches_a_known_distance() {
        // Centro to Trindade is about 2.9 km; in 6 minutes that is about 29 km/h.
        let speed = implied_speed_kmh(
            sample(-27.5954, -48.5480, 0),
            sample(-27.6005, -48.5196, 360),
        );
        assert!((25.0..35.0).contains(&speed), "{speed}");
        let standing = implied_speed_kmh(sample(1.0, 1.0, 0), sample(1.0, 1.0, 0));
        assert_eq!(standing, 0.0);
    }

    #[test]
    fn plausibility_checks_both_neighbours() {
        let centro = sample(-27.5954, -48.5480, 0);
        let near = sample(-27.5960, -48.5470, 30);
        let campeche = sample(-27.6847, -48.4836, 60);
        assert!(is_plausible(None, centro, None, 250.0));
        assert!(is_plausible(Some(centro), near, None, 250.0));
        // 11 km in 30 s is over 1,000 km/h.
        assert!(!is_plausible(Some(near), campeche, None, 250.0));
        assert!(!is_plausible(
            None,
            near,
            Some(sample(-27.6847, -48.4836, 45)),
            250.0
        ));
        assert!(is_plausible(
            Some(centro),
            near,
            Some(sample(-27.5966, -48.5460, 60)),
            250.0
        ));
    }
}
