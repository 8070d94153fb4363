use chrono::TimeDelta;

use super::*;
use crate::config::ConsoleConfig;
use crate::reports::model::Movement;

/// Near Praça XV and near Campeche's beach.
const CENTRO: (f64, f64) = (-27.5969, -48.5495);
const CAMPECHE: (f64, f64) = (-27.6800, -48.4800);

fn at(hours: i64) -> DateTime<Utc> {
    // Monday 2026-12-07 00:00 UTC, 21:00 of Sunday in Florianópolis.
    DateTime::parse_from_rfc3339("2026-12-07T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + TimeDelta::hours(hours)
}

fn trip(vehicle: VehicleId, place: (f64, f64), money: &[(i64, i64, i64, i64)]) -> Trip {
    Trip {
        reservation_id: Some(ReservationId::new()),
        customer_id: Some(CustomerId::new()),
        vehicle_id: Some(vehicle),
        start_place: Some(place),
        money: money
            .iter()
            .map(|&(hour, captured, extra, refunded)| Movement {
                at: at(hour),
                captured_cents: captured,
                extra_cents: extra,
                refunded_cents: refunded,
            })
            .collect(),
        ..Trip::default()
    }
}

#[test]
fn revenue_is_captured_plus_extra_less_refunds_by_local_day_car_and_area() {
    let (a, b) = (VehicleId::new(), VehicleId::new());
    let trips = [
        // 02:00 UTC is still Sunday 23:00 locally.
        trip(a, CENTRO, &[(2, 10_000, 500, 0)]),
        trip(a, CENTRO, &[(4, 8_000, 0, 0), (30, 0, 0, 1_000)]),
        trip(b, CAMPECHE, &[(5, 6_000, 0, 0)]),
    ];
    let by_day = revenue(&trips, at(0), at(48), GroupBy::Day, &Areas::default());
    let days: Vec<(&str, i64)> = by_day
        .iter()
        .map(|row| (row.key.as_str(), row.revenue_cents))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-12-06", 10_500),
            ("2026-12-07", 14_000),
            ("2026-12-08", -1_000)
        ]
    );
    let by_car = revenue(&trips, at(0), at(48), GroupBy::Vehicle, &Areas::default());
    let for_a = by_car.iter().find(|row| row.key == a.to_string()).unwrap();
    assert_eq!((for_a.revenue_cents, for_a.reservations), (17_500, 2));
    assert_eq!(for_a.refunded_cents, 1_000);
    let areas = Areas::new(ConsoleConfig::default().neighbourhoods);
    let by_area = revenue(&trips, at(0), at(24), GroupBy::Area, &areas);
    let named: Vec<(&str, i64)> = by_area
        .iter()
        .map(|row| (row.key.as_str(), row.revenue_cents))
        .collect();
    assert_eq!(named, [("Campeche", 6_000), ("Centro", 18_500)]);
    // [from, to): a movement at `to` is not in it.
    assert_eq!(
        revenue(&trips, at(0), at(2), GroupBy::Day, &Areas::default()),
        []
    );
}

#[test]
fn utilisation_is_rented_hours_over_service_hours_in_the_span() {
    let (a, b) = (VehicleId::new(), VehicleId::new());
    let cars = [
        (
            a,
            CarFacts {
                plate: Some("QHT1A23".into()),
                registered_at: Some(at(-100)),
                ..CarFacts::default()
            },
        ),
        (
            b,
            CarFacts {
                registered_at: Some(at(12)),
                retired_at: Some(at(18)),
                ..CarFacts::default()
            },
        ),
    ];
    let mut rented = trip(a, CENTRO, &[]);
    rented.started_at = Some(at(-2));
    rented.released_at = Some(at(4));
    let mut under_way = trip(a, CENTRO, &[]);
    under_way.started_at = Some(at(20));
    let rows = utilisation(&[rented, under_way], &cars, at(0), at(48), at(24));
    let row_a = rows.iter().find(|row| row.vehicle_id == a).unwrap();
    // 4 h of the first (it began before the span), 4 h of the one still under way up to now.
    assert!((row_a.hours_rented - 8.0).abs() < 1e-9);
    assert!((row_a.hours_in_service - 24.0).abs() < 1e-9);
    assert!((row_a.utilisation - 8.0 / 24.0).abs() < 1e-9);
    assert_eq!(row_a.plate.as_deref(), Some("QHT1A23"));
    let row_b = rows.iter().find(|row| row.vehicle_id == b).unwrap();
    assert!((row_b.hours_in_service - 6.0).abs() < 1e-9);
    assert_eq!(row_b.utilisation, 0.0);
}

#[test]
fn the_summary_counts_what_happened_in_the_span_and_what_is_owed_now() {
    let car = VehicleId::new();
    let mut no_show = trip(car, CENTRO, &[]);
    no_show.no_show_at = Some(at(3));
    no_show.no_show_fee_cents = 4_500;
    let mut cancelled = trip(car, CENTRO, &[]);
    cancelled.cancelled_at = Some(at(1));
    let mut late = trip(car, CENTRO, &[]);
    late.end_at = Some(at(5));
    late.released_at = Some(at(6));
    late.overtime_cents = 3_000;
    late.outstanding_cents = 1_200;
    let mut on_time = trip(car, CENTRO, &[]);
    on_time.end_at = Some(at(5));
    on_time.released_at = Some(at(5));
    let mut old_cancel = trip(car, CENTRO, &[]);
    old_cancel.cancelled_at = Some(at(-30));
    let balances = [(CustomerId::new(), 1_200), (CustomerId::new(), 0)];
    let summary = summary(
        &[no_show, cancelled, late, on_time, old_cancel],
        &balances,
        at(0),
        at(24),
    );
    assert_eq!(
        summary,
        Summary {
            no_shows: 1,
            no_show_fees_cents: 4_500,
            cancellations: 1,
            late_returns: 1,
            overtime_cents: 3_000,
            refused_at_end: 1,
            refused_at_end_cents: 1_200,
            customers_owing: 1,
            outstanding_cents: 1_200,
        }
    );
}

#[test]
fn a_statement_line_carries_status_amounts_and_distance() {
    let mut completed = trip(
        VehicleId::new(),
        CENTRO,
        &[(5, 13_500, 3_000, 0), (6, 0, 0, 500)],
    );
    completed.start_at = Some(at(1));
    completed.started_at = Some(at(1));
    completed.released_at = Some(at(5));
    completed.total_cents = 16_500;
    let customer = completed.customer_id.unwrap();
    assert!(in_statement(&completed, customer, at(0), at(2)));
    assert!(!in_statement(&completed, CustomerId::new(), at(0), at(2)));
    assert!(!in_statement(&completed, customer, at(2), at(4)));
    let line = statement_line(&completed, Some(3.5));
    assert_eq!(line.status, "completed");
    assert_eq!(line.paid_cents, 16_000);
    assert_eq!(line.refunded_cents, 500);
    assert_eq!(line.distance_km, Some(3.5));
}

#[test]
fn distance_follows_the_track() {
    // One hundredth of a degree of latitude is about 1.11 km.
    let km = distance_km(&[(-27.60, -48.55), (-27.59, -48.55), (-27.58, -48.55)]);
    assert!((km - 2.224).abs() < 0.01, "{km}");
    assert_eq!(distance_km(&[(-27.6, -48.5)]), 0.0);
}
