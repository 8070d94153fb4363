//! Memory of a large fleet: the resident set size of the process with 100,000 registered cars,
//! of which 10,000 keep reporting, once the idle ones' actors have been passivated.
//!
//! It measures memory, not time, so it is a plain program rather than a criterion benchmark.
//! The baseline is the same process with the system started and empty, read in the same run.
//! The idle timeout is cut to 2 s so that passivation happens within the run; everything else
//! (store caches, actor sizes) is as in production.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actors::clock::SystemClock;
use actors::config::Config;
use actors::ids::VehicleId;
use actors::locks::UnitLink;
use actors::system::{RentalSystem, Services, SystemOptions};
use benches::fixes::FixSource;
use benches::fleet::{self, Reporters};
use benches::process::rss_mib;
use benches::runtime;

const CARS: usize = 100_000;
const ACTIVE: usize = 10_000;
const IDLE_TIMEOUT_S: u64 = 2;
/// Longest wait for the idle cars' actors to passivate.
const SETTLE_LIMIT: Duration = Duration::from_secs(120);

fn print_stats(services: &Services) {
    println!("  active entity actors:");
    let mut kinds = vec![
        ("customers", "customer", services.customers.stats()),
        ("vehicles", "vehicle", services.vehicles.stats()),
        ("location", "tracker", services.location.stats()),
    ];
    kinds.extend(
        services
            .reservations
            .stats()
            .into_iter()
            .map(|(kind, stats)| ("reservations", kind, stats)),
    );
    kinds.push(("locks", "lock", services.locks.stats()));
    kinds.push(("billing", "charge", services.billing.stats()));
    for (service, kind, stats) in kinds {
        println!("    {service:<12} {kind:<14} {}", stats.active);
    }
}

/// Waits until the actors of the cars that stopped reporting are passivated: location keeps
/// about one tracker per reporting car and vehicles none (nothing changes a car).
async fn settle(services: &Services, reporters: &Reporters) -> Duration {
    let began = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let trackers = services.location.stats().active as usize;
        let cars = services.vehicles.stats().active as usize;
        if trackers <= ACTIVE + ACTIVE / 50 && cars == 0 && reporters.rounds() > IDLE_TIMEOUT_S {
            return began.elapsed();
        }
        assert!(
            began.elapsed() < SETTLE_LIMIT,
            "not settled after {SETTLE_LIMIT:?}: {trackers} trackers, {cars} vehicles active"
        );
    }
}

fn main() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.storage.data_dir = dir.path().to_owned();
    config.fleet.idle_timeout_s = IDLE_TIMEOUT_S;
    let process = rss_mib();

    rt.block_on(async {
        // No unit connects: the benchmark sends no command.
        let options = SystemOptions {
            clock: Arc::new(SystemClock),
            units: UnitLink::remote(),
            subscribers: Vec::new(),
        };
        let system = RentalSystem::start(&config, options)
            .await
            .expect("system starts");
        let services = system.services().clone();
        let empty = rss_mib();
        println!("RSS of the process before the system starts: {process:.0} MiB");
        println!("RSS with the system started and empty (baseline): {empty:.0} MiB");

        let began = Instant::now();
        let cars: Arc<[VehicleId]> = fleet::register(&services.vehicles, CARS).await.into();
        let registering = began.elapsed();
        let fixes = Arc::new(FixSource::new());
        let began = Instant::now();
        fleet::report_once(&services.location, &fixes, &cars).await;
        let reporting = began.elapsed();
        let registered = rss_mib();
        println!(
            "{CARS} cars registered in {registering:.1?} ({:.0}/s), a first fix each in \
             {reporting:.1?} ({:.0}/s)",
            CARS as f64 / registering.as_secs_f64(),
            CARS as f64 / reporting.as_secs_f64()
        );
        println!("RSS after registration and first fixes: {registered:.0} MiB");
        print_stats(&services);

        let active: Arc<[VehicleId]> = cars[..ACTIVE].into();
        let reporters = Reporters::start(&services.location, &fixes, active);
        let waited = settle(&services, &reporters).await;
        let settled = rss_mib();
        println!("idle cars passivated {waited:.1?} later, {ACTIVE} cars reporting every second");
        println!("RSS after passivation: {settled:.0} MiB");
        print_stats(&services);
        println!(
            "RSS above the empty system: {:.0} MiB for {CARS} cars, {:.1} KiB a car",
            settled - empty,
            (settled - empty) * 1024.0 / CARS as f64
        );

        reporters.stop().await;
        system.shutdown().await.expect("clean shutdown");
        let verdict = if settled <= 1024.0 { "met" } else { "missed" };
        println!("target RSS <= 1024 MiB: {verdict}");
    });
}
