//! The vehicles service with a real location service (its own temporary store) and a fake
//! reservations lookup.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use ractor::ActorRef;
use storage::Store;

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::location::testing::{self, noon};
use crate::location::{FixInput, LocationError};
use crate::ports::BoxFuture;

/// How many cars a `busy` ask named, and its window.
type BusyAsk = (usize, DateTime<Utc>, DateTime<Utc>);

/// Reservations as far as vehicles can see them: which cars have open reservations, which are
/// booked, and what was asked.
#[derive(Default)]
struct FakeReservations {
    open: Mutex<HashSet<VehicleId>>,
    booked: Mutex<HashSet<VehicleId>>,
    busy_asks: Mutex<Vec<BusyAsk>>,
}

impl ReservationLookup for FakeReservations {
    fn customer_has_open(
        &self,
        _customer: crate::ids::CustomerId,
    ) -> BoxFuture<'_, Result<bool, AskError>> {
        Box::pin(async { Ok(false) })
    }

    fn vehicle_has_open(&self, vehicle: VehicleId) -> BoxFuture<'_, Result<bool, AskError>> {
        let open = self.open.lock().unwrap().contains(&vehicle);
        Box::pin(async move { Ok(open) })
    }

    fn retire_vehicle(&self, vehicle: VehicleId) -> BoxFuture<'_, Result<bool, AskError>> {
        let open = self.open.lock().unwrap().contains(&vehicle);
        Box::pin(async move { Ok(!open) })
    }

    fn busy(
        &self,
        vehicles: Vec<VehicleId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<HashSet<VehicleId>, AskError>> {
        self.busy_asks
            .lock()
            .unwrap()
            .push((vehicles.len(), from, to));
        let booked = self.booked.lock().unwrap();
        let busy = vehicles
            .into_iter()
            .filter(|id| booked.contains(id))
            .collect();
        Box::pin(async move { Ok(busy) })
    }
}

struct Service {
    dir: tempfile::TempDir,
    clock: ManualClock,
    reservations: Arc<FakeReservations>,
    parent: ActorRef<()>,
    stores: [Store; 2],
    location: LocationHandle,
    vehicles: VehiclesHandle,
}

impl Service {
    async fn start() -> Service {
        let dir = tempfile::tempdir().unwrap();
        Service::start_in(dir, ManualClock::new(noon()), Arc::default()).await
    }

    async fn start_in(
        dir: tempfile::TempDir,
        clock: ManualClock,
        reservations: Arc<FakeReservations>,
    ) -> Service {
        let config = Config::default();
        let location_store = testing::open(dir.path(), "location").await;
        let vehicles_store = testing::open(dir.path(), "vehicles").await;
        let parent = testing::parent().await;
        let shared_clock: SharedClock = Arc::new(clock.clone());
        let location = location::start(
            location_store.clone(),
            shared_clock.clone(),
            &config,
            Some(parent.get_cell()),
        )
        .await
        .unwrap();
        let lookup = LateBound::<dyn ReservationLookup>::new("reservations");
        let vehicles = start(
            vehicles_store.clone(),
            location.clone(),
            lookup.clone(),
            shared_clock,
            &config,
            Some(parent.get_cell()),
        )
        .await
        .unwrap();
        lookup.bind(&(reservations.clone() as Arc<dyn ReservationLookup>));
        Service {
            dir,
            clock,
            reservations,
            parent,
            stores: [location_store, vehicles_store],
            location,
            vehicles,
        }
    }

    async fn restart(self) -> Service {
        let Service {
            dir,
            clock,
            reservations,
            parent,
            stores,
            location,
            vehicles,
        } = self;
        testing::stop(parent).await;
        for store in &stores {
            store.close().unwrap();
        }
        drop((stores, location, vehicles));
        Service::start_in(dir, clock, reservations).await
    }

    /// Registers a car with this plate.
    async fn car(&self, plate: &str) -> Registered {
        self.vehicles.register(dolphin(plate)).await.unwrap()
    }

    /// Reports the car standing at the point now.
    async fn park(&self, id: VehicleId, lat: f64, lon: f64) {
        let fix = FixInput {
            lat,
            lon,
            recorded_at: self.clock.now(),
            speed_kmh: Some(0.0),
            heading_deg: None,
            battery_pct: Some(90.0),
            altitude_m: None,
            accuracy_m: None,
            charging: None,
        };
        let report = self.location.record_positions(id, vec![fix]).await.unwrap();
        assert_eq!(report.accepted, 1);
    }

    async fn nearby_ids(&self, limit: usize) -> Vec<VehicleId> {
        self.vehicles
            .nearby_available(CENTRO.0, CENTRO.1, 3_000.0, limit)
            .await
            .unwrap()
            .iter()
            .map(|car| car.vehicle.id)
            .collect()
    }
}

const CENTRO: (f64, f64) = (-27.5954, -48.5480);

fn dolphin(plate: &str) -> NewVehicle {
    NewVehicle {
        plate: plate.into(),
        model: "BYD Dolphin".into(),
        year: 2025,
        hourly_rate_cents: 4_500,
        battery_kwh: Some(44.9),
        range_km: Some(291.0),
        color: Some("white".into()),
    }
}

fn fields(error: VehiclesError) -> Vec<&'static str> {
    match error {
        VehiclesError::Invalid(errors) => errors.iter().map(|error| error.field).collect(),
        other => panic!("not a validation error: {other:?}"),
    }
}

#[tokio::test]
async fn registration_normalises_both_plate_layouts_and_lists_the_car() {
    let service = Service::start().await;
    let mercosul = service.car("abc1d23").await.vehicle;
    let old = service.car(" xyz-1234 ").await.vehicle;
    assert_eq!(mercosul.plate, "ABC1D23");
    assert_eq!(old.plate, "XYZ1234");
    assert_eq!(mercosul.status, VehicleStatus::Available);
    assert_eq!(mercosul.currency, "BRL");
    assert_eq!((mercosul.created_at, mercosul.updated_at), (noon(), noon()));
    assert_eq!(service.vehicles.get(mercosul.id).await.unwrap(), mercosul);
    assert_eq!(
        service.vehicles.find_by_plate("ABC-1D23").await.unwrap(),
        Some(mercosul.clone())
    );
    assert!(matches!(
        service.vehicles.get(VehicleId::new()).await,
        Err(VehiclesError::NotFound)
    ));
    // The serialised view (through TOML, the crate's serde format at hand).
    let view = toml::Table::try_from(&mercosul).unwrap();
    assert_eq!(view["status"].as_str(), Some("available"));
    assert_eq!(view["currency"].as_str(), Some("BRL"));
    assert_eq!(view["hourly_rate_cents"].as_integer(), Some(4_500));

    // Registration lists the car in location: once parked, it is found nearby.
    service.park(mercosul.id, -27.5960, -48.5475).await;
    assert_eq!(service.nearby_ids(10).await, [mercosul.id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_plate_is_registered_once_even_by_concurrent_admins() {
    let service = Service::start().await;
    service.car("ABC1D23").await;
    assert!(matches!(
        service.vehicles.register(dolphin("abc1d23")).await,
        Err(VehiclesError::Conflict { field: "plate" })
    ));

    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let vehicles = service.vehicles.clone();
            tokio::spawn(async move { vehicles.register(dolphin("qwe-4567")).await })
        })
        .collect();
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(registered) => {
                won += 1;
                assert_eq!(registered.vehicle.plate, "QWE4567");
            }
            Err(VehiclesError::Conflict { field: "plate" }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won, 1);
    let all = service
        .vehicles
        .list(VehicleFilter::default(), 200, None)
        .await
        .unwrap();
    assert_eq!(all.items.len(), 2);
}

#[tokio::test]
async fn all_invalid_input_lists_every_field() {
    let service = Service::start().await;
    let error = service
        .vehicles
        .register(NewVehicle {
            plate: "AB-12".into(),
            model: " ".into(),
            year: 2028,
            hourly_rate_cents: 0,
            battery_kwh: Some(1.0),
            range_km: Some(f64::INFINITY),
            color: Some("c".repeat(31)),
        })
        .await
        .unwrap_err();
    assert_eq!(
        fields(error),
        [
            "plate",
            "model",
            "year",
            "hourly_rate_cents",
            "battery_kwh",
            "range_km",
            "color"
        ]
    );
    assert_eq!(service.vehicles.stats().active, 0, "no actor for bad input");
}

#[tokio::test]
async fn a_device_token_verifies_for_its_own_car_only_and_only_its_hash_is_stored() {
    let service = Service::start().await;
    let first = service.car("ABC1D23").await;
    let second = service.car("DEF4G56").await;
    let (one, two) = (first.vehicle.id, second.vehicle.id);
    assert!(format!("{first:?}").contains("<redacted>"));
    assert!(!format!("{first:?}").contains(&first.device_token));

    assert!(
        service
            .vehicles
            .verify_device(one, &first.device_token)
            .await
            .unwrap()
    );
    assert!(
        service
            .vehicles
            .verify_device(two, &second.device_token)
            .await
            .unwrap()
    );
    assert!(
        !service
            .vehicles
            .verify_device(one, &second.device_token)
            .await
            .unwrap()
    );
    assert!(!service.vehicles.verify_device(one, "").await.unwrap());
    assert!(
        !service
            .vehicles
            .verify_device(one, &first.device_token[1..])
            .await
            .unwrap()
    );
    assert!(
        !service
            .vehicles
            .verify_device(VehicleId::new(), &first.device_token)
            .await
            .unwrap()
    );

    let stored = service
        .vehicles
        .context
        .vehicles
        .get(&one)
        .unwrap()
        .unwrap();
    assert_eq!(stored.device_token_sha256, token::hash(&first.device_token));
    let raw = storage::codec::encode(&stored).unwrap();
    let token_bytes = first.device_token.as_bytes();
    assert!(
        !raw.windows(token_bytes.len())
            .any(|window| window == token_bytes),
        "the token's text is not in the stored record"
    );
    assert!(!format!("{stored:?}").contains(&first.device_token));
}

#[tokio::test]
async fn updates_are_validated_and_change_the_listing_with_the_status() {
    let service = Service::start().await;
    let car = service.car("ABC1D23").await.vehicle;
    service.park(car.id, -27.5960, -48.5475).await;
    service.clock.advance(TimeDelta::minutes(5));

    let updated = service
        .vehicles
        .update(
            car.id,
            VehiclePatch {
                hourly_rate_cents: Some(5_500),
                color: Some(String::new()),
                ..VehiclePatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.hourly_rate_cents, 5_500);
    assert_eq!(updated.color, None);
    assert_eq!(updated.updated_at, noon() + TimeDelta::minutes(5));
    assert_eq!(service.vehicles.get(car.id).await.unwrap(), updated);

    let maintenance = VehiclePatch {
        status: Some(VehicleStatus::Maintenance),
        ..VehiclePatch::default()
    };
    let updated = service.vehicles.update(car.id, maintenance).await.unwrap();
    assert_eq!(updated.status, VehicleStatus::Maintenance);
    assert!(
        service.nearby_ids(10).await.is_empty(),
        "unlisted in location"
    );
    assert!(
        service
            .location
            .nearby(CENTRO.0, CENTRO.1, 3_000.0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let back = VehiclePatch {
        status: Some(VehicleStatus::Available),
        ..VehiclePatch::default()
    };
    service.vehicles.update(car.id, back).await.unwrap();
    assert_eq!(service.nearby_ids(10).await, [car.id]);

    let bad = VehiclePatch {
        hourly_rate_cents: Some(100_001),
        status: Some(VehicleStatus::Retired),
        model: Some(String::new()),
        color: Some("c".repeat(31)),
        tracker_id: Some(Some("too-short".into())),
    };
    assert_eq!(
        fields(service.vehicles.update(car.id, bad).await.unwrap_err()),
        [
            "hourly_rate_cents",
            "status",
            "model",
            "color",
            "tracker_id"
        ]
    );
    assert!(matches!(
        service
            .vehicles
            .update(VehicleId::new(), VehiclePatch::default())
            .await,
        Err(VehiclesError::NotFound)
    ));
    assert!(matches!(
        service.vehicles.retire(VehicleId::new()).await,
        Err(VehiclesError::NotFound)
    ));
}

mod charge;
mod events;
mod fleet;
mod trackers;
