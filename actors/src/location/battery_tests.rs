//! The battery report the tracker keeps from a car's fixes, through the service's handle.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::testing::{self, noon};
use super::*;
use crate::clock::ManualClock;

fn at(minutes: i64) -> DateTime<Utc> {
    noon() + TimeDelta::minutes(minutes)
}

fn fix(minutes: i64, battery_pct: Option<f64>, charging: Option<bool>) -> FixInput {
    // A few metres a minute north: every fix is plausible after the one before.
    FixInput {
        lat: -27.5954 + 0.0001 * minutes as f64,
        lon: -48.5480,
        recorded_at: at(minutes),
        speed_kmh: Some(1.0),
        heading_deg: None,
        battery_pct,
        altitude_m: None,
        accuracy_m: None,
        charging,
    }
}

#[tokio::test]
async fn the_newest_report_is_kept_and_neither_late_fixes_nor_fixes_without_a_charge_replace_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = testing::open(dir.path(), "location").await;
    let parent = testing::parent().await;
    let clock = ManualClock::new(at(60));
    let location = start(
        store.clone(),
        Arc::new(clock),
        &Config::default(),
        Some(parent.get_cell()),
    )
    .await
    .unwrap();
    let car = VehicleId::new();
    assert_eq!(location.battery(car).await.unwrap(), None);

    location
        .record_positions(
            car,
            vec![fix(10, Some(80.0), Some(false)), fix(20, Some(22.5), None)],
        )
        .await
        .unwrap();
    let report = location.battery(car).await.unwrap().unwrap();
    assert_eq!((report.battery_pct, report.charging), (22.5, None));
    assert_eq!(report.recorded_at, at(20));

    // A buffered fix from before arrives late: it is stored, but the charge stays the newer one.
    let late = location
        .record_positions(car, vec![fix(15, Some(95.0), Some(true))])
        .await
        .unwrap();
    assert_eq!(late.accepted, 1);
    assert_eq!(
        location.battery(car).await.unwrap().unwrap().battery_pct,
        22.5
    );

    // Newer fixes without a charge move the car but leave its battery report as it was.
    location
        .record_positions(car, vec![fix(30, None, Some(true)), fix(31, None, None)])
        .await
        .unwrap();
    assert_eq!(
        location.latest(car).await.unwrap().unwrap().recorded_at,
        at(31)
    );
    assert_eq!(
        location.battery(car).await.unwrap().unwrap().recorded_at,
        at(20)
    );

    // Charging: a newer report replaces it, flag included.
    location
        .record_positions(car, vec![fix(40, Some(35.0), Some(true))])
        .await
        .unwrap();
    let report = location.battery(car).await.unwrap().unwrap();
    assert_eq!((report.battery_pct, report.charging), (35.0, Some(true)));

    // The report survives a restart of the service (it is in the store, not only in memory).
    testing::stop(parent).await;
    store.close().unwrap();
    drop((store, location));
    let store = testing::open(dir.path(), "location").await;
    let parent = testing::parent().await;
    let location = start(
        store,
        Arc::new(ManualClock::new(at(60))),
        &Config::default(),
        Some(parent.get_cell()),
    )
    .await
    .unwrap();
    assert_eq!(
        location.battery(car).await.unwrap().unwrap().battery_pct,
        35.0
    );
    // And the restarted tracker still refuses an older report.
    location
        .record_positions(car, vec![fix(35, Some(90.0), None)])
        .await
        .unwrap();
    assert_eq!(
        location.battery(car).await.unwrap().unwrap().battery_pct,
        35.0
    );
    testing::stop(parent).await;
}
