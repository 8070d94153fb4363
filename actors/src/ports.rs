//! Questions one service asks another without importing it.
//!
//! Reservations asks customers and vehicles before it books; customers and vehicles in turn
//! must ask reservations before an erasure or a retirement. A handle cannot hold a handle of a
//! service started after it, so those reverse questions go through a trait object that the
//! system binds once every service is running ([`LateBound`]).
//!
//! Reservations, the home of the rental workflow, has the car units' commands carried out by
//! locks through [`CarCommands`]: locks knows nothing of reservations, and reservations nothing
//! of how a command reaches a unit.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, Weak};

use chrono::{DateTime, Utc};

use crate::ask::AskError;
use crate::commands::{CommandError, CommandOrder, CommandRecord};
use crate::ids::{CommandId, CustomerId, VehicleId};

/// A boxed future, for object-safe async traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What customers and vehicles need to know from reservations.
pub trait ReservationLookup: Send + Sync + 'static {
    /// Whether the customer has a reservation that is not finished (pending payment, confirmed
    /// or active): erasure is refused then.
    fn customer_has_open(&self, customer: CustomerId) -> BoxFuture<'_, Result<bool, AskError>>;

    /// Whether the car has a reservation that is not finished. A snapshot only: retirement
    /// asks [`ReservationLookup::retire_vehicle`] instead, which checks and writes in one step.
    fn vehicle_has_open(&self, vehicle: VehicleId) -> BoxFuture<'_, Result<bool, AskError>>;

    /// Closes the car to bookings for good unless it has a reservation that is not finished:
    /// `Ok(true)` once it is closed (now or earlier), `Ok(false)` while a reservation is open,
    /// and nothing changes then. The check and the write are one turn of the actor that books
    /// the car, so no booking can land between them. Idempotent; durable before it answers.
    ///
    /// By default it fails closed: a lookup that cannot retire cars refuses every retirement.
    fn retire_vehicle(&self, vehicle: VehicleId) -> BoxFuture<'_, Result<bool, AskError>> {
        let _ = vehicle;
        Box::pin(async {
            Err(AskError::Unavailable {
                actor: "reservations (retirement)".into(),
            })
        })
    }

    /// The cars among `vehicles` with a reservation overlapping `[from, to)`.
    fn busy(
        &self,
        vehicles: Vec<VehicleId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<HashSet<VehicleId>, AskError>>;
}

/// Carrying out commands on car units, for the actor that decides who may open a car.
pub trait CarCommands: Send + Sync + 'static {
    /// Logs and sends `order`, then waits for its outcome until it expires: the settled
    /// record (done, failed or expired), or why it could not be sent.
    fn execute(&self, order: CommandOrder) -> BoxFuture<'_, Result<CommandRecord, CommandError>>;

    /// The outcome of a command sent earlier (after a restart): waits while it is pending and
    /// unexpired; `None` if the order never reached the command log.
    fn outcome(
        &self,
        vehicle: VehicleId,
        command: CommandId,
    ) -> BoxFuture<'_, Result<Option<CommandRecord>, CommandError>>;
}

/// A dependency bound after start-up, once the service providing it runs.
///
/// It holds the dependency weakly: services that ask each other would otherwise keep each
/// other alive in a cycle, and their stores would never close. The system owns the strong
/// reference for as long as it runs.
pub struct LateBound<T: ?Sized> {
    slot: Arc<OnceLock<Weak<T>>>,
    name: &'static str,
}

impl<T: ?Sized> Clone for LateBound<T> {
    fn clone(&self) -> Self {
        LateBound {
            slot: self.slot.clone(),
            name: self.name,
        }
    }
}

impl<T: ?Sized> LateBound<T> {
    /// An empty slot for the service `name`.
    pub fn new(name: &'static str) -> Self {
        LateBound {
            slot: Arc::new(OnceLock::new()),
            name,
        }
    }

    /// Binds the slot to `value`, which the caller keeps alive; a second binding is ignored.
    pub fn bind(&self, value: &Arc<T>) {
        let _ = self.slot.set(Arc::downgrade(value));
    }

    /// The bound value, or `Unavailable` while the providing service is not running (not yet,
    /// or no more).
    pub fn get(&self) -> Result<Arc<T>, AskError> {
        self.slot
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| AskError::Unavailable {
                actor: self.name.to_owned(),
            })
    }
}

/// Where to write to a customer, and in which language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The address (for the confirmation of a changed address, the new one).
    pub email: String,
    /// The customer's name, to greet them.
    pub name: String,
    /// Their language.
    pub locale: crate::domain::Locale,
}

/// What the notifications service asks the customers service before it writes to someone: it
/// keeps no copy of addresses beyond the messages it queues, so an erasure leaves nothing to
/// chase there but those.
pub trait ContactLookup: Send + Sync + 'static {
    /// The customer's contact, `None` for an unknown or erased customer. With
    /// `address_being_confirmed`, the address waiting for confirmation (a changed e-mail), if
    /// any, instead of the confirmed one.
    fn contact(
        &self,
        customer: CustomerId,
        address_being_confirmed: bool,
    ) -> BoxFuture<'_, Result<Option<Contact>, AskError>>;
}
