//! The charge rules without a runtime: range estimates, staleness, thresholds and the booking
//! check with its figures.

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::config::Config;
use crate::ids::VehicleId;
use crate::vehicles::VehicleStatus;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn policy() -> BatteryPolicy {
    BatteryPolicy::from_config(&Config::default().fleet)
}

fn car(battery_kwh: Option<f64>, range_km: Option<f64>) -> Vehicle {
    Vehicle {
        id: VehicleId::new(),
        plate: "QJZ4B17".into(),
        model: "BYD Dolphin".into(),
        year: 2025,
        hourly_rate_cents: 3_900,
        currency: "BRL",
        battery_kwh,
        range_km,
        color: None,
        tracker_id: None,
        status: VehicleStatus::Available,
        created_at: now(),
        updated_at: now(),
    }
}

fn report(battery_pct: f64, minutes_ago: i64, charging: Option<bool>) -> BatteryReport {
    BatteryReport {
        battery_pct,
        charging,
        recorded_at: now() - TimeDelta::minutes(minutes_ago),
    }
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let policy = policy();
    assert_eq!(policy.min_battery_pct, 25.0);
    assert_eq!(policy.stale_after, TimeDelta::minutes(60));
    assert_eq!(policy.consumption_kwh_per_100km, 15.5);
    assert_eq!(policy.city_average_speed_kmh, 25.0);
}

#[test]
fn range_comes_from_the_rated_range_then_the_capacity_then_nothing() {
    let policy = policy();
    // Rated 291 km at half charge.
    assert_eq!(
        policy.estimated_range_km(Some(44.9), Some(291.0), 50.0),
        Some(145.5)
    );
    // 40 kWh at 77.5 % is 31 kWh; at 15.5 kWh/100 km that is 200 km.
    let from_capacity = policy.estimated_range_km(Some(40.0), None, 77.5).unwrap();
    assert!((from_capacity - 200.0).abs() < 1e-9, "{from_capacity}");
    assert_eq!(policy.estimated_range_km(None, None, 80.0), None);
    assert_eq!(policy.estimated_range_km(None, Some(300.0), 0.0), Some(0.0));
}

#[test]
fn a_fresh_report_is_ok_or_low_around_the_minimum() {
    let policy = policy();
    let vehicle = car(None, Some(200.0));
    let at_minimum = policy.assess(&vehicle, Some(&report(25.0, 5, None)), now());
    assert_eq!(at_minimum.state, BatteryState::Ok);
    assert_eq!(at_minimum.estimated_range_km, Some(50.0));
    assert!(at_minimum.is_offered());
    let below = policy.assess(&vehicle, Some(&report(24.9, 5, Some(false))), now());
    assert_eq!(below.state, BatteryState::Low);
    assert!(!below.is_offered());
    assert_eq!(below.battery_pct, Some(24.9));
    assert_eq!(below.charging, Some(false));
}

#[test]
fn a_stale_or_missing_report_is_unknown_offered_and_has_no_range() {
    let policy = policy();
    let vehicle = car(Some(44.9), None);
    let just_fresh = policy.assess(&vehicle, Some(&report(10.0, 60, None)), now());
    assert_eq!(just_fresh.state, BatteryState::Low);
    let stale = policy.assess(&vehicle, Some(&report(10.0, 61, None)), now());
    assert_eq!(stale.state, BatteryState::Unknown);
    assert!(stale.is_offered());
    assert_eq!(
        stale.battery_pct,
        Some(10.0),
        "the old figure stays visible"
    );
    assert_eq!(stale.estimated_range_km, None);
    let never = policy.assess(&vehicle, None, now());
    assert_eq!(never, BatteryAssessment::UNKNOWN);
    assert!(never.is_offered());
}

#[test]
fn a_low_car_is_refused_with_its_charge_and_the_minimum() {
    let policy = policy();
    let low = policy.assess(&car(None, Some(300.0)), Some(&report(20.0, 1, None)), now());
    let refusal = policy
        .check_booking(&low, now(), now() + TimeDelta::hours(2))
        .unwrap_err();
    assert_eq!(
        refusal,
        BatteryRefusal::BelowMinimum {
            battery_pct: 20.0,
            min_battery_pct: 25.0
        }
    );
    assert!(refusal.to_string().contains("20 %"), "{refusal}");
}

#[test]
fn a_booking_longer_than_the_range_is_refused_with_the_figures() {
    let policy = policy();
    // Rated 185 km at 60 %: 111 km. Four hours at 25 km/h need 100 km, six need 150.
    let kwid = policy.assess(
        &car(Some(26.8), Some(185.0)),
        Some(&report(60.0, 1, None)),
        now(),
    );
    assert_eq!(
        policy.check_booking(&kwid, now(), now() + TimeDelta::hours(4)),
        Ok(())
    );
    let refusal = policy
        .check_booking(&kwid, now(), now() + TimeDelta::hours(6))
        .unwrap_err();
    assert_eq!(
        refusal,
        BatteryRefusal::NotEnoughRange {
            needed_km: 150.0,
            available_km: 111.0
        }
    );
    let message = refusal.to_string();
    assert!(
        message.contains("150 km") && message.contains("111 km"),
        "{message}"
    );
    // Figures are rounded against the booking: needed up, available down.
    let odd = policy.assess(
        &car(None, Some(100.0)),
        Some(&report(33.33, 1, None)),
        now(),
    );
    let refusal = policy
        .check_booking(&odd, now(), now() + TimeDelta::minutes(121))
        .unwrap_err();
    assert_eq!(
        refusal,
        BatteryRefusal::NotEnoughRange {
            needed_km: 50.5,
            available_km: 33.3
        }
    );
}

#[test]
fn an_unknown_charge_or_range_does_not_refuse() {
    let policy = policy();
    let long = (now(), now() + TimeDelta::hours(6));
    assert_eq!(
        policy.check_booking(&BatteryAssessment::UNKNOWN, long.0, long.1),
        Ok(())
    );
    let no_figures = policy.assess(&car(None, None), Some(&report(30.0, 1, None)), now());
    assert_eq!(no_figures.state, BatteryState::Ok);
    assert_eq!(policy.check_booking(&no_figures, long.0, long.1), Ok(()));
    let stale_low = policy.assess(
        &car(None, Some(300.0)),
        Some(&report(5.0, 120, None)),
        now(),
    );
    assert_eq!(policy.check_booking(&stale_low, long.0, long.1), Ok(()));
}

#[test]
fn needs_charging_is_a_low_last_report_not_charging_stale_or_not() {
    let policy = policy();
    let vehicle = car(None, Some(300.0));
    let assess = |pct, minutes_ago, charging| {
        policy.assess(&vehicle, Some(&report(pct, minutes_ago, charging)), now())
    };
    assert!(policy.needs_charging(&assess(10.0, 1, None)));
    assert!(policy.needs_charging(&assess(10.0, 1, Some(false))));
    assert!(
        policy.needs_charging(&assess(10.0, 600, None)),
        "stale but low"
    );
    assert!(
        !policy.needs_charging(&assess(10.0, 1, Some(true))),
        "already charging"
    );
    assert!(!policy.needs_charging(&assess(25.0, 1, None)));
    assert!(!policy.needs_charging(&BatteryAssessment::UNKNOWN));
}

#[test]
fn a_zero_minimum_turns_the_rule_off() {
    let policy = BatteryPolicy {
        min_battery_pct: 0.0,
        ..policy()
    };
    let empty = policy.assess(&car(None, None), Some(&report(0.0, 1, None)), now());
    assert_eq!(empty.state, BatteryState::Ok);
    assert!(!policy.needs_charging(&empty));
}
