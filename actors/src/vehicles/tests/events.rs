//! The events a car writes, on a whole system: registered once, retired once.

use crate::events::{EventData, Subjects};
use crate::ids::VehicleId;
use crate::testing::{TestSystem, new_vehicle};
use crate::vehicles::VehiclesError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_car_is_registered_then_retired_once_each() {
    let system = TestSystem::start().await;
    let vehicles = &system.services().vehicles;
    let registered = vehicles.register(new_vehicle(7, 4_500)).await.unwrap();
    let car = registered.vehicle.id;
    let taken = vehicles.register(new_vehicle(7, 4_500)).await;
    assert!(
        matches!(taken, Err(VehiclesError::Conflict { .. })),
        "{taken:?}"
    );

    let recorder = system.events().await;
    assert_eq!(recorder.types(), ["vehicle.registered"]);
    let event = &recorder.all()[0];
    assert_eq!(
        (event.source.as_str(), &event.subjects),
        ("vehicles", &Subjects::vehicle(car))
    );
    assert_eq!(
        event.data,
        EventData::VehicleRegistered {
            plate: registered.vehicle.plate.clone(),
            model: "BYD Dolphin".into(),
        }
    );
    assert_eq!(event.occurred_at, system.now());

    vehicles.retire(car).await.unwrap();
    vehicles.retire(car).await.unwrap();
    let recorder = system.events().await;
    assert_eq!(recorder.types(), ["vehicle.registered", "vehicle.retired"]);
    assert!(
        recorder
            .all()
            .iter()
            .all(|event| event.subjects.vehicle_id == Some(car))
    );
    assert!(matches!(
        vehicles.retire(VehicleId::new()).await,
        Err(VehiclesError::NotFound)
    ));
}
