//! The actor that hosts one entity while it is active.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::Entity;
use super::envelope::Envelope;
use super::registry::EntityRegistry;

pub(crate) struct EntityActor<E: Entity>(std::marker::PhantomData<fn() -> E>);

impl<E: Entity> EntityActor<E> {
    pub(crate) fn new() -> Self {
        EntityActor(std::marker::PhantomData)
    }
}

pub(crate) struct Arguments<E: Entity> {
    pub(crate) id: E::Id,
    pub(crate) entity: E,
    pub(crate) context: E::Context,
    pub(crate) registry: Arc<EntityRegistry<E>>,
    pub(crate) idle_timeout: Duration,
}

pub(crate) struct State<E: Entity> {
    id: E::Id,
    entity: E,
    context: E::Context,
    registry: Arc<EntityRegistry<E>>,
    idle_timeout: Duration,
    last_active: Instant,
    idle_checks: tokio::task::JoinHandle<()>,
}

impl<E: Entity> Actor for EntityActor<E> {
    type Msg = Envelope<E>;
    type State = State<E>;
    type Arguments = Arguments<E>;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        // Checking twice per timeout bounds an idle entity's lifetime to 1.5 timeouts.
        let period = (args.idle_timeout / 2).max(Duration::from_millis(10));
        let idle_checks = myself.send_interval(period, || Envelope::IdleCheck);
        Ok(State {
            id: args.id,
            entity: args.entity,
            context: args.context,
            registry: args.registry,
            idle_timeout: args.idle_timeout,
            last_active: Instant::now(),
            idle_checks,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            Envelope::Message(message) => {
                state.last_active = Instant::now();
                state.entity.handle(message, &state.context).await
            }
            Envelope::IdleCheck => {
                if state.last_active.elapsed() >= state.idle_timeout {
                    // Out of the registry first: from here on, new asks activate a fresh actor
                    // (which reads what this one persisted), and asks already queued here are
                    // dropped with the mailbox and retried by the handle.
                    if state.registry.remove_if(&state.id, myself.get_id()) {
                        state.registry.count_passivation();
                    }
                    myself.stop(Some("idle".into()));
                }
                Ok(())
            }
        }
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.idle_checks.abort();
        Ok(())
    }
}
