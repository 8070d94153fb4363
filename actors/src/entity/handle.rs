//! The generic half of every service handle: reach an entity's actor and ask it.

use std::sync::Arc;
use std::time::Duration;

use ractor::{ActorRef, RpcReplyPort};

use super::envelope::Envelope;
use super::registry::{EntityRegistry, EntityStats};
use super::supervisor::SupervisorMsg;
use super::{Activation, Entity};
use crate::ask::{ASK_TIMEOUT, AskError};

/// Attempts per ask: a first try, and retries after racing a passivation or a restart.
const ATTEMPTS: usize = 3;

/// A cloneable reference to the entities of kind `E`.
pub struct EntityRef<E: Entity> {
    supervisor: ActorRef<SupervisorMsg<E>>,
    registry: Arc<EntityRegistry<E>>,
    timeout: Duration,
}

impl<E: Entity> Clone for EntityRef<E> {
    fn clone(&self) -> Self {
        EntityRef {
            supervisor: self.supervisor.clone(),
            registry: self.registry.clone(),
            timeout: self.timeout,
        }
    }
}

impl<E: Entity> EntityRef<E> {
    /// A reference through `supervisor`, whose entities are listed in `registry`.
    pub fn new(supervisor: ActorRef<SupervisorMsg<E>>, registry: Arc<EntityRegistry<E>>) -> Self {
        EntityRef {
            supervisor,
            registry,
            timeout: ASK_TIMEOUT,
        }
    }

    /// The same reference with another ask timeout (for asks that wait on the outside world,
    /// such as a car unit's acknowledgement).
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        EntityRef {
            timeout,
            ..self.clone()
        }
    }

    /// Asks the existing entity `id`; an unknown id is [`AskError::NotFound`].
    pub async fn call<T: Send + 'static>(
        &self,
        id: E::Id,
        message: impl Fn(RpcReplyPort<T>) -> E::Msg,
    ) -> Result<T, AskError> {
        self.ask(id, Activation::Existing, message).await
    }

    /// Asks entity `id`, creating its empty state first if it does not exist.
    pub async fn call_or_create<T: Send + 'static>(
        &self,
        id: E::Id,
        message: impl Fn(RpcReplyPort<T>) -> E::Msg,
    ) -> Result<T, AskError> {
        self.ask(id, Activation::OrCreate, message).await
    }

    /// Whether `id` has a live actor now.
    pub fn is_active(&self, id: &E::Id) -> bool {
        self.registry.get(id).is_some()
    }

    /// The counters of this entity kind.
    pub fn stats(&self) -> EntityStats {
        self.registry.stats()
    }

    /// Whether the supervisor is running (readiness).
    pub fn ping(&self) -> Result<(), AskError> {
        if self.supervisor.get_status() == ractor::ActorStatus::Running {
            Ok(())
        } else {
            Err(AskError::Unavailable {
                actor: format!("{} supervisor", E::KIND),
            })
        }
    }

    #[cfg(test)]
    pub(crate) fn registry_for_tests(&self) -> &EntityRegistry<E> {
        &self.registry
    }

    async fn ask<T: Send + 'static>(
        &self,
        id: E::Id,
        activation: Activation,
        message: impl Fn(RpcReplyPort<T>) -> E::Msg,
    ) -> Result<T, AskError> {
        for _ in 0..ATTEMPTS {
            let actor = self.actor(id, activation).await?;
            let (sender, receiver) = ractor::concurrency::oneshot();
            if actor
                .send_message(Envelope::Message(message(sender.into())))
                .is_err()
            {
                continue; // stopped between look-up and send: activate again
            }
            match tokio::time::timeout(self.timeout, receiver).await {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(_)) => continue, // the actor stopped before answering
                Err(_) => {
                    return Err(AskError::Timeout {
                        actor: format!("{} {id}", E::KIND),
                        timeout: self.timeout,
                    });
                }
            }
        }
        Err(AskError::Unavailable {
            actor: format!("{} {id}", E::KIND),
        })
    }

    async fn actor(
        &self,
        id: E::Id,
        activation: Activation,
    ) -> Result<ActorRef<Envelope<E>>, AskError> {
        if let Some(actor) = self.registry.get(&id) {
            return Ok(actor);
        }
        let supervisor = format!("{} supervisor", E::KIND);
        let answer = self
            .supervisor
            .call(
                |reply| SupervisorMsg::Activate {
                    id,
                    activation,
                    reply,
                },
                Some(ASK_TIMEOUT),
            )
            .await;
        match answer {
            Ok(ractor::rpc::CallResult::Success(result)) => result,
            Ok(ractor::rpc::CallResult::Timeout) => Err(AskError::Timeout {
                actor: supervisor,
                timeout: ASK_TIMEOUT,
            }),
            Ok(ractor::rpc::CallResult::SenderError) | Err(_) => {
                Err(AskError::Unavailable { actor: supervisor })
            }
        }
    }
}
