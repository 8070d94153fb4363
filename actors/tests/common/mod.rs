//! The whole actor system on a temporary data directory with a manual clock.

#![allow(dead_code)]

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actors::clock::ManualClock;
use actors::config::Config;
use actors::customers::{CardInput, NewCustomer};
use actors::ids::{CustomerId, VehicleId};
use actors::location::FixInput;
use actors::locks::{InProcessUnits, UnitLink};
use actors::system::{RentalSystem, Services, SystemOptions};
use actors::vehicles::NewVehicle;
use chrono::{DateTime, TimeDelta, Utc};
use tempfile::TempDir;

/// 2026-11-23 10:00 UTC, a Monday morning.
pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub struct TestSystem {
    pub system: RentalSystem,
    pub clock: ManualClock,
    pub dir: Arc<TempDir>,
    units: InProcessUnits,
}

pub fn config(dir: &Path) -> Config {
    let mut config = Config::default();
    config.storage.data_dir = dir.to_owned();
    config.storage.cache_capacity_mb = 8;
    config
}

impl TestSystem {
    pub async fn start() -> TestSystem {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        TestSystem::start_in(dir, ManualClock::new(t0())).await
    }

    pub async fn start_in(dir: Arc<TempDir>, clock: ManualClock) -> TestSystem {
        let units = InProcessUnits::new();
        let options = SystemOptions {
            clock: Arc::new(clock.clone()),
            units: UnitLink::InProcess(units.clone()),
        };
        let system = RentalSystem::start(&config(dir.path()), options)
            .await
            .unwrap();
        TestSystem {
            system,
            clock,
            dir,
            units,
        }
    }

    /// Stops everything and starts again on the same data (a restart of the process).
    pub async fn restart(self) -> TestSystem {
        self.system.shutdown().await.unwrap();
        let (dir, clock) = (self.dir.clone(), self.clock.clone());
        drop(self);
        TestSystem::start_in(dir, clock).await
    }

    pub fn services(&self) -> &Services {
        self.system.services()
    }

    pub fn units(&self) -> &InProcessUnits {
        &self.units
    }

    pub fn advance(&self, by: TimeDelta) {
        self.clock.advance(by);
    }

    pub async fn customer(&self, n: u32, card: &str) -> CustomerId {
        self.services()
            .customers
            .register(new_customer(n, card))
            .await
            .unwrap()
            .id
    }

    pub async fn vehicle(&self, n: u32, rate_cents: i64) -> VehicleId {
        self.services()
            .vehicles
            .register(NewVehicle {
                plate: format!("ABC{}D{:02}", n % 10, n % 100),
                model: "BYD Dolphin".into(),
                year: 2025,
                hourly_rate_cents: rate_cents,
                battery_kwh: Some(44.9),
                range_km: Some(291.0),
                color: Some("white".into()),
            })
            .await
            .unwrap()
            .vehicle
            .id
    }

    /// Reports the car standing still at Centro now.
    pub async fn park(&self, vehicle: VehicleId) {
        self.fix(vehicle, Some(0.0)).await;
    }

    /// Reports a fix one second after the clock's current time (the clock moves with it), so
    /// that successive fixes never share a timestamp (which would make them duplicates).
    pub async fn fix(&self, vehicle: VehicleId, speed_kmh: Option<f64>) {
        self.clock.advance(TimeDelta::seconds(1));
        let fix = FixInput {
            lat: -27.5954,
            lon: -48.5480,
            recorded_at: self.clock_now(),
            speed_kmh,
            heading_deg: None,
            battery_pct: Some(80.0),
        };
        let report = self
            .services()
            .location
            .record_positions(vehicle, vec![fix])
            .await
            .unwrap();
        assert_eq!(report.accepted, 1, "{report:?}");
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        actors::clock::Clock::now(&self.clock)
    }
}

/// A customer with a valid CPF derived from `n`.
pub fn new_customer(n: u32, card: &str) -> NewCustomer {
    NewCustomer {
        name: format!("Cliente {}", letters(n)),
        cpf: cpf(100_000_000 + n),
        cnh: "79143829831".into(),
        email: format!("cliente{n}@example.com"),
        phone: "+55 48 99999-1234".into(),
        password: "s3nha-segura".into(),
        card: CardInput {
            number: card.into(),
            exp_month: 12,
            exp_year: 2030,
            cvc: "123".into(),
            holder_name: format!("CLIENTE {n}"),
        },
    }
}

/// A name-safe rendering of `n` (names may not hold digits).
pub fn letters(mut n: u32) -> String {
    let mut out = String::new();
    loop {
        out.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            return out;
        }
    }
}

/// The CPF with base `base` (9 digits) and its two check digits.
pub fn cpf(base: u32) -> String {
    let mut digits: Vec<u32> = format!("{base:09}")
        .chars()
        .map(|c| c.to_digit(10).unwrap())
        .collect();
    for length in [9, 10] {
        let sum: u32 = digits
            .iter()
            .enumerate()
            .map(|(i, d)| d * (length as u32 + 1 - i as u32))
            .sum();
        let check = (sum * 10) % 11 % 10;
        digits.push(check);
    }
    digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap())
        .collect()
}

/// Polls `condition` until it holds or five seconds pass.
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..500 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}
