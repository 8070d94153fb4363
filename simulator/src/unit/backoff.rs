//! Exponential backoff with jitter between attempts to reach the server.
//!
//! After a server restart every car of the fleet reconnects at once; without jitter they would
//! keep retrying in lockstep and hit the server in waves. Each wait is drawn between half and
//! all of the current step, so no unit retries instantly and the fleet spreads out.

use std::time::Duration;

use rand::Rng;

/// The waits between attempts: `initial`, doubling up to `max`, each with jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    step: Duration,
}

impl Backoff {
    /// A backoff starting at `initial` and never exceeding `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let max = max.max(initial);
        Backoff {
            initial,
            max,
            step: initial,
        }
    }

    /// The wait before the next attempt; the following one will be (about) twice as long.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.step;
        self.step = step.saturating_mul(2).min(self.max);
        let half = step / 2;
        let jitter = rand::rng().random_range(Duration::ZERO..=step - half);
        half + jitter
    }

    /// Back to the first step, after a success.
    pub fn reset(&mut self) {
        self.step = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_with_jitter_within_the_step() {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let steps = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
        for step in steps {
            let delay = backoff.next_delay();
            let step = Duration::from_millis(step);
            assert!(
                delay >= step / 2 && delay <= step,
                "{delay:?} outside {step:?}"
            );
        }
    }

    #[test]
    fn reset_starts_over() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        for _ in 0..5 {
            backoff.next_delay();
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn jitter_spreads_the_waits() {
        let mut first_waits = std::collections::HashSet::new();
        for _ in 0..50 {
            first_waits
                .insert(Backoff::new(Duration::from_secs(1), Duration::from_secs(1)).next_delay());
        }
        assert!(first_waits.len() > 1);
    }
}
