//! A whole system on a temporary directory with a manual clock, for the crate's own tests.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tempfile::TempDir;

use crate::clock::ManualClock;
use crate::config::Config;
use crate::customers::{CardInput, NewCustomer};
use crate::ids::{CustomerId, VehicleId};
pub(crate) use crate::locks::UnitBehaviour;
use crate::locks::{InProcessUnits, UnitLink};
use crate::system::{RentalSystem, SystemOptions};
use crate::vehicles::NewVehicle;

pub(crate) fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_428_000, 0).unwrap_or_default() // 2026-11-23 10:00 UTC
}

pub(crate) struct Fixture {
    pub(crate) system: RentalSystem,
    pub(crate) clock: ManualClock,
    pub(crate) dir: Arc<TempDir>,
    units: InProcessUnits,
}

impl Fixture {
    pub(crate) async fn start() -> Fixture {
        Fixture::start_in(
            Arc::new(tempfile::tempdir().unwrap()),
            ManualClock::new(t0()),
        )
        .await
    }

    pub(crate) async fn start_in(dir: Arc<TempDir>, clock: ManualClock) -> Fixture {
        let mut config = Config::default();
        config.storage.data_dir = dir.path().to_owned();
        config.storage.cache_capacity_mb = 8;
        let units = InProcessUnits::new();
        let options = SystemOptions {
            clock: Arc::new(clock.clone()),
            units: UnitLink::InProcess(units.clone()),
        };
        let system = RentalSystem::start(&config, options).await.unwrap();
        Fixture {
            system,
            clock,
            dir,
            units,
        }
    }

    pub(crate) async fn restart(self) -> Fixture {
        self.system.shutdown().await.unwrap();
        let (dir, clock) = (self.dir.clone(), self.clock.clone());
        drop(self.system);
        Fixture::start_in(dir, clock).await
    }

    pub(crate) fn units(&self) -> &InProcessUnits {
        &self.units
    }

    pub(crate) async fn customer(&self) -> CustomerId {
        self.customer_with(0, "4111111111111111").await
    }

    /// Customer number `n` (its own CPF and e-mail), paying with the sandbox card `card`.
    pub(crate) async fn customer_with(&self, n: u8, card: &str) -> CustomerId {
        let base = [5, 2, 9, 9, 8, 2, 2, 4, n % 10];
        let check = crate::domain::cpf::check_digits(&base);
        let cpf: String = base
            .iter()
            .chain(&check)
            .map(|digit| char::from(b'0' + digit))
            .collect();
        let customer = NewCustomer {
            name: "Ana Souza".into(),
            cpf,
            cnh: "79143829831".into(),
            email: format!("ana{n}@example.com"),
            phone: "+55 48 99999-1234".into(),
            password: "s3nha-segura".into(),
            card: CardInput {
                number: card.into(),
                exp_month: 12,
                exp_year: 2030,
                cvc: "123".into(),
                holder_name: "ANA SOUZA".into(),
            },
        };
        self.system
            .services()
            .customers
            .register(customer)
            .await
            .unwrap()
            .id
    }

    pub(crate) async fn vehicle(&self) -> VehicleId {
        let vehicle = NewVehicle {
            plate: "RLU1A23".into(),
            model: "Renault Kwid E-Tech".into(),
            year: 2025,
            hourly_rate_cents: 3_000,
            battery_kwh: Some(26.8),
            range_km: Some(180.0),
            color: None,
        };
        self.system
            .services()
            .vehicles
            .register(vehicle)
            .await
            .unwrap()
            .vehicle
            .id
    }
}
