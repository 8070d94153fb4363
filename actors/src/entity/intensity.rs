//! The restart intensity limit, as in Erlang/OTP supervisors: at most `max_restarts` restarts
//! of one entity within `window`. Past that the entity stays down for the rest of the window
//! rather than crash-looping on a bad record or a bug.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartIntensity {
    /// Restarts allowed within the window.
    pub max_restarts: usize,
    /// The sliding window.
    pub window: Duration,
}

impl Default for RestartIntensity {
    fn default() -> Self {
        RestartIntensity {
            max_restarts: 3,
            window: Duration::from_secs(10),
        }
    }
}

impl RestartIntensity {
    /// Records a failure at `now` in `history` and tells whether a restart is allowed.
    pub fn allow(&self, history: &mut VecDeque<Instant>, now: Instant) -> bool {
        while let Some(&oldest) = history.front() {
            if now.duration_since(oldest) >= self.window {
                history.pop_front();
            } else {
                break;
            }
        }
        if history.len() >= self.max_restarts {
            return false;
        }
        history.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_up_to_the_limit_within_the_window_then_again_after_it() {
        let limit = RestartIntensity {
            max_restarts: 2,
            window: Duration::from_secs(10),
        };
        let start = Instant::now();
        let mut history = VecDeque::new();
        assert!(limit.allow(&mut history, start));
        assert!(limit.allow(&mut history, start + Duration::from_secs(1)));
        assert!(!limit.allow(&mut history, start + Duration::from_secs(2)));
        assert!(!limit.allow(&mut history, start + Duration::from_secs(9)));
        // The first failure has left the window.
        assert!(limit.allow(&mut history, start + Duration::from_secs(10)));
    }
}
