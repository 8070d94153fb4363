//! Commands across restarts and reconnections.

use chrono::TimeDelta;

use super::{CommandStatus, UnitBehaviour};
use crate::reservations::NewReservation;
use crate::testing::{Fixture, t0};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_command_is_offered_to_a_reconnecting_unit_and_expires_after_a_restart() {
    let fixture = Fixture::start().await;
    let customer = fixture.customer().await;
    let vehicle = fixture.vehicle().await;
    let services = fixture.system.services().clone();
    let request = NewReservation {
        vehicle_id: vehicle,
        start_at: t0(),
        end_at: t0() + TimeDelta::hours(2),
    };
    services
        .reservations
        .create(customer, request, None)
        .await
        .unwrap();
    fixture
        .units()
        .set_behaviour(vehicle, UnitBehaviour::Offline);

    let reservations = services.reservations.clone();
    let waiting = tokio::spawn(async move { reservations.unlock(vehicle, customer).await });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let pending = services.locks.pending_commands(vehicle).await.unwrap();
    assert_eq!(
        pending.len(),
        1,
        "a reconnecting unit gets the unexpired command"
    );
    assert!(
        fixture.units().delivered().is_empty(),
        "an offline unit received nothing"
    );

    // The process stops with the request in flight.
    waiting.abort();
    assert!(waiting.await.unwrap_err().is_cancelled());
    drop(services);
    let fixture = fixture.restart().await;
    fixture.clock.advance(TimeDelta::seconds(11));
    let locks = &fixture.system.services().locks;
    assert!(
        locks.pending_commands(vehicle).await.unwrap().is_empty(),
        "nothing stays pending"
    );
    let log = locks.commands(vehicle).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, CommandStatus::Expired);
}
