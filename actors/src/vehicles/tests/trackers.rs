//! Tracker ids: unique across the fleet, resolved to their car, freed by retirement.

use super::*;

fn tracker(id: &str) -> VehiclePatch {
    VehiclePatch {
        tracker_id: Some(Some(id.to_owned())),
        ..VehiclePatch::default()
    }
}

const PHONE: &str = "traccar-phone-0123456789abcdef";

#[tokio::test]
async fn a_tracker_id_resolves_to_its_car_and_is_unique() {
    let service = Service::start().await;
    let first = service.car("ABC1D23").await.vehicle.id;
    let second = service.car("XYZ1234").await.vehicle.id;
    assert_eq!(service.vehicles.resolve_tracker(PHONE).await.unwrap(), None);

    let changed = service
        .vehicles
        .update(first, tracker(PHONE))
        .await
        .unwrap();
    assert_eq!(changed.tracker_id.as_deref(), Some(PHONE));
    assert_eq!(
        service.vehicles.resolve_tracker(PHONE).await.unwrap(),
        Some(first)
    );
    assert_eq!(
        service
            .vehicles
            .resolve_tracker(&PHONE.to_uppercase())
            .await
            .unwrap(),
        None,
        "compared exactly"
    );

    assert!(matches!(
        service.vehicles.update(second, tracker(PHONE)).await,
        Err(VehiclesError::Conflict {
            field: "tracker_id"
        })
    ));
    assert_eq!(service.vehicles.get(second).await.unwrap().tracker_id, None);
    let short = service.vehicles.update(second, tracker("short")).await;
    assert_eq!(fields(short.unwrap_err()), ["tracker_id"]);

    // Moving the tracker: cleared on the first car, then free for the second.
    let cleared = VehiclePatch {
        tracker_id: Some(None),
        ..VehiclePatch::default()
    };
    service.vehicles.update(first, cleared).await.unwrap();
    assert_eq!(service.vehicles.resolve_tracker(PHONE).await.unwrap(), None);
    service
        .vehicles
        .update(second, tracker(PHONE))
        .await
        .unwrap();
    assert_eq!(
        service.vehicles.resolve_tracker(PHONE).await.unwrap(),
        Some(second)
    );
}

#[tokio::test]
async fn retiring_frees_the_tracker_id_and_ids_survive_a_restart() {
    let service = Service::start().await;
    let kept = service.car("ABC1D23").await.vehicle.id;
    let retired = service.car("XYZ1234").await.vehicle.id;
    let other = "another-tracker.id_0123456789";
    service.vehicles.update(kept, tracker(other)).await.unwrap();
    service
        .vehicles
        .update(retired, tracker(PHONE))
        .await
        .unwrap();

    let view = service.vehicles.retire(retired).await.unwrap();
    assert_eq!(view.tracker_id, None);
    assert_eq!(service.vehicles.resolve_tracker(PHONE).await.unwrap(), None);

    let service = service.restart().await;
    assert_eq!(
        service.vehicles.resolve_tracker(other).await.unwrap(),
        Some(kept)
    );
    assert_eq!(
        service
            .vehicles
            .get(kept)
            .await
            .unwrap()
            .tracker_id
            .as_deref(),
        Some(other)
    );
    // The retired car's id went back to the pool.
    service.vehicles.update(kept, tracker(PHONE)).await.unwrap();
    assert_eq!(
        service.vehicles.resolve_tracker(PHONE).await.unwrap(),
        Some(kept)
    );
    assert_eq!(service.vehicles.resolve_tracker(other).await.unwrap(), None);
}
