//! The location service on a temporary store with a manual clock.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use ractor::ActorRef;
use storage::Store;

use super::testing::{self, noon};
use super::*;
use crate::clock::ManualClock;

const CENTRO: (f64, f64) = (-27.5954, -48.5480);

struct Service {
    dir: tempfile::TempDir,
    clock: ManualClock,
    parent: ActorRef<()>,
    store: Store,
    location: LocationHandle,
}

impl Service {
    async fn start() -> Service {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(noon());
        Service::start_in(dir, clock).await
    }

    async fn start_in(dir: tempfile::TempDir, clock: ManualClock) -> Service {
        let store = testing::open(dir.path(), "location").await;
        let parent = testing::parent().await;
        let location = start(
            store.clone(),
            Arc::new(clock.clone()),
            &Config::default(),
            Some(parent.get_cell()),
        )
        .await
        .unwrap();
        Service {
            dir,
            clock,
            parent,
            store,
            location,
        }
    }

    /// Stops the actors, closes the store (its final flush) and starts again on it.
    async fn restart(self) -> Service {
        let Service {
            dir,
            clock,
            parent,
            store,
            location,
        } = self;
        testing::stop(parent).await;
        store.close().unwrap();
        drop((store, location));
        Service::start_in(dir, clock).await
    }
}

fn at(seconds: i64) -> DateTime<Utc> {
    noon() + TimeDelta::seconds(seconds)
}

fn fix(lat: f64, lon: f64, seconds: i64) -> FixInput {
    FixInput {
        lat,
        lon,
        recorded_at: at(seconds),
        speed_kmh: Some(20.0),
        heading_deg: Some(45.0),
        battery_pct: Some(70.0),
        altitude_m: None,
        accuracy_m: None,
        charging: None,
    }
}

/// About `metres` north-east of Centro.
fn near_centro(metres: f64, seconds: i64) -> FixInput {
    let step = metres / 111_195.0 / std::f64::consts::SQRT_2;
    fix(CENTRO.0 + step, CENTRO.1 + step, seconds)
}

#[tokio::test]
async fn duplicates_out_of_order_and_implausible_jumps_are_counted_and_latest_is_the_newest_plausible()
 {
    let service = Service::start().await;
    let car = VehicleId::new();
    let location = &service.location;
    service.clock.set(at(600));

    let batch = vec![
        near_centro(0.0, 0),
        near_centro(400.0, 120), // out of order: stored at its time
        near_centro(100.0, 30),
        near_centro(200.0, 60),
        near_centro(999.0, 30), // same recorded_at as index 2: a duplicate
        fix(-27.6847, -48.4836, 90), // Campeche, 13 km in 30 s
    ];
    let report = location.record_positions(car, batch).await.unwrap();
    assert_eq!(
        (report.accepted, report.duplicates, report.flagged),
        (5, 1, 1),
        "{report:?}"
    );
    assert!(report.rejected.is_empty());
    let latest = location.latest(car).await.unwrap().unwrap();
    assert_eq!(latest.recorded_at, at(120));
    assert!(!latest.flagged && !latest.outside_service_area);

    // A re-sent fix is a duplicate; an older fix arriving last does not become the latest.
    let report = location
        .record_positions(
            car,
            vec![
                near_centro(0.0, 0),
                near_centro(500.0, 150),
                near_centro(300.0, 75),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        (report.accepted, report.duplicates, report.flagged),
        (2, 1, 0)
    );
    assert_eq!(
        location.latest(car).await.unwrap().unwrap().recorded_at,
        at(150)
    );

    // A late fix plausible after its predecessor but not before its successor is flagged.
    let report = location
        .record_positions(car, vec![near_centro(1_500.0, 140)])
        .await
        .unwrap();
    assert_eq!(
        (report.accepted, report.flagged),
        (1, 1),
        "360 km/h to the next fix"
    );

    // A newer but implausible fix is stored, flagged, and does not move the car.
    let report = location
        .record_positions(car, vec![fix(-27.4296, -48.4612, 180)])
        .await
        .unwrap();
    assert_eq!((report.accepted, report.flagged), (1, 1));
    assert_eq!(
        location.latest(car).await.unwrap().unwrap().recorded_at,
        at(150)
    );

    let track = location.track(car, at(0), at(600), 100).await.unwrap();
    let times: Vec<i64> = track
        .iter()
        .map(|fix| (fix.recorded_at - noon()).num_seconds())
        .collect();
    assert_eq!(times, [0, 30, 60, 75, 90, 120, 140, 150, 180]);
    let flagged: Vec<bool> = track.iter().map(|fix| fix.flagged).collect();
    assert_eq!(
        flagged,
        [false, false, false, false, true, false, true, false, true]
    );
    assert_eq!(
        track[1].lat,
        near_centro(100.0, 30).lat,
        "the first of the duplicates is kept"
    );
}

#[tokio::test]
async fn a_fix_from_the_future_is_rejected_and_the_rest_of_the_batch_kept() {
    let service = Service::start().await;
    let car = VehicleId::new();
    let report = service
        .location
        .record_positions(
            car,
            vec![
                near_centro(0.0, -60),
                near_centro(50.0, 180), // 3 minutes ahead of the clock
                FixInput {
                    battery_pct: Some(101.0),
                    lat: 95.0,
                    ..near_centro(60.0, -30)
                },
                near_centro(100.0, 0),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        (report.accepted, report.duplicates, report.flagged),
        (2, 0, 0)
    );
    assert_eq!(report.rejected.len(), 2);
    assert_eq!(report.rejected[0].index, 1);
    let fields: Vec<&str> = report.rejected[0].errors.iter().map(|e| e.field).collect();
    assert_eq!(fields, ["recorded_at"]);
    assert_eq!(report.rejected[1].index, 2);
    let fields: Vec<&str> = report.rejected[1].errors.iter().map(|e| e.field).collect();
    assert_eq!(fields, ["lat", "battery_pct"]);
    let latest = service.location.latest(car).await.unwrap().unwrap();
    assert_eq!(latest.recorded_at, at(0));
}

#[tokio::test]
async fn a_batch_over_500_is_refused_and_a_full_one_goes_through_the_window_and_the_store() {
    let service = Service::start().await;
    let car = VehicleId::new();
    let too_many: Vec<FixInput> = (0..501)
        .map(|n| near_centro(n as f64, -20_000 + n))
        .collect();
    assert!(matches!(
        service.location.record_positions(car, too_many).await,
        Err(LocationError::BatchTooLarge {
            size: 501,
            max: 500
        })
    ));
    assert_eq!(service.location.latest(car).await.unwrap(), None);

    // 500 fixes 30 s and 50 m apart (6 km/h, back and forth): far more than the window.
    let zigzag = |n: i64| {
        50.0 * if (n / 100) % 2 == 0 {
            n % 100
        } else {
            100 - n % 100
        } as f64
    };
    let full: Vec<FixInput> = (0..500)
        .map(|n| near_centro(zigzag(n), -15_000 + n * 30))
        .collect();
    let report = service.location.record_positions(car, full).await.unwrap();
    assert_eq!(
        (report.accepted, report.duplicates, report.flagged),
        (500, 0, 0)
    );
    assert_eq!(
        service
            .location
            .latest(car)
            .await
            .unwrap()
            .unwrap()
            .recorded_at,
        at(-15_000 + 499 * 30)
    );

    // Old fixes, far behind the window, are judged against the store.
    let old_duplicate = near_centro(1_000.0, -15_000 + 10 * 30);
    let old_plausible = near_centro(525.0, -15_000 + 10 * 30 + 15);
    let old_jump = fix(-27.4296, -48.4612, -15_000 + 20 * 30 + 15);
    // 500 m from the fix 29 s before (62 km/h), 450 m from the one 1 s after.
    let old_jump_to_next = near_centro(2_000.0, -15_000 + 30 * 30 + 29);
    let report = service
        .location
        .record_positions(
            car,
            vec![old_duplicate, old_plausible, old_jump, old_jump_to_next],
        )
        .await
        .unwrap();
    assert_eq!(
        (report.accepted, report.duplicates, report.flagged),
        (3, 1, 2)
    );
    assert_eq!(
        service
            .location
            .latest(car)
            .await
            .unwrap()
            .unwrap()
            .recorded_at,
        at(-15_000 + 499 * 30)
    );
}

#[tokio::test]
async fn a_bad_first_fix_does_not_pin_the_car_forever() {
    let service = Service::start().await;
    let car = VehicleId::new();
    // The very first fix is off by 5,000 km; everything after it looks implausible...
    let mut batch = vec![fix(0.0, 0.0, -3_000)];
    batch.extend((1..=30).map(|n| near_centro(n as f64 * 50.0, -3_000 + n * 30)));
    let report = service.location.record_positions(car, batch).await.unwrap();
    // ...until 20 flagged fixes in a row make the track re-anchor on the 21st.
    assert_eq!((report.accepted, report.flagged), (31, 20), "{report:?}");
    let latest = service.location.latest(car).await.unwrap().unwrap();
    assert_eq!(latest.recorded_at, at(-3_000 + 30 * 30));
    assert!((latest.lat - CENTRO.0).abs() < 0.02);
}

#[tokio::test]
async fn track_returns_a_time_range_in_order() {
    let service = Service::start().await;
    let (car, other) = (VehicleId::new(), VehicleId::new());
    let fixes: Vec<FixInput> = (0..10)
        .map(|n| near_centro(n as f64 * 100.0, -600 + n * 60))
        .collect();
    service.location.record_positions(car, fixes).await.unwrap();
    service
        .location
        .record_positions(other, vec![near_centro(0.0, -300)])
        .await
        .unwrap();

    let track = service
        .location
        .track(car, at(-480), at(-240), 100)
        .await
        .unwrap();
    let times: Vec<DateTime<Utc>> = track.iter().map(|fix| fix.recorded_at).collect();
    assert_eq!(
        times,
        [at(-480), at(-420), at(-360), at(-300)],
        "[from, to)"
    );
    let limited = service
        .location
        .track(car, at(-600), at(0), 3)
        .await
        .unwrap();
    assert_eq!(limited.len(), 3);
    assert_eq!(limited[0].recorded_at, at(-600));
    assert!(
        service
            .location
            .track(VehicleId::new(), at(-600), at(0), 3)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        service.location.track(car, at(0), at(0), 0).await,
        Err(LocationError::Invalid(errors)) if errors.len() == 2
    ));
}

async fn park(location: &LocationHandle, car: VehicleId, lat: f64, lon: f64, listed: bool) {
    location
        .record_positions(car, vec![fix(lat, lon, 0)])
        .await
        .unwrap();
    location.set_listed(car, listed).await.unwrap();
}

#[tokio::test]
async fn nearby_finds_listed_cars_by_distance_and_not_unlisted_ones() {
    let service = Service::start().await;
    let location = &service.location;
    let (close, mid, trindade, unlisted, campeche, sao_jose) = (
        VehicleId::new(),
        VehicleId::new(),
        VehicleId::new(),
        VehicleId::new(),
        VehicleId::new(),
        VehicleId::new(),
    );
    park(location, close, -27.5960, -48.5475, true).await;
    park(location, mid, -27.5900, -48.5400, true).await;
    park(location, trindade, -27.6005, -48.5196, true).await;
    park(location, unlisted, -27.5955, -48.5481, false).await;
    park(location, campeche, -27.6847, -48.4836, true).await;
    park(location, sao_jose, -27.6136, -48.6366, true).await; // outside the area

    let found = location
        .nearby(CENTRO.0, CENTRO.1, 5_000.0, 10)
        .await
        .unwrap();
    let ids: Vec<VehicleId> = found.iter().map(|car| car.vehicle_id).collect();
    assert_eq!(ids, [close, mid, trindade]);
    assert!(
        found
            .windows(2)
            .all(|pair| pair[0].distance_m <= pair[1].distance_m)
    );
    assert!(
        (found[2].distance_m - 2_850.0).abs() < 200.0,
        "{}",
        found[2].distance_m
    );
    assert_eq!(found[0].fix.lat, -27.5960);

    let two = location
        .nearby(CENTRO.0, CENTRO.1, 5_000.0, 2)
        .await
        .unwrap();
    assert_eq!(two.len(), 2);
    let wide = location
        .nearby(CENTRO.0, CENTRO.1, 50_000.0, 200)
        .await
        .unwrap();
    assert_eq!(wide.len(), 4, "Campeche too; São José is outside the area");

    // Unlisting and moving are seen at once (13 km in an hour is a plausible drive).
    location.set_listed(close, false).await.unwrap();
    service.clock.set(at(3_600));
    let report = location
        .record_positions(mid, vec![fix(-27.6840, -48.4830, 3_600)])
        .await
        .unwrap();
    assert_eq!((report.accepted, report.flagged), (1, 0));
    let ids: Vec<VehicleId> = location
        .nearby(CENTRO.0, CENTRO.1, 5_000.0, 10)
        .await
        .unwrap()
        .iter()
        .map(|car| car.vehicle_id)
        .collect();
    assert_eq!(ids, [trindade], "close is unlisted, mid left for Campeche");

    assert!(matches!(
        location.nearby(-27.6, -48.2, 1_000.0, 10).await,
        Err(LocationError::OutsideServiceArea)
    ));
    assert!(matches!(
        location.nearby(CENTRO.0, CENTRO.1, 0.5, 0).await,
        Err(LocationError::Invalid(errors)) if errors.len() == 2
    ));
    assert!(matches!(
        location.nearby(CENTRO.0, CENTRO.1, 50_001.0, 201).await,
        Err(LocationError::Invalid(errors)) if errors.len() == 2
    ));
}

#[tokio::test]
async fn a_slow_drive_moves_a_car_between_cells() {
    let service = Service::start().await;
    let car = VehicleId::new();
    service.location.set_listed(car, true).await.unwrap();
    service.clock.set(at(3_600));
    // Centro to Trindade in 30 fixes a minute apart: ~6 km/h.
    let (from, to) = (CENTRO, (-27.6005, -48.5196));
    let fixes: Vec<FixInput> = (0..=30)
        .map(|n| {
            let share = n as f64 / 30.0;
            fix(
                from.0 + (to.0 - from.0) * share,
                from.1 + (to.1 - from.1) * share,
                n * 60,
            )
        })
        .collect();
    let report = service.location.record_positions(car, fixes).await.unwrap();
    assert_eq!((report.accepted, report.flagged), (31, 0));
    assert!(
        service
            .location
            .nearby(CENTRO.0, CENTRO.1, 500.0, 5)
            .await
            .unwrap()
            .is_empty()
    );
    let at_trindade = service.location.nearby(to.0, to.1, 100.0, 5).await.unwrap();
    assert_eq!(at_trindade.len(), 1);
    assert!(at_trindade[0].distance_m < 1.0);
}

#[tokio::test]
async fn the_grid_the_listed_flags_and_latest_survive_a_restart() {
    let service = Service::start().await;
    let (listed, unlisted) = (VehicleId::new(), VehicleId::new());
    park(&service.location, listed, -27.5960, -48.5475, true).await;
    park(&service.location, unlisted, -27.5961, -48.5476, true).await;
    service.location.set_listed(unlisted, false).await.unwrap();
    let before = service.location.latest(listed).await.unwrap();
    assert!(before.is_some());

    let service = service.restart().await;
    assert_eq!(service.location.latest(listed).await.unwrap(), before);
    let found = service
        .location
        .nearby(CENTRO.0, CENTRO.1, 1_000.0, 10)
        .await
        .unwrap();
    let ids: Vec<VehicleId> = found.iter().map(|car| car.vehicle_id).collect();
    assert_eq!(ids, [listed]);

    // The restarted tracker picks up where it left off: duplicates and plausibility hold.
    let report = service
        .location
        .record_positions(
            listed,
            vec![fix(-27.5960, -48.5475, 0), fix(-27.4296, -48.4612, 30)],
        )
        .await
        .unwrap();
    assert_eq!(
        (report.accepted, report.duplicates, report.flagged),
        (1, 1, 1)
    );
    drop(service.dir);
}
