//! A whole system on a temporary data directory, on a manual clock, with scripted car units.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tempfile::TempDir;

use crate::clock::{Clock, ManualClock};
use crate::commands::UnitCommand;
use crate::config::Config;
use crate::events::EventData;
use crate::ids::{CustomerId, VehicleId};
use crate::location::FixInput;
use crate::locks::{InProcessUnits, UnitLink};
use crate::system::{RentalSystem, Services, SystemOptions};

use super::data::{new_customer, new_vehicle};

/// How long a test waits for something the system does in its own tasks before it fails.
use super::events::EventRecorder;

const PATIENCE: Duration = Duration::from_secs(10);

/// 2026-11-23 10:00 UTC, a Monday morning: where every test's manual clock starts.
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_428_000, 0).unwrap_or_default()
}

/// The seven services started on a temporary directory, with the time and the car units in the
/// test's hands: the clock moves only when told to, and each unit obeys, refuses, stays silent
/// or offline as scripted.
pub struct TestSystem {
    system: RentalSystem,
    clock: ManualClock,
    units: InProcessUnits,
    dir: TempDir,
    events: EventRecorder,
    /// The configuration it runs with (a restart keeps it).
    config: Config,
}

impl TestSystem {
    /// A new system on an empty directory, its clock at [`t0`].
    pub async fn start() -> TestSystem {
        TestSystem::start_with(|_| {}).await
    }

    /// [`TestSystem::start`] with the configuration changed by `adjust` (the data directory
    /// is the test's own whatever it says).
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestSystem {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = Config::default();
        adjust(&mut config);
        TestSystem::start_in(dir, ManualClock::new(t0()), config).await
    }

    async fn start_in(dir: TempDir, clock: ManualClock, mut config: Config) -> TestSystem {
        config.storage.data_dir = dir.path().to_owned();
        config.storage.cache_capacity_mb = 8;
        let units = InProcessUnits::new();
        // Subscribed at the start: a restart's recovery may write events at once.
        let events = EventRecorder::default();
        let options = SystemOptions {
            clock: Arc::new(clock.clone()),
            units: UnitLink::InProcess(units.clone()),
            subscribers: vec![Arc::new(events.clone())],
        };
        let system = RentalSystem::start(&config, options)
            .await
            .expect("the system starts");
        TestSystem {
            system,
            clock,
            units,
            dir,
            events,
            config,
        }
    }

    /// Stops everything and starts again on the same data and clock, as a restarted process
    /// would: the units are new too, obeying until scripted again.
    pub async fn restart(self) -> TestSystem {
        self.system.shutdown().await.expect("the system stops");
        let TestSystem {
            system,
            dir,
            clock,
            config,
            ..
        } = self;
        // Every store's last handle goes with the system, before the new one opens them.
        drop(system);
        TestSystem::start_in(dir, clock, config).await
    }

    /// Relays every committed event now and answers what the recorder has seen so far (since
    /// this start: a restart brings a new recorder).
    pub async fn events(&self) -> &EventRecorder {
        self.services()
            .events
            .relay_now()
            .await
            .expect("the events are relayed");
        &self.events
    }

    /// The running system.
    pub fn system(&self) -> &RentalSystem {
        &self.system
    }

    /// The services' handles.
    pub fn services(&self) -> &Services {
        self.system.services()
    }

    /// The clock, for tests that hand it to a task of their own.
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// The time as the services see it.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Moves the services' time forward.
    pub fn advance(&self, by: TimeDelta) {
        self.clock.advance(by);
    }

    /// The car units: script them with [`InProcessUnits::set_behaviour`].
    pub fn units(&self) -> &InProcessUnits {
        &self.units
    }

    /// The `count`-th command (counting from one) the unit of `vehicle` received, once it has.
    pub async fn command(&self, vehicle: VehicleId, count: usize) -> UnitCommand {
        tokio::time::timeout(PATIENCE, self.units.wait_delivered(vehicle, count))
            .await
            .unwrap_or_else(|_| panic!("the unit never received command {count}"))
    }

    /// Registers customer `n` (see [`new_customer`]), paying with `card`, and confirms the
    /// address with the code the registration sent (read from the relayed event), as the
    /// customer would from the e-mail.
    pub async fn customer(&self, n: u32, card: &str) -> CustomerId {
        let customers = &self.services().customers;
        let id = customers
            .register(new_customer(n, card))
            .await
            .expect("the customer registers")
            .id;
        if let Some(code) = self.confirmation_code(id).await {
            customers
                .confirm_email(id, &code)
                .await
                .expect("the customer confirms the address");
        }
        id
    }

    /// The latest confirmation code sent to `customer`, if any was (relays what is committed).
    pub async fn confirmation_code(&self, customer: CustomerId) -> Option<String> {
        self.events()
            .await
            .all()
            .into_iter()
            .rev()
            .filter(|event| event.subjects.customer_id == Some(customer))
            .find_map(|event| match event.data {
                EventData::ConfirmationRequested { code, .. } => Some(code),
                _ => None,
            })
    }

    /// Registers car `n` (see [`new_vehicle`]) at `rate_cents` an hour.
    pub async fn vehicle(&self, n: u32, rate_cents: i64) -> VehicleId {
        self.services()
            .vehicles
            .register(new_vehicle(n, rate_cents))
            .await
            .expect("the car registers")
            .vehicle
            .id
    }

    /// Reports the car standing still at Centro now.
    pub async fn park(&self, vehicle: VehicleId) {
        self.fix(vehicle, Some(0.0)).await;
    }

    /// Reports a fix at Centro one second after the clock's time (the clock moves with it), so
    /// that successive fixes never share a timestamp, which would make them duplicates.
    pub async fn fix(&self, vehicle: VehicleId, speed_kmh: Option<f64>) {
        self.advance(TimeDelta::seconds(1));
        let fix = FixInput {
            lat: -27.5954,
            lon: -48.5480,
            recorded_at: self.now(),
            speed_kmh,
            heading_deg: None,
            battery_pct: Some(80.0),
            altitude_m: None,
            accuracy_m: None,
            charging: None,
        };
        let report = self
            .services()
            .location
            .record_positions(vehicle, vec![fix])
            .await
            .expect("the fix is recorded");
        assert_eq!(report.accepted, 1, "{report:?}");
    }
}
