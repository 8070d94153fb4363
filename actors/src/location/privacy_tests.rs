//! What location forgets: an erased customer's trip (`forget_window`) and fixes past their
//! retention (the purge), on a temporary store with a manual clock.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::retention::PositionPurge;
use super::testing::{self, noon};
use super::*;
use crate::clock::{Clock, ManualClock};
use crate::retention::Purge;

/// Centro, Florianópolis, and a step of about 30 m per fix.
fn fix(n: i64, at: DateTime<Utc>) -> FixInput {
    FixInput {
        lat: -27.5954 + 0.0002 * n as f64,
        lon: -48.5480,
        recorded_at: at,
        speed_kmh: Some(20.0),
        heading_deg: None,
        battery_pct: None,
        altitude_m: None,
        accuracy_m: None,
        charging: None,
    }
}

/// `count` fixes 30 s apart from `from`.
fn trip(from: DateTime<Utc>, count: i64) -> Vec<FixInput> {
    (0..count)
        .map(|n| fix(n, from + TimeDelta::seconds(30 * n)))
        .collect()
}

async fn start(
    dir: &std::path::Path,
    clock: &ManualClock,
) -> (ractor::ActorRef<()>, LocationHandle) {
    let store = testing::open(dir, "location").await;
    let parent = testing::parent().await;
    let location = super::start(
        store,
        Arc::new(clock.clone()),
        &Config::default(),
        Some(parent.get_cell()),
    )
    .await
    .unwrap();
    (parent, location)
}

async fn all_fixes(location: &LocationHandle, car: VehicleId) -> Vec<DateTime<Utc>> {
    location
        .track(
            car,
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            MAX_TRACK,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|fix| fix.recorded_at)
        .collect()
}

#[tokio::test]
async fn forgetting_a_window_deletes_that_trip_only_durably_and_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(noon());
    let (parent, location) = start(dir.path(), &clock).await;
    let car = VehicleId::new();
    let other = VehicleId::new();
    clock.advance(TimeDelta::hours(1));
    location
        .record_positions(car, trip(noon(), 20))
        .await
        .unwrap();
    location
        .record_positions(other, trip(noon(), 20))
        .await
        .unwrap();
    let latest = location.latest(car).await.unwrap().unwrap();

    // The erased customer's trip: fixes 5..=10 (both ends recorded exactly on a fix).
    let (from, to) = (
        noon() + TimeDelta::seconds(150),
        noon() + TimeDelta::seconds(300),
    );
    assert_eq!(location.forget_window(car, from, to).await.unwrap(), 6);
    let left = all_fixes(&location, car).await;
    assert_eq!(left.len(), 14);
    assert!(left.iter().all(|at| *at < from || *at > to), "{left:?}");
    assert_eq!(
        all_fixes(&location, other).await.len(),
        20,
        "other cars untouched"
    );
    assert_eq!(
        location.latest(car).await.unwrap(),
        Some(latest),
        "the car's current position stays"
    );
    assert_eq!(
        location.forget_window(car, from, to).await.unwrap(),
        0,
        "idempotent"
    );
    assert_eq!(
        location
            .forget_window(VehicleId::new(), from, to)
            .await
            .unwrap(),
        0,
        "a car that never sent a fix"
    );
    assert!(matches!(
        location.forget_window(car, to, from).await,
        Err(LocationError::Invalid(_))
    ));

    // Durable: after a restart the trip is still gone, and a re-sent fix of it is stored
    // again only because the unit sent it (the tracker forgot it too).
    testing::stop(parent).await;
    location.context.store.close().unwrap();
    drop(location);
    let (_parent, location) = start(dir.path(), &clock).await;
    assert_eq!(all_fixes(&location, car).await.len(), 14);
    let resent = location
        .record_positions(car, vec![fix(5, from)])
        .await
        .unwrap();
    assert_eq!((resent.accepted, resent.duplicates), (1, 0));
}

#[tokio::test]
async fn fixes_past_their_retention_are_purged_in_batches_and_the_latest_stays() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(noon());
    let (_parent, location) = start(dir.path(), &clock).await;
    let cars: Vec<VehicleId> = (0..3).map(|_| VehicleId::new()).collect();
    for car in &cars {
        location
            .record_positions(*car, trip(noon(), 5))
            .await
            .unwrap();
    }
    // 89 days on, the first car drives again; the others stay parked.
    clock.advance(TimeDelta::days(89));
    let recent = clock.now();
    location
        .record_positions(cars[0], trip(recent, 3))
        .await
        .unwrap();
    let purge = PositionPurge::new(
        location.context.store.clone(),
        location.context.history.clone(),
        90,
    );
    // Exactly 90 days after the old fixes: nothing is strictly older yet.
    clock.advance(TimeDelta::days(1));
    assert_eq!(purge.purge_batch(clock.now(), 4).await.unwrap(), 0);

    clock.advance(TimeDelta::minutes(10));
    let now = clock.now();
    // Batches of 4 over 15 expired fixes: 4, 4, 4, 3 (the cursor carries the walk).
    let mut batches = Vec::new();
    loop {
        let removed = purge.purge_batch(now, 4).await.unwrap();
        batches.push(removed);
        if removed < 4 {
            break;
        }
    }
    assert_eq!(batches, [4, 4, 4, 3]);
    assert_eq!(
        all_fixes(&location, cars[0]).await.len(),
        3,
        "recent fixes stay"
    );
    for car in &cars[1..] {
        assert!(all_fixes(&location, *car).await.is_empty());
        assert!(
            location.latest(*car).await.unwrap().is_some(),
            "a parked car keeps its position"
        );
    }
    assert_eq!(crate::retention::purge_all(&purge, now).await.unwrap(), 0);
}
