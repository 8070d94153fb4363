//! When a failed message is tried again: exponential backoff with "equal jitter".
//!
//! The wait after the n-th failure is drawn from `[c/2, c]` where `c = min(cap, base·2ⁿ⁻¹)`.
//! Half of it is fixed so that a relay that is down is not hammered (full jitter may retry at
//! once and spend the attempt budget in seconds); the other half is random so that messages
//! that failed together (a relay outage) do not all come back in the same second. The random
//! part is an argument, so the schedule is a pure function that tests drive with fixed values.

use chrono::TimeDelta;

use crate::config::NotifyConfig;

/// A source of uniform numbers in `[0, 1)`: `rand` in production, a seeded or fixed one in tests.
pub type Jitter = std::sync::Arc<dyn Fn() -> f64 + Send + Sync>;

/// The jitter of production: the thread's random generator.
pub fn random_jitter() -> Jitter {
    std::sync::Arc::new(rand::random::<f64>)
}

/// The retry rules of every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    /// Attempts before a message is given up.
    pub max_attempts: u32,
    /// The ceiling of the wait after the first failure.
    pub base: TimeDelta,
    /// The largest ceiling.
    pub cap: TimeDelta,
}

impl RetrySchedule {
    /// The schedule `notify.*` configures.
    pub fn from_config(config: &NotifyConfig) -> Self {
        let seconds = |s: u64| TimeDelta::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1_000));
        RetrySchedule {
            max_attempts: config.max_attempts,
            base: seconds(config.backoff_base_s),
            cap: seconds(config.backoff_cap_s),
        }
    }

    /// The longest wait after `failures` failures (at least 1): `min(cap, base·2^(failures-1))`.
    pub fn ceiling(&self, failures: u32) -> TimeDelta {
        let base = self.base.num_milliseconds().max(0);
        let cap = self.cap.num_milliseconds().max(0);
        let doublings = failures.saturating_sub(1);
        let factor = 1i64.checked_shl(doublings).filter(|factor| *factor > 0);
        let grown = factor.map_or(cap, |factor| base.saturating_mul(factor));
        TimeDelta::milliseconds(grown.min(cap))
    }

    /// The wait after `failures` failures, for a uniform `unit` in `[0, 1)` (clamped).
    pub fn delay(&self, failures: u32, unit: f64) -> TimeDelta {
        let ceiling = self.ceiling(failures).num_milliseconds();
        let half = ceiling / 2;
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let random = ((ceiling - half) as f64 * unit).round() as i64;
        TimeDelta::milliseconds(half + random)
    }

    /// Whether a message that has been attempted `attempts` times is given up.
    pub fn exhausted(&self, attempts: u32) -> bool {
        attempts >= self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn schedule() -> RetrySchedule {
        RetrySchedule {
            max_attempts: 8,
            base: TimeDelta::seconds(30),
            cap: TimeDelta::hours(1),
        }
    }

    #[test]
    fn the_ceiling_doubles_from_the_base_up_to_the_cap() {
        let schedule = schedule();
        let ceilings: Vec<i64> = (1..=9)
            .map(|failures| schedule.ceiling(failures).num_seconds())
            .collect();
        assert_eq!(ceilings, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(schedule.ceiling(0), TimeDelta::seconds(30), "as after one");
        assert_eq!(schedule.ceiling(64), TimeDelta::hours(1), "no overflow");
        assert_eq!(schedule.ceiling(u32::MAX), TimeDelta::hours(1));
    }

    #[test]
    fn the_delay_is_between_half_the_ceiling_and_the_ceiling() {
        let schedule = schedule();
        assert_eq!(schedule.delay(1, 0.0), TimeDelta::seconds(15));
        assert_eq!(schedule.delay(1, 1.0), TimeDelta::seconds(30));
        assert_eq!(schedule.delay(2, 0.5), TimeDelta::seconds(45));
        assert_eq!(schedule.delay(1, -3.0), TimeDelta::seconds(15), "clamped");
        assert_eq!(schedule.delay(1, f64::NAN), TimeDelta::seconds(15));
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for failures in 1..=12 {
            let ceiling = schedule.ceiling(failures);
            for _ in 0..200 {
                let delay = schedule.delay(failures, rng.random::<f64>());
                assert!(
                    delay >= ceiling / 2 && delay <= ceiling,
                    "{failures}: {delay}"
                );
            }
        }
    }

    #[test]
    fn seeded_jitter_gives_the_same_schedule_and_spreads_a_burst() {
        let schedule = schedule();
        let draw = |seed| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            (1..=8)
                .map(|failures| schedule.delay(failures, rng.random::<f64>()))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn a_message_is_given_up_after_max_attempts() {
        let schedule = schedule();
        assert!(!schedule.exhausted(7));
        assert!(schedule.exhausted(8));
        let from_config = RetrySchedule::from_config(&NotifyConfig::default());
        assert_eq!(from_config, schedule);
    }
}
