//! The events a car's lock writes, on a whole system with scripted units and a manual clock.

use chrono::TimeDelta;

use super::*;
use crate::events::EventData;
use crate::ids::{CustomerId, ReservationId};
use crate::testing::TestSystem;

fn unlock(vehicle: VehicleId, reservation: ReservationId) -> CommandOrder {
    CommandOrder {
        id: CommandId::new(),
        vehicle_id: vehicle,
        action: LockAction::Unlock,
        customer_id: CustomerId::new(),
        reservation_id: reservation,
        fence: 1,
        origin: CommandOrigin::Renter,
        refuse_if_moving: false,
    }
}

/// The types of the events about `reservation`, all from locks and about `vehicle`.
async fn told(
    system: &TestSystem,
    vehicle: VehicleId,
    reservation: ReservationId,
) -> Vec<&'static str> {
    let events = system.events().await.of_reservation(reservation);
    for event in &events {
        assert_eq!(event.source, "locks");
        assert_eq!(event.subjects.vehicle_id, Some(vehicle));
        assert_eq!(event.subjects.customer_id, None);
    }
    events.iter().map(|event| event.type_name()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_obeyed_command_is_sent_then_acknowledged() {
    let system = TestSystem::start().await;
    let (vehicle, reservation) = (VehicleId::new(), ReservationId::new());
    let order = unlock(vehicle, reservation);
    let done = system
        .services()
        .locks
        .execute(order.clone())
        .await
        .unwrap();
    assert_eq!(done.status, CommandStatus::Done);
    // The same order asked again is its outcome, not a second command.
    system
        .services()
        .locks
        .execute(order.clone())
        .await
        .unwrap();
    assert_eq!(
        told(&system, vehicle, reservation).await,
        ["command.sent", "command.acknowledged"]
    );
    let recorder = system.events().await;
    assert_eq!(
        recorder.data_of("command.sent"),
        [EventData::CommandSent {
            command_id: order.id.as_uuid(),
            action: "unlock".into(),
            origin: "customer".into(),
        }]
    );
    // A repeated acknowledgement tells nothing more.
    let again = system
        .services()
        .locks
        .acknowledge(vehicle, order.id, UnitResult::Done)
        .await
        .unwrap();
    assert_eq!(again, AckOutcome::Duplicate);
    assert_eq!(told(&system, vehicle, reservation).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_command_tells_the_units_reason() {
    let system = TestSystem::start().await;
    let (vehicle, reservation) = (VehicleId::new(), ReservationId::new());
    system
        .units()
        .set_behaviour(vehicle, UnitBehaviour::Refuse("door open".into()));
    let order = unlock(vehicle, reservation);
    let failed = system
        .services()
        .locks
        .execute(order.clone())
        .await
        .unwrap();
    assert_eq!(failed.status, CommandStatus::Failed);
    assert_eq!(
        told(&system, vehicle, reservation).await,
        ["command.sent", "command.refused"]
    );
    assert_eq!(
        system.events().await.data_of("command.refused"),
        [EventData::CommandRefused {
            command_id: order.id.as_uuid(),
            action: "unlock".into(),
            reason: "door open".into(),
        }]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_unanswered_expires_and_a_late_unlock_is_not_acknowledged_but_relocked() {
    let system = TestSystem::start().await;
    let (vehicle, reservation) = (VehicleId::new(), ReservationId::new());
    system.units().set_behaviour(vehicle, UnitBehaviour::Silent);
    let order = unlock(vehicle, reservation);
    let locks = system.services().locks.clone();
    let waiting = tokio::spawn({
        let order = order.clone();
        async move { locks.execute(order).await }
    });
    system.command(vehicle, 1).await;
    system.advance(TimeDelta::seconds(11));
    let expired = waiting.await.unwrap().unwrap();
    assert_eq!(expired.status, CommandStatus::Expired);
    assert_eq!(
        told(&system, vehicle, reservation).await,
        ["command.sent", "command.expired"]
    );

    // The unit did open the doors, too late: the car is locked again by the system.
    let late = system
        .services()
        .locks
        .acknowledge(vehicle, order.id, UnitResult::Done)
        .await
        .unwrap();
    assert_eq!(late, AckOutcome::Late);
    let relock = system.command(vehicle, 2).await;
    assert_eq!(relock.action, LockAction::Lock);
    assert_eq!(
        told(&system, vehicle, reservation).await,
        ["command.sent", "command.expired", "command.sent"]
    );
    let sent = system.events().await.data_of("command.sent");
    assert_eq!(
        sent.last(),
        Some(&EventData::CommandSent {
            command_id: relock.command_id.as_uuid(),
            action: "lock".into(),
            origin: "system".into(),
        })
    );
    assert!(
        system
            .events()
            .await
            .data_of("command.acknowledged")
            .is_empty()
    );
}
