//! Where and how a rental may end, as pure functions of the car's latest fix, the service area
//! and the time: the renter's finish is refused while the car is outside the area or moving,
//! and an operator's forced end must say why.

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::InvalidField;
use crate::location::{Fix, ServiceArea};

use super::error::ReservationsError;

/// A fix younger than this still tells whether the car moves now. Units post every 30 s while
/// moving, so two minutes spans a lost post or three without treating a car parked an hour
/// ago, whose last fix was taken on the move, as still driving.
pub(crate) const MOVING_FIX_MAX_AGE: TimeDelta = TimeDelta::minutes(2);

/// Above this reported speed the car counts as moving. GPS jitter of a parked car reads a few
/// km/h; walking pace is about 5.
pub(crate) const MOVING_ABOVE_KMH: f64 = 3.0;

/// The longest reason an operator may give for a forced end: it is stored with the incident
/// and shown in the audit, so it is a sentence or two, not a document.
pub(crate) const MAX_FORCE_REASON_CHARS: usize = 500;

/// Why a renter may not end the rental where the car is now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ReturnRefusal {
    /// Parked outside the service area, this many metres from its nearest edge.
    OutsideServiceArea { distance_m: u64 },
    /// Recently reported moving at this speed.
    Moving { speed_kmh: f64 },
}

impl From<ReturnRefusal> for ReservationsError {
    fn from(refusal: ReturnRefusal) -> Self {
        match refusal {
            ReturnRefusal::OutsideServiceArea { distance_m } => {
                ReservationsError::OutsideServiceArea { distance_m }
            }
            ReturnRefusal::Moving { speed_kmh } => ReservationsError::CarMoving {
                speed_kmh: Some(speed_kmh),
            },
        }
    }
}

/// Whether the renter may leave the car where its latest fix puts it at `now`.
///
/// A car without any fix (its unit never reported, or its history was purged) is let go: the
/// renter cannot make a silent unit report, and refusing would keep them paying for a car they
/// have parked. The caller records an incident instead, so an operator checks where it was
/// left. The moving check comes first: a car driving out of the area is told to stop, not to
/// drive back.
pub(crate) fn check_return(
    fix: Option<&Fix>,
    area: &ServiceArea,
    now: DateTime<Utc>,
) -> Result<(), ReturnRefusal> {
    let Some(fix) = fix else {
        return Ok(());
    };
    if let Some(speed_kmh) = fix.speed_kmh
        && now - fix.recorded_at <= MOVING_FIX_MAX_AGE
        && speed_kmh > MOVING_ABOVE_KMH
    {
        return Err(ReturnRefusal::Moving { speed_kmh });
    }
    if !area.contains(fix.lat, fix.lon) {
        let distance_m = area.distance_to_edge_m(fix.lat, fix.lon).ceil() as u64;
        return Err(ReturnRefusal::OutsideServiceArea {
            distance_m: distance_m.max(1),
        });
    }
    Ok(())
}

/// An operator's reason for a forced end, trimmed: required, and at most
/// [`MAX_FORCE_REASON_CHARS`] characters (control characters are refused: it is shown in logs
/// and on screens).
pub(crate) fn force_reason(reason: &str) -> Result<String, ReservationsError> {
    let trimmed = reason.trim();
    let problem = if trimmed.is_empty() {
        Some("say why the rental is ended by force".to_owned())
    } else if trimmed.chars().count() > MAX_FORCE_REASON_CHARS {
        Some(format!("at most {MAX_FORCE_REASON_CHARS} characters"))
    } else if trimmed.chars().any(char::is_control) {
        Some("no control characters (line breaks, tabs)".to_owned())
    } else {
        None
    };
    match problem {
        None => Ok(trimmed.to_owned()),
        Some(reason) => Err(ReservationsError::Invalid(vec![InvalidField {
            field: "reason",
            reason,
        }])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn area() -> ServiceArea {
        ServiceArea::from_config(&Config::default())
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    /// A fix at Centro (inside), taken `age_s` seconds before [`now`].
    fn fix(lat: f64, lon: f64, age_s: i64, speed_kmh: Option<f64>) -> Fix {
        Fix {
            lat,
            lon,
            recorded_at: now() - TimeDelta::seconds(age_s),
            speed_kmh,
            heading_deg: None,
            battery_pct: None,
            altitude_m: None,
            accuracy_m: None,
            charging: None,
            flagged: false,
            outside_service_area: false,
        }
    }

    const CENTRO: (f64, f64) = (-27.5954, -48.5480);
    const PALHOCA: (f64, f64) = (-27.6453, -48.6697);

    #[test]
    fn a_parked_car_inside_the_area_may_be_left() {
        let (lat, lon) = CENTRO;
        assert_eq!(
            check_return(Some(&fix(lat, lon, 5, Some(0.0))), &area(), now()),
            Ok(())
        );
        assert_eq!(
            check_return(Some(&fix(lat, lon, 5, None)), &area(), now()),
            Ok(())
        );
        assert_eq!(
            check_return(
                Some(&fix(lat, lon, 5, Some(MOVING_ABOVE_KMH))),
                &area(),
                now()
            ),
            Ok(()),
            "GPS jitter at the threshold"
        );
    }

    #[test]
    fn a_recent_fast_fix_means_moving_and_an_old_one_does_not() {
        let (lat, lon) = CENTRO;
        assert_eq!(
            check_return(Some(&fix(lat, lon, 30, Some(40.0))), &area(), now()),
            Err(ReturnRefusal::Moving { speed_kmh: 40.0 })
        );
        let old = MOVING_FIX_MAX_AGE.num_seconds() + 1;
        assert_eq!(
            check_return(Some(&fix(lat, lon, old, Some(40.0))), &area(), now()),
            Ok(())
        );
    }

    #[test]
    fn outside_the_area_the_refusal_says_how_far() {
        let (lat, lon) = PALHOCA;
        let refused = check_return(Some(&fix(lat, lon, 600, Some(0.0))), &area(), now());
        let Err(ReturnRefusal::OutsideServiceArea { distance_m }) = refused else {
            panic!("expected outside, got {refused:?}");
        };
        let expected = area().distance_to_edge_m(lat, lon).ceil() as u64;
        assert_eq!(distance_m, expected);
        assert!(distance_m > 1_000, "{distance_m}");
        // Moving outside: stop first.
        assert!(matches!(
            check_return(Some(&fix(lat, lon, 10, Some(60.0))), &area(), now()),
            Err(ReturnRefusal::Moving { .. })
        ));
    }

    #[test]
    fn a_car_that_never_reported_may_be_left() {
        assert_eq!(check_return(None, &area(), now()), Ok(()));
    }

    #[test]
    fn a_forced_end_needs_a_short_plain_reason() {
        assert_eq!(force_reason("  car towed  ").unwrap(), "car towed");
        for bad in [
            String::new(),
            "   ".to_owned(),
            "x".repeat(MAX_FORCE_REASON_CHARS + 1),
            "line\nbreak".to_owned(),
        ] {
            let Err(ReservationsError::Invalid(fields)) = force_reason(&bad) else {
                panic!("{bad:?} accepted");
            };
            assert_eq!(fields[0].field, "reason");
        }
        assert!(force_reason(&"ç".repeat(MAX_FORCE_REASON_CHARS)).is_ok());
    }
}
