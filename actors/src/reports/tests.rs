//! The service on a real store: the log's sequence, deduplication, what readers may see,
//! the live broadcast, a rebuild and the purge.

use std::sync::Arc;

use chrono::TimeDelta;
use storage::Store;
use tempfile::TempDir;

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::domain::Cents;
use crate::events::{EventData, Subjects};
use crate::ids::{ReservationId, VehicleId};

struct Harness {
    reports: ReportsHandle,
    clock: ManualClock,
    _dir: TempDir,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.storage.data_dir = dir.path().to_owned();
    let store = Store::open(&config.storage, "reports").unwrap();
    let clock = ManualClock::new(crate::testing::t0());
    let reports = start(store, Arc::new(clock.clone()), &config, None)
        .await
        .unwrap();
    Harness {
        reports,
        clock,
        _dir: dir,
    }
}

fn rental(clock: &ManualClock, vehicle: VehicleId, customer: CustomerId) -> Vec<DomainEvent> {
    let t = clock.now();
    let subjects = Subjects::reservation(ReservationId::new(), customer, vehicle);
    let event = |minutes: i64, data| {
        DomainEvent::new(
            "reservations",
            t + TimeDelta::minutes(minutes),
            subjects.clone(),
            data,
        )
    };
    vec![
        event(
            0,
            EventData::ReservationConfirmed {
                plate: "QHT1A23".into(),
                model: "BYD Dolphin".into(),
                place: None,
                start_at: t,
                end_at: t + TimeDelta::hours(2),
                hold_cents: Cents::new(9_000),
                hourly_rate_cents: Cents::new(4_500),
            },
        ),
        event(1, EventData::RentalStarted { unlocked_at: t }),
        event(
            150,
            EventData::RentalEnded {
                ended_by: "customer".into(),
                released_at: t + TimeDelta::minutes(150),
                end_at: t + TimeDelta::hours(2),
                hold_cents: Cents::new(9_000),
                total_cents: Cents::new(12_000),
                overtime_cents: Cents::new(3_000),
                outstanding_cents: Cents::ZERO,
                settlement_pending: false,
            },
        ),
        event(
            151,
            EventData::ChargeCaptured {
                captured_cents: Cents::new(9_000),
                extra_cents: Cents::new(3_000),
                released_cents: Cents::ZERO,
            },
        ),
    ]
}

#[tokio::test]
async fn events_get_increasing_sequences_once_each_and_private_ones_are_not_logged() {
    let h = harness().await;
    let mut live = h.reports.live();
    let events = rental(&h.clock, VehicleId::new(), CustomerId::new());
    assert_eq!(h.reports.append(events.clone()).await.unwrap(), 4);
    // A redelivery of the batch, partly with a new event, logs the new one only.
    let code = DomainEvent::new(
        "customers",
        h.clock.now(),
        Subjects::customer(CustomerId::new()),
        EventData::ConfirmationRequested {
            code: "123456".into(),
            expires_at: h.clock.now(),
            address_change: false,
        },
    );
    let retired = DomainEvent::new(
        "vehicles",
        h.clock.now(),
        Subjects::vehicle(VehicleId::new()),
        EventData::VehicleRetired,
    );
    let mut again = events.clone();
    again.push(code);
    again.push(retired.clone());
    assert_eq!(h.reports.append(again).await.unwrap(), 1);
    assert_eq!(h.reports.last_sequence(), 5);
    let logged = h.reports.read_after(0, 100).unwrap();
    let sequences: Vec<u64> = logged.iter().map(|(sequence, _)| *sequence).collect();
    assert_eq!(sequences, [1, 2, 3, 4, 5]);
    assert_eq!(logged[4].1.id, retired.id);
    assert_eq!(h.reports.read_after(3, 1).unwrap()[0].0, 4);
    for expected in 1..=5 {
        assert_eq!(live.try_recv().unwrap().sequence, expected);
    }
    assert!(live.try_recv().is_err());
}

#[tokio::test]
async fn a_rebuild_gives_the_same_figures() {
    let h = harness().await;
    let car = VehicleId::new();
    let customer = CustomerId::new();
    h.reports
        .append(rental(&h.clock, car, customer))
        .await
        .unwrap();
    h.clock.advance(TimeDelta::hours(5));
    h.reports
        .append(rental(&h.clock, car, CustomerId::new()))
        .await
        .unwrap();
    h.clock.advance(TimeDelta::hours(5));
    let (from, to) = (h.clock.now() - TimeDelta::days(1), h.clock.now());
    let before = (
        h.reports.revenue(from, to, GroupBy::Vehicle).unwrap(),
        h.reports.summary(from, to).unwrap(),
        h.reports.utilisation(from, to).unwrap(),
        h.reports.statement(customer, from, to).unwrap(),
    );
    assert_eq!(before.0.len(), 1);
    assert_eq!(before.0[0].revenue_cents, 24_000);
    assert_eq!(before.1.late_returns, 2);
    assert_eq!(before.3.len(), 1);
    assert_eq!(h.reports.rebuild().await.unwrap(), 8);
    let after = (
        h.reports.revenue(from, to, GroupBy::Vehicle).unwrap(),
        h.reports.summary(from, to).unwrap(),
        h.reports.utilisation(from, to).unwrap(),
        h.reports.statement(customer, from, to).unwrap(),
    );
    assert_eq!(after, before);
}

#[tokio::test]
async fn the_purge_removes_expired_events_and_their_ids_only() {
    let h = harness().await;
    let old = rental(&h.clock, VehicleId::new(), CustomerId::new());
    h.reports.append(old.clone()).await.unwrap();
    h.clock.advance(TimeDelta::days(8));
    h.reports
        .append(rental(&h.clock, VehicleId::new(), CustomerId::new()))
        .await
        .unwrap();
    let purged = h.reports.purge_expired(TimeDelta::days(7)).await.unwrap();
    assert_eq!(purged, 4);
    let left = h.reports.read_after(0, 100).unwrap();
    assert_eq!(left.first().map(|(sequence, _)| *sequence), Some(5));
    // Sequences go on after a purge; a purged id is a new event again (a week later, no relay
    // redelivers it).
    assert_eq!(h.reports.append(old[..1].to_vec()).await.unwrap(), 1);
    assert_eq!(h.reports.last_sequence(), 9);
}

#[test]
fn a_span_must_be_ordered_rfc3339_and_at_most_366_days() {
    assert!(parse_span("2026-12-01T00:00:00-03:00", "2026-12-02T00:00:00-03:00").is_ok());
    for (from, to) in [
        ("2026-12-02T00:00:00Z", "2026-12-01T00:00:00Z"),
        ("2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z"),
        ("2025-01-01T00:00:00Z", "2026-12-01T00:00:00Z"),
        ("yesterday", "2026-12-01T00:00:00Z"),
        ("2026-12-01", "2026-12-02"),
    ] {
        let error = parse_span(from, to).unwrap_err();
        assert!(matches!(error, ReportsError::Invalid(_)), "{from} {to}");
    }
    assert!(GroupBy::parse("week").is_err());
}
