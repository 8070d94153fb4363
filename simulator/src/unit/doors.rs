//! Simulated doors: the only actuator a command moves.
//!
//! Real hardware replaces this file. The simulation adds what tests of the backend need and
//! real doors do on their own: refusing (a door left ajar), failing once, answering late, or
//! not answering at all (a unit that hung).

use std::time::Duration;

use super::Action;

/// Whether the car is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DoorState {
    /// Closed; a parked car between rentals.
    Locked,
    /// Open for the renter.
    Unlocked,
}

impl DoorState {
    /// The state an action leaves the doors in.
    pub fn after(action: Action) -> Self {
        match action {
            Action::Unlock => DoorState::Unlocked,
            Action::Lock => DoorState::Locked,
        }
    }
}

/// How the simulated unit treats the commands it receives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Behaviour {
    /// Execute and acknowledge at once.
    #[default]
    Obey,
    /// Do not move, acknowledge `failed` with this reason.
    Refuse(String),
    /// Receive, never execute, never acknowledge: lets the backend's timeout path (504) be
    /// tested. Silent commands are not remembered, so they run if re-sent after the unit
    /// obeys again.
    Silent,
    /// Execute at once, acknowledge after this delay (a slow actuator or a slow link).
    DelayAck(Duration),
}

/// The simulated doors and the behaviour injected by tests.
#[derive(Debug, Clone)]
pub struct Doors {
    state: DoorState,
    behaviour: Behaviour,
    fail_next: Option<String>,
}

impl Default for Doors {
    /// Locked and obedient: a parked car waiting for its renter.
    fn default() -> Self {
        Doors::new(DoorState::Locked)
    }
}

impl Doors {
    /// Doors in `state` that obey.
    pub fn new(state: DoorState) -> Self {
        Doors {
            state,
            behaviour: Behaviour::Obey,
            fail_next: None,
        }
    }

    /// Whether the car is closed now.
    pub fn state(&self) -> DoorState {
        self.state
    }

    /// The current behaviour.
    pub fn behaviour(&self) -> &Behaviour {
        &self.behaviour
    }

    /// Changes how the next commands are treated.
    pub fn set_behaviour(&mut self, behaviour: Behaviour) {
        self.behaviour = behaviour;
    }

    /// Makes the next execution fail with `reason`, once, whatever the behaviour.
    pub fn fail_next(&mut self, reason: impl Into<String>) {
        self.fail_next = Some(reason.into());
    }

    /// Moves the doors, or says why not. Repeating the current state succeeds (locking a
    /// locked car is done, not an error): the server may ask twice and both must end well.
    ///
    /// [`Behaviour::Silent`] is not decided here: a silent unit never reaches `execute`.
    pub fn execute(&mut self, action: Action) -> Result<(), String> {
        if let Some(reason) = self.fail_next.take() {
            return Err(reason);
        }
        if let Behaviour::Refuse(reason) = &self.behaviour {
            return Err(reason.clone());
        }
        self.state = DoorState::after(action);
        Ok(())
    }

    /// How long to wait before acknowledging, per the behaviour.
    pub fn ack_delay(&self) -> Duration {
        match self.behaviour {
            Behaviour::DelayAck(delay) => delay,
            _ => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obedient_doors_follow_the_actions_and_repeat_safely() {
        let mut doors = Doors::default();
        assert_eq!(doors.state(), DoorState::Locked);
        assert_eq!(doors.execute(Action::Unlock), Ok(()));
        assert_eq!(doors.state(), DoorState::Unlocked);
        assert_eq!(doors.execute(Action::Unlock), Ok(()));
        assert_eq!(doors.execute(Action::Lock), Ok(()));
        assert_eq!(doors.state(), DoorState::Locked);
    }

    #[test]
    fn fail_next_fails_once_and_leaves_the_doors_alone() {
        let mut doors = Doors::default();
        doors.fail_next("door ajar");
        assert_eq!(doors.execute(Action::Unlock), Err("door ajar".into()));
        assert_eq!(doors.state(), DoorState::Locked);
        assert_eq!(doors.execute(Action::Unlock), Ok(()));
        assert_eq!(doors.state(), DoorState::Unlocked);
    }

    #[test]
    fn refusing_doors_never_move() {
        let mut doors = Doors::default();
        doors.set_behaviour(Behaviour::Refuse("battery low".into()));
        assert_eq!(doors.execute(Action::Unlock), Err("battery low".into()));
        assert_eq!(doors.state(), DoorState::Locked);
    }

    #[test]
    fn only_delay_ack_delays() {
        let mut doors = Doors::default();
        assert_eq!(doors.ack_delay(), Duration::ZERO);
        doors.set_behaviour(Behaviour::DelayAck(Duration::from_millis(300)));
        assert_eq!(doors.ack_delay(), Duration::from_millis(300));
        assert_eq!(doors.execute(Action::Unlock), Ok(()));
    }
}
