//! Cars are offered, listed and flagged for charging by their unit's newest battery report.

use super::*;

impl Service {
    /// Reports the car standing at Centro now with `battery_pct` of charge.
    async fn report_battery(&self, id: VehicleId, battery_pct: f64, charging: Option<bool>) {
        let fix = FixInput {
            lat: -27.5960,
            lon: -48.5475,
            recorded_at: self.clock.now(),
            speed_kmh: Some(0.0),
            heading_deg: None,
            battery_pct: Some(battery_pct),
            altitude_m: None,
            accuracy_m: None,
            charging,
        };
        let report = self.location.record_positions(id, vec![fix]).await.unwrap();
        assert_eq!(report.accepted, 1);
    }
}

#[tokio::test]
async fn a_low_car_is_neither_offered_nor_listed_free_and_operators_see_it_until_it_charges() {
    let service = Service::start().await;
    let low = service.car("ABC1D23").await.vehicle.id;
    let charged = service.car("ABC2D23").await.vehicle.id;
    let silent = service.car("ABC3D23").await.vehicle.id;
    service.report_battery(low, 12.0, Some(false)).await;
    service.report_battery(charged, 80.0, None).await;

    let nearby = service
        .vehicles
        .nearby_available(CENTRO.0, CENTRO.1, 3_000.0, 10)
        .await
        .unwrap();
    let found: Vec<VehicleId> = nearby.iter().map(|car| car.vehicle.id).collect();
    assert_eq!(found, [charged]);
    assert_eq!(nearby[0].battery.state, BatteryState::Ok);
    assert_eq!(nearby[0].battery.battery_pct, Some(80.0));
    let (from, to) = (noon() + TimeDelta::hours(1), noon() + TimeDelta::hours(3));
    let free = service
        .vehicles
        .list_available(from, to, 10, None)
        .await
        .unwrap();
    let free: Vec<VehicleId> = free.items.iter().map(|car| car.id).collect();
    assert_eq!(
        free,
        [charged, silent],
        "a car that never reported is offered"
    );

    let to_charge = service
        .vehicles
        .needing_charge(VehicleFilter::default(), 10, None)
        .await
        .unwrap();
    let to_charge: Vec<VehicleId> = to_charge.items.iter().map(|car| car.id).collect();
    assert_eq!(to_charge, [low]);

    // Plugged in: still not offered (12 % is 12 %), but no longer on the operators' list.
    service.clock.advance(TimeDelta::minutes(1));
    service.report_battery(low, 14.0, Some(true)).await;
    let to_charge = service
        .vehicles
        .needing_charge(VehicleFilter::default(), 10, None)
        .await
        .unwrap();
    assert!(to_charge.items.is_empty());
    let vehicle = service.vehicles.get(low).await.unwrap();
    let battery = service.vehicles.battery_of(&vehicle).await.unwrap();
    assert_eq!(
        (battery.state, battery.charging),
        (BatteryState::Low, Some(true))
    );

    // Charged: offered again.
    service.clock.advance(TimeDelta::minutes(90));
    service.report_battery(low, 95.0, Some(false)).await;
    let free = service
        .vehicles
        .list_available(from, to, 10, None)
        .await
        .unwrap();
    assert!(free.items.iter().any(|car| car.id == low));

    // An hour and more later with no report, the charged car's state is unknown.
    service.clock.advance(TimeDelta::minutes(61));
    let vehicle = service.vehicles.get(charged).await.unwrap();
    let battery = service.vehicles.battery_of(&vehicle).await.unwrap();
    assert_eq!(battery.state, BatteryState::Unknown);
    assert_eq!(battery.estimated_range_km, None);
}
