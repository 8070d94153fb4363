//! The supervisor of one entity kind: activates entities and restarts the ones that fail.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{
    Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent,
};

use super::actor::{Arguments, EntityActor};
use super::envelope::Envelope;
use super::intensity::RestartIntensity;
use super::registry::EntityRegistry;
use super::{Activation, Entity};
use crate::ask::AskError;

/// How a supervisor runs its entities.
#[derive(Debug, Clone, Copy)]
pub struct SupervisorConfig {
    /// Idle time after which an entity passivates.
    pub idle_timeout: Duration,
    /// Restarts allowed per entity.
    pub intensity: RestartIntensity,
}

/// Messages of an entity supervisor.
pub enum SupervisorMsg<E: Entity> {
    /// Returns the live actor of `id`, activating it if needed.
    Activate {
        /// The entity.
        id: E::Id,
        /// Whether a missing entity may be created.
        activation: Activation,
        /// Where the actor goes.
        reply: RpcReplyPort<Result<ActorRef<Envelope<E>>, AskError>>,
    },
}

/// The supervisor actor of entity kind `E`.
pub struct EntitySupervisor<E: Entity>(std::marker::PhantomData<fn() -> E>);

impl<E: Entity> Default for EntitySupervisor<E> {
    fn default() -> Self {
        EntitySupervisor(std::marker::PhantomData)
    }
}

/// What the supervisor starts with.
pub struct SupervisorArgs<E: Entity> {
    pub(crate) context: E::Context,
    pub(crate) registry: Arc<EntityRegistry<E>>,
    pub(crate) config: SupervisorConfig,
}

impl<E: Entity> SupervisorArgs<E> {
    /// Bundles the supervisor's start-up arguments.
    pub fn new(
        context: E::Context,
        registry: Arc<EntityRegistry<E>>,
        config: SupervisorConfig,
    ) -> Self {
        SupervisorArgs {
            context,
            registry,
            config,
        }
    }
}

/// The supervisor's state.
pub struct SupervisorState<E: Entity> {
    context: E::Context,
    registry: Arc<EntityRegistry<E>>,
    config: SupervisorConfig,
    /// Which entity each live child hosts, to act on supervision events.
    children: HashMap<ActorId, E::Id>,
    /// Recent failures per entity, for the intensity limit.
    failures: HashMap<E::Id, VecDeque<Instant>>,
    /// Entities held down after exceeding the limit, and since when.
    down: HashMap<E::Id, Instant>,
}

impl<E: Entity> SupervisorState<E> {
    /// Activates `id`: the live actor if there is one, else a new one loaded from the store.
    async fn activate(
        &mut self,
        myself: ActorCell,
        id: E::Id,
        activation: Activation,
    ) -> Result<ActorRef<Envelope<E>>, AskError> {
        if let Some(actor) = self.registry.get(&id) {
            return Ok(actor);
        }
        if let Some(since) = self.down.get(&id) {
            if since.elapsed() < self.config.intensity.window {
                return Err(unavailable::<E>(id));
            }
            self.down.remove(&id);
        }
        let entity = match E::activate(id, activation, &self.context).await {
            Ok(Some(entity)) => entity,
            Ok(None) => {
                return Err(AskError::NotFound {
                    kind: E::KIND,
                    id: id.to_string(),
                });
            }
            Err(error) => {
                tracing::error!(kind = E::KIND, %id, %error, "cannot load entity");
                return Err(unavailable::<E>(id));
            }
        };
        let arguments = Arguments {
            id,
            entity,
            context: self.context.clone(),
            registry: self.registry.clone(),
            idle_timeout: self.config.idle_timeout,
        };
        let (actor, _) = Actor::spawn_linked(None, EntityActor::<E>::new(), arguments, myself)
            .await
            .map_err(|error| {
                tracing::error!(kind = E::KIND, %id, %error, "cannot start entity actor");
                unavailable::<E>(id)
            })?;
        self.children.insert(actor.get_id(), id);
        self.registry.insert(id, actor.clone());
        Ok(actor)
    }
}

fn unavailable<E: Entity>(id: E::Id) -> AskError {
    AskError::Unavailable {
        actor: format!("{} {id}", E::KIND),
    }
}

impl<E: Entity> Actor for EntitySupervisor<E> {
    type Msg = SupervisorMsg<E>;
    type State = SupervisorState<E>;
    type Arguments = SupervisorArgs<E>;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(SupervisorState {
            context: args.context,
            registry: args.registry,
            config: args.config,
            children: HashMap::new(),
            failures: HashMap::new(),
            down: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SupervisorMsg::Activate {
                id,
                activation,
                reply,
            } => {
                let result = state.activate(myself.get_cell(), id, activation).await;
                // The asker may have timed out; the activation stands for the next one.
                let _ = reply.send(result);
            }
        }
        Ok(())
    }

    /// ractor's default stops the supervisor when any child stops; here a child's end is
    /// bookkeeping (passivation) or a restart (failure), never the supervisor's end.
    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorTerminated(child, _, _) => {
                if let Some(id) = state.children.remove(&child.get_id()) {
                    state.registry.remove_if(&id, child.get_id());
                }
            }
            SupervisionEvent::ActorFailed(child, error) => {
                let Some(id) = state.children.remove(&child.get_id()) else {
                    return Ok(());
                };
                state.registry.remove_if(&id, child.get_id());
                state.registry.count_failure();
                let history = state.failures.entry(id).or_default();
                if state.config.intensity.allow(history, Instant::now()) {
                    tracing::warn!(kind = E::KIND, %id, %error, "entity failed; restarting from its stored state");
                    if state
                        .activate(myself.get_cell(), id, Activation::Existing)
                        .await
                        .is_ok()
                    {
                        state.registry.count_restart();
                    }
                } else {
                    tracing::error!(
                        kind = E::KIND, %id, %error,
                        "entity keeps failing; held down for {:?}", state.config.intensity.window
                    );
                    state.failures.remove(&id);
                    state.down.insert(id, Instant::now());
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        myself: ActorRef<Self::Msg>,
        _state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        myself
            .stop_children_and_wait(Some("shutdown".into()), Some(Duration::from_secs(5)))
            .await;
        Ok(())
    }
}
