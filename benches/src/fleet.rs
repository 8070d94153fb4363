//! A large fleet driven through the services' handles, in process, for the memory benchmark.
//!
//! HTTP would only add the client's memory to the process being measured; the handles are
//! what the gateway calls, so the service side is the same.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actors::ids::VehicleId;
use actors::location::LocationHandle;
use actors::vehicles::{NewVehicle, VehiclesHandle};

use crate::fixes::FixSource;
use crate::identity::plate;
use crate::parallel::map_concurrent;

/// Calls in flight at once: enough for group commit to batch the flushes of thousands of
/// durable registrations.
const WIDTH: usize = 256;

/// Where car `n` is parked: a grid of about 40 m over the north and centre of the island, so
/// the location service's spatial grid is filled as a real fleet would fill it.
pub fn home(n: usize) -> (f64, f64) {
    (
        -27.58 + (n % 400) as f64 * 0.0004,
        -48.54 + (n / 400 % 250) as f64 * 0.0004,
    )
}

/// Registers cars `0..count` and returns their ids in order.
pub async fn register(vehicles: &VehiclesHandle, count: usize) -> Vec<VehicleId> {
    let vehicles = vehicles.clone();
    map_concurrent(count, WIDTH, move |n| {
        let vehicles = vehicles.clone();
        async move {
            let new = NewVehicle {
                plate: plate(n as u64),
                model: "BYD Dolphin".into(),
                year: 2025,
                hourly_rate_cents: 3_000,
                battery_kwh: Some(44.9),
                range_km: Some(400.0),
                color: None,
            };
            vehicles
                .register(new)
                .await
                .expect("car registered")
                .vehicle
                .id
        }
    })
    .await
}

/// Reports one fix for each of `cars`, at its home; panics unless every fix is accepted as is.
pub async fn report_once(
    location: &LocationHandle,
    fixes: &Arc<FixSource>,
    cars: &Arc<[VehicleId]>,
) {
    let (location, fixes, all) = (location.clone(), fixes.clone(), cars.clone());
    let failures = map_concurrent(cars.len(), WIDTH, move |n| {
        let (location, fixes, car) = (location.clone(), fixes.clone(), all[n]);
        async move {
            let fix = fixes.input(fixes.take(1), home(n));
            match location.record_positions(car, vec![fix]).await {
                Ok(report) if report.accepted == 1 && report.flagged == 0 => 0u64,
                _ => 1,
            }
        }
    })
    .await
    .into_iter()
    .sum::<u64>();
    assert_eq!(
        failures, 0,
        "{failures} fixes were not accepted as they are"
    );
}

/// Cars that keep reporting, one fix each per second, until stopped; a car that reports is
/// never idle long enough to be passivated.
pub struct Reporters {
    stop: Arc<AtomicBool>,
    rounds: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Reporters {
    /// Starts reporting for `cars` (car `n` of the slice at `home(n)`).
    pub fn start(
        location: &LocationHandle,
        fixes: &Arc<FixSource>,
        cars: Arc<[VehicleId]>,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let rounds = Arc::new(AtomicU64::new(0));
        let (location, fixes) = (location.clone(), fixes.clone());
        let (stopping, counted) = (stop.clone(), rounds.clone());
        let task = tokio::spawn(async move {
            while !stopping.load(Ordering::Relaxed) {
                let began = Instant::now();
                report_once(&location, &fixes, &cars).await;
                counted.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_secs(1).saturating_sub(began.elapsed())).await;
            }
        });
        Reporters { stop, rounds, task }
    }

    /// Rounds of reports completed so far.
    pub fn rounds(&self) -> u64 {
        self.rounds.load(Ordering::Relaxed)
    }

    /// Stops reporting; panics if a round failed.
    pub async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("every report accepted");
    }
}
