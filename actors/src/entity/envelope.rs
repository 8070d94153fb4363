//! The mailbox type of an entity actor. Its own file so that the actor, its handle and the
//! registry all depend on it rather than on each other.

use super::Entity;

/// What an entity actor receives: the entity's own messages, and its idle check.
pub enum Envelope<E: Entity> {
    /// A message for the entity.
    Message(E::Msg),
    /// Time to see whether the entity has been idle long enough to passivate.
    IdleCheck,
}
