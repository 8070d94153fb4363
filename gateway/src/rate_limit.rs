//! Keyed rate limits (per e-mail, per client IP, per car unit) on `governor`.
//!
//! Each key's state is one GCRA timestamp in a sharded concurrent map: a check is a lookup and
//! a compare-and-swap, with no global lock and no scan. Memory stays bounded by
//! [`RateLimiter::forget_idle`], which the server runs on a timer (not on the request path):
//! a key whose bucket has refilled is indistinguishable from one never seen, so dropping it
//! changes no answer.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter as Governor};

/// How often idle keys are forgotten.
pub const FORGET_IDLE_EVERY: Duration = Duration::from_secs(60);

/// `per_minute` requests a minute per key, in bursts of up to `per_minute`.
pub struct RateLimiter<C: Clock = DefaultClock> {
    inner: Governor<String, DashMapStateStore<String>, C, NoOpMiddleware<C::Instant>>,
    clock: C,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests a minute per key (at least one).
    pub fn per_minute(per_minute: u32) -> Self {
        RateLimiter::with_clock(per_minute, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateLimiter<C> {
    /// As [`RateLimiter::per_minute`], on `clock` (tests drive a fake one).
    pub fn with_clock(per_minute: u32, clock: C) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let inner = Governor::dashmap_with_clock(Quota::per_minute(per_minute), clock.clone());
        RateLimiter { inner, clock }
    }

    /// Takes one request for `key`; `Err(wait)` when the key must wait that long first.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.inner
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Drops the keys whose buckets are full again, and gives their memory back.
    pub fn forget_idle(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }

    /// How many keys are remembered.
    pub fn keys(&self) -> usize {
        self.inner.len()
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    #[test]
    fn allows_a_burst_then_one_request_per_interval_per_key() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(5, clock.clone());
        for _ in 0..5 {
            assert!(limiter.check("ana@example.com").is_ok());
        }
        let wait = limiter.check("ana@example.com").unwrap_err();
        assert!(
            wait > Duration::from_secs(11) && wait <= Duration::from_secs(12),
            "{wait:?}"
        );
        assert!(
            limiter.check("bruno@example.com").is_ok(),
            "keys are independent"
        );
        clock.advance(Duration::from_secs(12));
        assert!(limiter.check("ana@example.com").is_ok());
        clock.advance(Duration::from_secs(1));
        assert!(limiter.check("ana@example.com").is_err());
    }

    #[test]
    fn idle_keys_are_forgotten_and_busy_ones_kept() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(60, clock.clone());
        for key in 0..1000 {
            assert!(
                limiter
                    .check(&format!("10.0.{}.{}", key / 256, key % 256))
                    .is_ok()
            );
        }
        for _ in 0..60 {
            let _ = limiter.check("busy");
        }
        assert_eq!(limiter.keys(), 1001);
        // One request a second refills a single-request key within a second; the busy key
        // needs a minute.
        clock.advance(Duration::from_secs(2));
        limiter.forget_idle();
        assert_eq!(limiter.keys(), 1);
        assert!(limiter.check("busy").is_ok(), "refilled by two tokens");
        assert!(limiter.check("busy").is_ok());
        assert!(
            limiter.check("busy").is_err(),
            "but the rest of its state kept"
        );
    }
}
