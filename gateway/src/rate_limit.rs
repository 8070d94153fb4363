//! Keyed rate limits (per e-mail, per client IP, per car unit): a token bucket per key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Beyond this many keys, idle full buckets are dropped before adding another.
const SWEEP_ABOVE: usize = 50_000;

/// A token bucket per key: `per_minute` requests a minute, with bursts up to `per_minute`.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests a minute per key.
    pub fn per_minute(per_minute: u32) -> Self {
        RateLimiter {
            per_minute: per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request for `key` at `now`; `Err(wait)` when the key must wait.
    pub fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(self.per_minute);
        let refill_per_second = capacity / 60.0;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|_, bucket| {
                bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * refill_per_second
                    < capacity
            });
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * refill_per_second).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / refill_per_second,
            ))
        }
    }

    /// [`RateLimiter::check_at`] now.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_one_request_per_interval_per_key() {
        let limiter = RateLimiter::per_minute(5);
        let start = Instant::now();
        for _ in 0..5 {
            assert!(limiter.check_at("ana@example.com", start).is_ok());
        }
        let wait = limiter.check_at("ana@example.com", start).unwrap_err();
        assert!(
            wait > Duration::from_secs(11) && wait <= Duration::from_secs(12),
            "{wait:?}"
        );
        assert!(
            limiter.check_at("bruno@example.com", start).is_ok(),
            "keys are independent"
        );
        assert!(
            limiter
                .check_at("ana@example.com", start + Duration::from_secs(12))
                .is_ok()
        );
        assert!(
            limiter
                .check_at("ana@example.com", start + Duration::from_secs(13))
                .is_err()
        );
    }
}
