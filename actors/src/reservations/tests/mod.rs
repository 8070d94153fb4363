//! The rental lifecycle at its seams, on a manual clock with scripted units: races between a
//! command in flight and the reservation's other changes, rentals that end on their own, and
//! crashes injected between the workflow's steps.

mod crash;
mod endings;
mod races;

use std::time::Duration;

use chrono::TimeDelta;

use crate::commands::{CommandStatus, LockAction, UnitCommand, UnitResult};
use crate::ids::{CustomerId, VehicleId};
use crate::testing::{Fixture, UnitBehaviour, t0};

use super::{NewReservation, Reservation};

/// Books `vehicle` for `customer` from `start_min` minutes after t0, for `hours`.
async fn book(
    fixture: &Fixture,
    customer: CustomerId,
    vehicle: VehicleId,
    start_min: i64,
    hours: i64,
) -> Reservation {
    let start = t0() + TimeDelta::minutes(start_min);
    let request = NewReservation {
        vehicle_id: vehicle,
        start_at: start,
        end_at: start + TimeDelta::hours(hours),
    };
    fixture
        .system
        .services()
        .reservations
        .create(customer, request, None)
        .await
        .expect("booking")
}

/// Makes the car's unit receive commands and answer only when the test says so.
fn script_unit(fixture: &Fixture, vehicle: VehicleId) {
    fixture
        .units()
        .set_behaviour(vehicle, UnitBehaviour::Silent);
}

/// Waits until the unit of `vehicle` has received `count` commands; the latest one.
async fn delivered(fixture: &Fixture, vehicle: VehicleId, count: usize) -> UnitCommand {
    for _ in 0..500 {
        let sent: Vec<_> = fixture
            .units()
            .delivered()
            .into_iter()
            .filter(|(car, _)| *car == vehicle)
            .map(|(_, command)| command)
            .collect();
        if sent.len() >= count {
            return sent[count - 1].clone();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the unit never received command {count}");
}

/// Sends `customer`'s unlock of `vehicle` from its own task and waits until the car's unit
/// has received it: the request, and the command the unit holds.
async fn unlock_in_flight(
    fixture: &Fixture,
    customer: CustomerId,
    vehicle: VehicleId,
) -> (
    tokio::task::JoinHandle<Result<crate::commands::CommandRecord, super::ReservationsError>>,
    UnitCommand,
) {
    let reservations = fixture.system.services().reservations.clone();
    let unlock = tokio::spawn(async move { reservations.unlock(vehicle, customer).await });
    let sent = fixture
        .units()
        .delivered()
        .iter()
        .filter(|(car, _)| *car == vehicle)
        .count();
    (unlock, delivered(fixture, vehicle, sent + 1).await)
}

/// The scripted unit answers `command`.
async fn answer(fixture: &Fixture, vehicle: VehicleId, command: &UnitCommand, result: UnitResult) {
    fixture
        .system
        .services()
        .locks
        .acknowledge(vehicle, command.command_id, result)
        .await
        .expect("acknowledgement");
}

/// Lets a spawned request run until it waits on the car's actor.
async fn settle_in() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
}

/// The audit across services holds.
async fn assert_audit_clean(fixture: &Fixture) -> crate::audit::SystemAudit {
    let audit = crate::audit::audit(fixture.system.services())
        .await
        .expect("audit");
    assert!(audit.is_clean(), "{:#?}", audit.violations);
    audit
}

/// The commands of a car, as (action, status).
fn command_log(fixture: &Fixture, vehicle: VehicleId) -> Vec<(LockAction, CommandStatus)> {
    fixture
        .system
        .services()
        .locks
        .commands(vehicle)
        .expect("log")
        .iter()
        .map(|command| (command.action, command.status))
        .collect()
}
