//! The map of a service's active entities, shared by its handle (look-ups) and its supervisor
//! and entity actors (insertions and removals).
//!
//! A plain mutex: every critical section is a hash-map operation, far shorter than an ask.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use ractor::{ActorId, ActorRef};

use super::Entity;
use super::envelope::Envelope;

/// Active entities of one kind.
pub struct EntityRegistry<E: Entity> {
    active: Mutex<HashMap<E::Id, ActorRef<Envelope<E>>>>,
    counters: Counters,
}

#[derive(Default)]
struct Counters {
    activations: AtomicU64,
    passivations: AtomicU64,
    failures: AtomicU64,
    restarts: AtomicU64,
}

/// Counters of one entity kind, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EntityStats {
    /// Entities with a live actor now.
    pub active: u64,
    /// Activations since start (first use, or again after passivation).
    pub activations: u64,
    /// Actors stopped for being idle.
    pub passivations: u64,
    /// Actors that failed (error or panic).
    pub failures: u64,
    /// Failed actors restarted by their supervisor.
    pub restarts: u64,
}

impl<E: Entity> Default for EntityRegistry<E> {
    fn default() -> Self {
        EntityRegistry {
            active: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        }
    }
}

impl<E: Entity> EntityRegistry<E> {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<E::Id, ActorRef<Envelope<E>>>> {
        // A panic while holding this lock cannot leave the map half-updated (each operation is
        // one HashMap call), so a poisoned lock is still safe to use.
        self.active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The live actor of `id`, if any.
    pub fn get(&self, id: &E::Id) -> Option<ActorRef<Envelope<E>>> {
        self.map().get(id).cloned()
    }

    pub(crate) fn insert(&self, id: E::Id, actor: ActorRef<Envelope<E>>) {
        self.map().insert(id, actor);
        self.counters.activations.fetch_add(1, Ordering::Relaxed);
    }

    /// Removes `id` only if it still maps to `actor` (a newer activation may have replaced it).
    pub(crate) fn remove_if(&self, id: &E::Id, actor: ActorId) -> bool {
        let mut map = self.map();
        if map.get(id).is_some_and(|current| current.get_id() == actor) {
            map.remove(id);
            true
        } else {
            false
        }
    }

    pub(crate) fn count_passivation(&self) {
        self.counters.passivations.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_failure(&self) {
        self.counters.failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_restart(&self) {
        self.counters.restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn stats(&self) -> EntityStats {
        EntityStats {
            active: self.map().len() as u64,
            activations: self.counters.activations.load(Ordering::Relaxed),
            passivations: self.counters.passivations.load(Ordering::Relaxed),
            failures: self.counters.failures.load(Ordering::Relaxed),
            restarts: self.counters.restarts.load(Ordering::Relaxed),
        }
    }
}
