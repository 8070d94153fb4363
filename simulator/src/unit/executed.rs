//! The memory of executed commands, so a re-sent command is acknowledged but not re-executed.
//!
//! The server re-sends every unexpired command on each new connection. Executing an unlock
//! twice is harmless, but executing a stale unlock *after* a later lock would open a car the
//! renter just closed: hence "execute once, acknowledge every time, with the same result".

use std::collections::{HashMap, VecDeque};

use uuid::Uuid;

/// The outcomes of the last `capacity` commands, by id. Bounded because a unit runs for years;
/// commands expire within seconds, so a thousand ids is far more than any re-send reaches.
#[derive(Debug, Clone)]
pub struct ExecutedCommands {
    capacity: usize,
    order: VecDeque<Uuid>,
    outcomes: HashMap<Uuid, Result<(), String>>,
}

impl ExecutedCommands {
    /// An empty memory of at most `capacity` ids (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        ExecutedCommands {
            capacity,
            order: VecDeque::with_capacity(capacity),
            outcomes: HashMap::with_capacity(capacity),
        }
    }

    /// The outcome of `command_id` if it was executed and is still remembered.
    pub fn outcome(&self, command_id: Uuid) -> Option<&Result<(), String>> {
        self.outcomes.get(&command_id)
    }

    /// Remembers an execution, forgetting the oldest one when full.
    pub fn remember(&mut self, command_id: Uuid, outcome: Result<(), String>) {
        if self.outcomes.insert(command_id, outcome).is_some() {
            return;
        }
        self.order.push_back(command_id);
        if self.order.len() > self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.outcomes.remove(&oldest);
        }
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether nothing was executed yet.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_remembered() {
        let mut memory = ExecutedCommands::new(10);
        let (done, failed) = (Uuid::now_v7(), Uuid::now_v7());
        memory.remember(done, Ok(()));
        memory.remember(failed, Err("jammed".into()));
        assert_eq!(memory.outcome(done), Some(&Ok(())));
        assert_eq!(memory.outcome(failed), Some(&Err("jammed".into())));
        assert_eq!(memory.outcome(Uuid::now_v7()), None);
        assert_eq!(memory.len(), 2);
    }

    #[test]
    fn the_oldest_id_is_forgotten_first() {
        let mut memory = ExecutedCommands::new(3);
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        for id in &ids {
            memory.remember(*id, Ok(()));
        }
        assert_eq!(memory.len(), 3);
        assert_eq!(memory.outcome(ids[0]), None);
        assert!(ids[1..].iter().all(|id| memory.outcome(*id).is_some()));
    }

    #[test]
    fn remembering_twice_takes_one_place() {
        let mut memory = ExecutedCommands::new(2);
        let id = Uuid::now_v7();
        memory.remember(id, Ok(()));
        memory.remember(id, Ok(()));
        assert_eq!(memory.len(), 1);
    }
}
