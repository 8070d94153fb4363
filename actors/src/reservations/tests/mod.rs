//! The rental lifecycle at its seams, on a manual clock with scripted units: races between a
//! command in flight and the reservation's other changes, rentals that end on their own, and
//! crashes injected between the workflow's steps.

mod crash;
mod customer_erasure;
mod endings;
mod events;
mod events_after_crash;
mod extension;
mod finish_rules;
mod outages;
mod privacy;
mod races;
mod retirement;

use std::time::Duration;

use chrono::TimeDelta;

use crate::commands::{CommandStatus, LockAction, UnitCommand, UnitResult};
use crate::ids::{CustomerId, VehicleId};
use crate::testing::cards::{self, VISA};
use crate::testing::{TestSystem, UnitBehaviour, eventually, t0};

use super::{NewReservation, Reservation};

/// The hourly rate of the tests' car, in centavos.
const RATE: i64 = 3_000;

/// A system with one customer (with a Visa card) and one car.
async fn one_customer_one_car() -> (TestSystem, CustomerId, VehicleId) {
    let fixture = TestSystem::start().await;
    let customer = fixture.customer(0, VISA).await;
    let vehicle = fixture.vehicle(0, RATE).await;
    (fixture, customer, vehicle)
}

/// Books `vehicle` for `customer` from `start_min` minutes after t0, for `hours`.
async fn book(
    fixture: &TestSystem,
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
        .services()
        .reservations
        .create(customer, request, None)
        .await
        .expect("booking")
}

/// Makes the car's unit receive commands and answer only when the test says so.
fn script_unit(fixture: &TestSystem, vehicle: VehicleId) {
    fixture
        .units()
        .set_behaviour(vehicle, UnitBehaviour::Silent);
}

/// Sends `customer`'s unlock of `vehicle` from its own task and waits until the car's unit
/// has received it: the request, and the command the unit holds.
async fn unlock_in_flight(
    fixture: &TestSystem,
    customer: CustomerId,
    vehicle: VehicleId,
) -> (
    tokio::task::JoinHandle<Result<crate::commands::CommandRecord, super::ReservationsError>>,
    UnitCommand,
) {
    let reservations = fixture.services().reservations.clone();
    let unlock = tokio::spawn(async move { reservations.unlock(vehicle, customer).await });
    let sent = fixture
        .units()
        .delivered()
        .iter()
        .filter(|(car, _)| *car == vehicle)
        .count();
    (unlock, fixture.command(vehicle, sent + 1).await)
}

/// The scripted unit answers `command`.
async fn answer(
    fixture: &TestSystem,
    vehicle: VehicleId,
    command: &UnitCommand,
    result: UnitResult,
) {
    fixture
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
async fn assert_audit_clean(fixture: &TestSystem) -> crate::audit::SystemAudit {
    let audit = crate::audit::audit(fixture.services())
        .await
        .expect("audit");
    assert!(audit.is_clean(), "{:#?}", audit.violations);
    audit
}

/// The commands of a car, as (action, status).
fn command_log(fixture: &TestSystem, vehicle: VehicleId) -> Vec<(LockAction, CommandStatus)> {
    fixture
        .services()
        .locks
        .commands(vehicle)
        .expect("log")
        .iter()
        .map(|command| (command.action, command.status))
        .collect()
}
