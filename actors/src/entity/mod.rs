//! Virtual actors: one actor per entity (car, customer, reservation), alive only while used.
//!
//! As in Orleans, an entity actor is activated on its first message, loads its state from the
//! service's store, and passivates itself after an idle timeout, so a fleet of 100,000 cars
//! costs memory only for the cars in use (an idle ractor actor costs ~8-10 KB here).
//!
//! - [`EntityRef`] is the generic half of a service handle: it finds the entity's actor in the
//!   service's [`registry`](EntityRegistry), or asks the supervisor to activate it, then asks
//!   the actor with a timeout. An ask that races a passivating actor finds the mailbox closed
//!   or the reply dropped, and is retried on a fresh activation: never lost silently.
//! - [`EntitySupervisor`] activates entities one at a time (so one id never has two actors),
//!   restarts a failed entity from its stored state within an intensity limit, and never stops
//!   because a child stopped.
//!
//! The registry is the service's own map rather than ractor's global name registry: two
//! systems in one process (tests, the simulator beside a server) must not see each other's
//! actors.

mod actor;
mod envelope;
mod handle;
mod intensity;
mod registry;
mod supervisor;

use std::fmt::{Debug, Display};
use std::future::Future;
use std::hash::Hash;

pub use envelope::Envelope;
pub use handle::EntityRef;
pub use intensity::RestartIntensity;
pub use ractor::ActorProcessingErr;
pub use registry::{EntityRegistry, EntityStats};
pub use supervisor::{EntitySupervisor, SupervisorConfig, SupervisorMsg};

/// Whether an activation may create an entity that is not in the store yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Only an entity that exists: an unknown id is `NotFound`, and no actor is spawned for it
    /// (random ids must not make the service spawn actors).
    Existing,
    /// Create the entity's empty state if it is not stored (the service chose the id).
    OrCreate,
}

/// An entity type: its id, its messages, and how it loads and handles them.
pub trait Entity: Sized + Send + Sync + 'static {
    /// The entity's id.
    type Id: Copy + Eq + Hash + Debug + Display + Send + Sync + 'static;
    /// Its closed set of messages.
    type Msg: Send + 'static;
    /// What it needs from its service: store tables, the clock, other services' handles.
    type Context: Clone + Send + Sync + 'static;
    /// A name for logs, metrics and errors (`vehicle`, `customer`, …).
    const KIND: &'static str;

    /// Loads the entity's state from the store; `Ok(None)` when it does not exist and
    /// `activation` is [`Activation::Existing`].
    fn activate(
        id: Self::Id,
        activation: Activation,
        context: &Self::Context,
    ) -> impl Future<Output = Result<Option<Self>, ActorProcessingErr>> + Send;

    /// Handles one message. An error (or a panic) fails the actor: its supervisor restarts it
    /// from its stored state, so a handler must persist before it replies.
    fn handle(
        &mut self,
        message: Self::Msg,
        context: &Self::Context,
    ) -> impl Future<Output = Result<(), ActorProcessingErr>> + Send;
}

/// Starts the supervisor of entity kind `E` under `parent` and returns the reference through
/// which the service's handle reaches its entities.
pub async fn start_entities<E: Entity>(
    context: E::Context,
    config: SupervisorConfig,
    parent: Option<ractor::ActorCell>,
) -> Result<EntityRef<E>, ractor::SpawnErr> {
    let registry = std::sync::Arc::new(EntityRegistry::default());
    let args = supervisor::SupervisorArgs::new(context, registry.clone(), config);
    let (supervisor, _) = match parent {
        Some(parent) => {
            ractor::Actor::spawn_linked(None, EntitySupervisor::<E>::default(), args, parent)
                .await?
        }
        None => ractor::Actor::spawn(None, EntitySupervisor::<E>::default(), args).await?,
    };
    Ok(EntityRef::new(supervisor, registry))
}

impl SupervisorConfig {
    /// The supervisor settings from the configuration.
    pub fn from_config(config: &crate::config::Config) -> Self {
        SupervisorConfig {
            idle_timeout: std::time::Duration::from_secs(config.fleet.idle_timeout_s),
            intensity: RestartIntensity::default(),
        }
    }
}

#[cfg(test)]
mod tests;
