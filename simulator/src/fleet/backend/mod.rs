//! What the simulated customers and cars act on: the actor system in this process, or a
//! running server over HTTP and WebSocket. Both answer with the same outcomes and the same
//! error labels (the API's problem types), so one customer script and one report serve both.

mod in_process;
mod remote;

use std::future::Future;

use actors::audit::SystemAudit;
use actors::clock::SharedClock;
use actors::domain::samples;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use in_process::InProcess;
pub use remote::Remote;

use super::city::Position;
use super::scenario::{CarPlan, CustomerPlan};
use crate::unit::Fix;

/// Why an operation did not succeed, labelled like the API's problem types (`vehicle-busy`,
/// `payment-declined`, `car-timeout`, …) so that both backends count errors alike.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct OpError {
    /// The label.
    pub kind: String,
    /// What the service said.
    pub detail: String,
}

impl OpError {
    /// An error labelled `kind`.
    pub fn new(kind: impl Into<String>, detail: impl Into<String>) -> Self {
        OpError {
            kind: kind.into(),
            detail: detail.into(),
        }
    }

    /// Someone else got the car (or this customer already holds that time): a race the
    /// customer handles by trying another car.
    pub fn is_conflict(&self) -> bool {
        matches!(self.kind.as_str(), "vehicle-busy" | "vehicle-unavailable")
    }

    /// The card hold was refused.
    pub fn is_payment_refusal(&self) -> bool {
        self.kind == "payment-declined"
    }

    /// The answer was lost or late (a timeout, a service busy, the network): the request may
    /// have taken effect, so it is asked again with the same idempotency key.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "timeout" | "unavailable" | "transport" | "http-502" | "http-503" | "http-504"
        )
    }

    /// The car did not confirm in time; the customer may try again.
    pub fn is_car_timeout(&self) -> bool {
        self.kind == "car-timeout"
    }
}

/// A car found by a search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FoundCar {
    /// Its id.
    pub id: Uuid,
    /// Where it stands.
    pub position: Position,
}

/// The personal data a simulated customer registers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Full name.
    pub name: String,
    /// CPF, digits.
    pub cpf: String,
    /// CNH, digits.
    pub cnh: String,
    /// E-mail.
    pub email: String,
    /// Mobile phone.
    pub phone: String,
    /// Password.
    pub password: String,
    /// Sandbox card number.
    pub card_number: &'static str,
}

impl Person {
    /// The person of `plan`; `tag` keeps identities of different runs apart on one server
    /// (CPF, e-mail and plate must be unique there).
    pub fn of(plan: &CustomerPlan, tag: u64) -> Person {
        let number = tag.wrapping_mul(10_000_000).wrapping_add(plan.index);
        Person {
            name: samples::name(plan.index),
            cpf: samples::cpf(number.wrapping_add(100_000_000)),
            cnh: samples::cnh(number.wrapping_add(300_000_000)),
            email: format!("sim{tag}.c{}@example.com", plan.index),
            phone: samples::phone(number),
            password: format!("senha-simulada-{}", plan.seed % 1_000_000),
            card_number: plan.card.number(plan.index),
        }
    }
}

/// The plate of `car` in a run tagged `tag`.
pub fn plate_of(car: &CarPlan, tag: u64) -> String {
    samples::plate(tag.wrapping_mul(1_000_000).wrapping_add(car.index))
}

/// The services, as the simulated people and cars reach them.
pub trait Backend: Send + Sync + 'static {
    /// A logged-in customer.
    type Session: Send + Sync + 'static;

    /// The services' clock.
    fn clock(&self) -> &SharedClock;

    /// Registers a car and reports it parked where the plan puts it.
    fn add_car(&self, car: &CarPlan) -> impl Future<Output = Result<Uuid, OpError>> + Send;

    /// The car's unit reports a fix; `stopped` fixes must have reached the services before
    /// this returns (a lock is refused while the car seems to move).
    fn report(
        &self,
        car: Uuid,
        fix: Fix,
        stopped: bool,
    ) -> impl Future<Output = Result<(), OpError>> + Send;

    /// Registers a customer and logs them in.
    fn register(
        &self,
        person: &Person,
    ) -> impl Future<Output = Result<Self::Session, OpError>> + Send;

    /// Available cars near a point, nearest first.
    fn nearby(
        &self,
        who: &Self::Session,
        at: Position,
        radius_m: f64,
    ) -> impl Future<Output = Result<Vec<FoundCar>, OpError>> + Send;

    /// Books `car` from `start` to `end`; the reservation's id.
    fn reserve(
        &self,
        who: &Self::Session,
        car: Uuid,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        idempotency_key: String,
    ) -> impl Future<Output = Result<Uuid, OpError>> + Send;

    /// Opens the car.
    fn unlock(
        &self,
        who: &Self::Session,
        car: Uuid,
    ) -> impl Future<Output = Result<(), OpError>> + Send;

    /// Closes the car.
    fn lock(
        &self,
        who: &Self::Session,
        car: Uuid,
    ) -> impl Future<Output = Result<(), OpError>> + Send;

    /// Releases the car at the end of the rental.
    fn finish(
        &self,
        who: &Self::Session,
        reservation: Uuid,
    ) -> impl Future<Output = Result<(), OpError>> + Send;

    /// Cancels a reservation before its start.
    fn cancel(
        &self,
        who: &Self::Session,
        reservation: Uuid,
    ) -> impl Future<Output = Result<(), OpError>> + Send;

    /// The invariants, read back from the services.
    fn audit(&self) -> impl Future<Output = Result<SystemAudit, OpError>> + Send;

    /// Stops what the backend started (units, the in-process system).
    fn close(&self) -> impl Future<Output = Result<(), OpError>> + Send;
}
