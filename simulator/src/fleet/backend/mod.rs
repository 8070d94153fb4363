//! What the simulated customers and cars act on: the actor system in this process, or a
//! running server over HTTP and WebSocket. Both answer with the same outcomes and the same
//! error labels (the API's problem types), so one customer script and one report serve both.

mod in_process;
mod remote;

use std::future::Future;

use actors::audit::SystemAudit;
use actors::clock::SharedClock;
use actors::domain::samples;
use actors::{ErrorKind, Kinded};
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use in_process::InProcess;
pub use remote::{CONFIRMATION_REQUIRED, Remote};

use super::city::Position;
use super::scenario::{CarPlan, CustomerPlan};
use crate::unit::Fix;

/// Why an operation did not succeed. Errors of the services carry the services' own
/// [`ErrorKind`], whether they were answered in this process or over HTTP (the API's problem
/// type names the kind), so both backends count errors under the same labels.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct OpError {
    /// What kind of failure.
    pub kind: OpErrorKind,
    /// What the service said.
    pub detail: String,
}

/// The label of an [`OpError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpErrorKind {
    /// A refusal or failure of the services.
    Service(ErrorKind),
    /// An HTTP answer without a problem type the services know (a proxy's 502, …).
    Http(u16),
    /// The request did not reach the server, or its answer was lost.
    Transport,
    /// The server answered something that could not be read.
    UnreadableAnswer,
    /// The simulation's own machinery failed (start, audit, a unit, the configuration).
    Harness(&'static str),
    /// The simulation saw a rule of the system broken (two customers in one car at once).
    Violation(&'static str),
}

impl std::fmt::Display for OpErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpErrorKind::Service(kind) => f.write_str(kind.code()),
            OpErrorKind::Http(status) => write!(f, "http-{status}"),
            OpErrorKind::Transport => f.write_str("transport"),
            OpErrorKind::UnreadableAnswer => f.write_str("unreadable-answer"),
            OpErrorKind::Harness(what) | OpErrorKind::Violation(what) => f.write_str(what),
        }
    }
}

impl OpError {
    /// An error of `kind`.
    pub fn new(kind: OpErrorKind, detail: impl Into<String>) -> Self {
        OpError {
            kind,
            detail: detail.into(),
        }
    }

    /// A refusal or failure of the services, labelled by its kind.
    pub fn service(error: &(impl Kinded + ?Sized)) -> Self {
        OpError::new(OpErrorKind::Service(error.kind()), error.to_string())
    }

    /// The simulation's own machinery failed at `what`.
    pub fn harness(what: &'static str, detail: impl Into<String>) -> Self {
        OpError::new(OpErrorKind::Harness(what), detail)
    }

    /// Whether the services answered with `kind`.
    pub fn is(&self, kind: ErrorKind) -> bool {
        self.kind == OpErrorKind::Service(kind)
    }

    /// Someone else got the car (or this customer already holds that time), or its battery
    /// will not carry the booking: the customer tries another car.
    pub fn is_conflict(&self) -> bool {
        self.is(ErrorKind::VehicleBusy)
            || self.is(ErrorKind::VehicleUnavailable)
            || self.is(ErrorKind::BatteryLow)
    }

    /// The card hold was refused.
    pub fn is_payment_refusal(&self) -> bool {
        self.is(ErrorKind::PaymentDeclined)
    }

    /// The answer was lost or late (a timeout, a service busy, the network): the request may
    /// have taken effect, so it is asked again with the same idempotency key.
    pub fn is_transient(&self) -> bool {
        match self.kind {
            OpErrorKind::Service(kind) => {
                matches!(kind, ErrorKind::Timeout | ErrorKind::Unavailable)
            }
            OpErrorKind::Http(status) => matches!(status, 502..=504),
            OpErrorKind::Transport => true,
            OpErrorKind::UnreadableAnswer | OpErrorKind::Harness(_) | OpErrorKind::Violation(_) => {
                false
            }
        }
    }

    /// The car did not confirm in time; the customer may try again.
    pub fn is_car_timeout(&self) -> bool {
        self.is(ErrorKind::CarTimeout)
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

/// The personal data a simulated customer registers with. Its `Debug` shows the name and the
/// e-mail only: documents, phone, password and card number stay out of logs.
#[derive(Clone, PartialEq, Eq)]
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

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Person")
            .field("name", &self.name)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
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

    /// The reservations the services acknowledged to a customer that they no longer know:
    /// none may be missing, whatever happened to the servers during the run. In process
    /// nothing is lost between an answer and the stores, so nothing is checked.
    fn missing_reservations(&self) -> impl Future<Output = Result<Vec<Uuid>, OpError>> + Send {
        async { Ok(Vec::new()) }
    }

    /// Stops what the backend started (units, the in-process system).
    fn close(&self) -> impl Future<Output = Result<(), OpError>> + Send;
}
