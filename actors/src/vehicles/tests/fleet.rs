//! Retirement, availability searches, listings and restarts.

use super::*;

#[tokio::test]
async fn retirement_waits_for_open_reservations_and_is_final() {
    let service = Service::start().await;
    let registered = service.car("ABC1D23").await;
    let car = registered.vehicle.id;
    service.park(car, -27.5960, -48.5475).await;

    service.reservations.open.lock().unwrap().insert(car);
    assert!(matches!(
        service.vehicles.retire(car).await,
        Err(VehiclesError::OpenReservations)
    ));
    assert_eq!(
        service.vehicles.get(car).await.unwrap().status,
        VehicleStatus::Available
    );
    assert_eq!(service.nearby_ids(10).await, [car]);

    service.reservations.open.lock().unwrap().clear();
    service.clock.advance(TimeDelta::hours(1));
    let retired = service.vehicles.retire(car).await.unwrap();
    assert_eq!(retired.status, VehicleStatus::Retired);
    assert_eq!(retired.updated_at, noon() + TimeDelta::hours(1));
    assert!(service.nearby_ids(10).await.is_empty());
    assert!(
        !service
            .vehicles
            .verify_device(car, &registered.device_token)
            .await
            .unwrap(),
        "a retired car's unit is locked out"
    );

    // Idempotent, even if reservations would now object.
    service.reservations.open.lock().unwrap().insert(car);
    assert_eq!(service.vehicles.retire(car).await.unwrap(), retired);
    let patch = VehiclePatch {
        hourly_rate_cents: Some(1_000),
        ..VehiclePatch::default()
    };
    assert!(matches!(
        service.vehicles.update(car, patch).await,
        Err(VehiclesError::Retired)
    ));
    assert!(matches!(
        service.vehicles.register(dolphin("ABC1D23")).await,
        Err(VehiclesError::Conflict { field: "plate" })
    ));
    let retired_list = service
        .vehicles
        .list(
            VehicleFilter {
                status: Some(VehicleStatus::Retired),
            },
            10,
            None,
        )
        .await
        .unwrap();
    assert_eq!(retired_list.items, [retired]);
}

#[tokio::test]
async fn nearby_available_skips_booked_and_maintenance_cars() {
    let service = Service::start().await;
    let mut cars = Vec::new();
    for (n, (lat, lon)) in [
        (-27.5960, -48.5475), // ~80 m
        (-27.5970, -48.5460), // booked
        (-27.5980, -48.5440), // maintenance
        (-27.5990, -48.5420), // ~700 m
        (-27.6005, -48.5196), // Trindade, ~2.8 km
        (-27.6847, -48.4836), // Campeche, outside the radius
    ]
    .into_iter()
    .enumerate()
    {
        let car = service.car(&format!("ABC{n}D23")).await.vehicle.id;
        service.park(car, lat, lon).await;
        cars.push(car);
    }
    service.reservations.booked.lock().unwrap().insert(cars[1]);
    let maintenance = VehiclePatch {
        status: Some(VehicleStatus::Maintenance),
        ..VehiclePatch::default()
    };
    service.vehicles.update(cars[2], maintenance).await.unwrap();

    let found = service
        .vehicles
        .nearby_available(CENTRO.0, CENTRO.1, 3_000.0, 10)
        .await
        .unwrap();
    let ids: Vec<VehicleId> = found.iter().map(|car| car.vehicle.id).collect();
    assert_eq!(ids, [cars[0], cars[3], cars[4]]);
    assert!(
        found
            .windows(2)
            .all(|pair| pair[0].distance_m <= pair[1].distance_m)
    );
    assert_eq!(found[0].position.lat, -27.5960);
    assert_eq!(found[0].vehicle.status, VehicleStatus::Available);
    let asks = service.reservations.busy_asks.lock().unwrap().clone();
    assert_eq!(
        asks.last().copied(),
        Some((4, noon(), noon() + TimeDelta::hours(2))),
        "booked for the next shortest rental, asked once for the listed cars in range"
    );

    assert_eq!(service.nearby_ids(1).await, [cars[0]]);
    assert_eq!(service.nearby_ids(2).await, [cars[0], cars[3]]);
    assert!(matches!(
        service
            .vehicles
            .nearby_available(-27.6, -48.2, 1_000.0, 5)
            .await,
        Err(VehiclesError::OutsideServiceArea)
    ));
    assert_eq!(
        fields(
            service
                .vehicles
                .nearby_available(CENTRO.0, CENTRO.1, 3_000.0, 0)
                .await
                .unwrap_err()
        ),
        ["limit"]
    );
    assert_eq!(
        fields(
            service
                .vehicles
                .nearby_available(CENTRO.0, CENTRO.1, 60_000.0, 5)
                .await
                .unwrap_err()
        ),
        ["radius_m"]
    );
}

#[tokio::test]
async fn listings_page_through_the_fleet_and_filter_by_status_and_availability() {
    let service = Service::start().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(service.car(&format!("LST{n}A00")).await.vehicle.id);
    }
    let maintenance = VehiclePatch {
        status: Some(VehicleStatus::Maintenance),
        ..VehiclePatch::default()
    };
    service.vehicles.update(ids[1], maintenance).await.unwrap();

    let first = service
        .vehicles
        .list(VehicleFilter::default(), 2, None)
        .await
        .unwrap();
    let second = service
        .vehicles
        .list(VehicleFilter::default(), 2, first.next_cursor)
        .await
        .unwrap();
    let third = service
        .vehicles
        .list(VehicleFilter::default(), 2, second.next_cursor)
        .await
        .unwrap();
    let paged: Vec<VehicleId> = [first, second, third.clone()]
        .iter()
        .flat_map(|page| page.items.iter().map(|car| car.id))
        .collect();
    assert_eq!(paged, ids);
    assert_eq!(third.next_cursor, None);

    let available = VehicleFilter {
        status: Some(VehicleStatus::Available),
    };
    let page = service.vehicles.list(available, 10, None).await.unwrap();
    let listed: Vec<VehicleId> = page.items.iter().map(|car| car.id).collect();
    assert_eq!(listed, [ids[0], ids[2], ids[3], ids[4]]);
    assert_eq!(page.next_cursor, None);

    // Free for [from, to): available and not booked, in pages.
    service.reservations.booked.lock().unwrap().insert(ids[3]);
    let (from, to) = (noon() + TimeDelta::hours(1), noon() + TimeDelta::hours(3));
    let first = service
        .vehicles
        .list_available(from, to, 2, None)
        .await
        .unwrap();
    let first_ids: Vec<VehicleId> = first.items.iter().map(|car| car.id).collect();
    assert_eq!(first_ids, [ids[0], ids[2]]);
    let rest = service
        .vehicles
        .list_available(from, to, 2, first.next_cursor)
        .await
        .unwrap();
    let rest_ids: Vec<VehicleId> = rest.items.iter().map(|car| car.id).collect();
    assert_eq!(rest_ids, [ids[4]]);
    assert_eq!(rest.next_cursor, None);
    let asks = service.reservations.busy_asks.lock().unwrap().clone();
    assert!(asks.iter().all(|&(_, f, t)| (f, t) == (from, to)));

    assert_eq!(
        fields(
            service
                .vehicles
                .list_available(to, from, 0, None)
                .await
                .unwrap_err()
        ),
        ["available_to", "limit"]
    );
    assert_eq!(
        fields(
            service
                .vehicles
                .list(VehicleFilter::default(), 201, None)
                .await
                .unwrap_err()
        ),
        ["limit"]
    );
}

#[tokio::test]
async fn without_reservations_bound_the_lookups_are_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let store = testing::open(dir.path(), "vehicles").await;
    let location_store = testing::open(dir.path(), "location").await;
    let clock: SharedClock = Arc::new(ManualClock::new(noon()));
    let config = Config::default();
    let location = location::start(location_store, clock.clone(), &config, None)
        .await
        .unwrap();
    let vehicles = start(
        store,
        location,
        LateBound::new("reservations"),
        clock,
        &config,
        None,
    )
    .await
    .unwrap();
    let car = vehicles
        .register(dolphin("ABC1D23"))
        .await
        .unwrap()
        .vehicle
        .id;
    assert!(matches!(
        vehicles.retire(car).await,
        Err(VehiclesError::Ask(AskError::Unavailable { .. }))
    ));
    assert_eq!(
        vehicles.get(car).await.unwrap().status,
        VehicleStatus::Available
    );
}

#[tokio::test]
async fn the_fleet_survives_reopening_its_store() {
    let service = Service::start().await;
    let kept = service.car("ABC1D23").await;
    let retired = service.car("XYZ1234").await.vehicle.id;
    service.park(kept.vehicle.id, -27.5960, -48.5475).await;
    service.park(retired, -27.5961, -48.5476).await;
    let patch = VehiclePatch {
        model: Some("BYD Dolphin Mini".into()),
        ..VehiclePatch::default()
    };
    let updated = service
        .vehicles
        .update(kept.vehicle.id, patch)
        .await
        .unwrap();
    let retired_view = service.vehicles.retire(retired).await.unwrap();

    let service = service.restart().await;
    assert_eq!(
        service.vehicles.get(kept.vehicle.id).await.unwrap(),
        updated
    );
    assert_eq!(service.vehicles.get(retired).await.unwrap(), retired_view);
    assert!(
        service
            .vehicles
            .verify_device(kept.vehicle.id, &kept.device_token)
            .await
            .unwrap()
    );
    assert!(matches!(
        service.vehicles.register(dolphin("xyz-1234")).await,
        Err(VehiclesError::Conflict { field: "plate" })
    ));
    assert_eq!(service.nearby_ids(10).await, [kept.vehicle.id]);
    let available = VehicleFilter {
        status: Some(VehicleStatus::Available),
    };
    let page = service.vehicles.list(available, 10, None).await.unwrap();
    assert_eq!(page.items, [updated]);
    assert!(matches!(
        service.location.nearby(-27.6, -48.2, 10.0, 1).await,
        Err(LocationError::OutsideServiceArea)
    ));
}
