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
    harness_with(|_| {}).await
}

async fn harness_with(adjust: impl FnOnce(&mut Config)) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.storage.data_dir = dir.path().to_owned();
    adjust(&mut config);
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

fn moved(clock: &ManualClock, vehicle: VehicleId) -> DomainEvent {
    DomainEvent::new(
        "location",
        clock.now(),
        Subjects::vehicle(vehicle),
        EventData::VehicleMoved {
            lat: -27.59,
            lon: -48.55,
            speed_kmh: Some(30.0),
            battery_pct: Some(80),
            recorded_at: clock.now(),
        },
    )
}

#[tokio::test]
async fn positions_are_taken_at_once_and_shown_after_the_flush_that_carries_them() {
    // No periodic flush: the only flush is the one the change's event below asks for.
    let h = harness_with(|config| config.storage.flush_every_ms = 3_600_000).await;
    let mut live = h.reports.live();
    let car = VehicleId::new();
    let first = moved(&h.clock, car);
    h.clock.advance(TimeDelta::minutes(1));
    let positions = vec![first, moved(&h.clock, car)];
    assert_eq!(h.reports.append(positions).await.unwrap(), 2);
    // In the track at once, for the statements' distances.
    let span = (h.clock.now() - TimeDelta::hours(1), h.clock.now());
    assert_eq!(
        h.reports
            .inner
            .store
            .track(car, span.0, span.1)
            .unwrap()
            .len(),
        2
    );
    // Logged, not yet on disk: no reader sees them, nothing was broadcast.
    assert_eq!(h.reports.last_sequence(), 0);
    assert!(h.reports.read_after(0, 10).unwrap().is_empty());
    assert!(live.try_recv().is_err());

    let retired = DomainEvent::new(
        "vehicles",
        h.clock.now(),
        Subjects::vehicle(car),
        EventData::VehicleRetired,
    );
    assert_eq!(h.reports.append(vec![retired]).await.unwrap(), 1);
    // The change's commit carried the positions written before it: all three, in order.
    assert_eq!(h.reports.last_sequence(), 3);
    for expected in 1..=3 {
        assert_eq!(live.try_recv().unwrap().sequence, expected);
    }
    assert!(live.try_recv().is_err());
}

#[tokio::test]
async fn positions_alone_are_shown_after_the_periodic_flush() {
    let h = harness_with(|config| config.storage.flush_every_ms = 10).await;
    let mut live = h.reports.live();
    let car = VehicleId::new();
    assert_eq!(
        h.reports.append(vec![moved(&h.clock, car)]).await.unwrap(),
        1
    );
    let shown = tokio::time::timeout(std::time::Duration::from_secs(10), live.recv())
        .await
        .expect("shown after a periodic flush")
        .unwrap();
    assert_eq!(shown.sequence, 1);
    assert_eq!(h.reports.last_sequence(), 1);
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
