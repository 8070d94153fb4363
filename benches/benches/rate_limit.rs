//! The per-key rate limit every car unit's request passes: `governor` (the gateway's limiter)
//! beside the mutex-and-sweep limiter it replaced, which is kept here as the baseline. With a
//! fleet above 50,000 cars the old one swept its whole map under its lock on every request.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gateway::rate_limit::RateLimiter;

/// The replaced limiter: one token bucket per key in a map behind one mutex, swept of idle
/// full buckets before adding a key once it held more than 50,000.
struct SweepingLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl SweepingLimiter {
    fn new(per_minute: u32) -> Self {
        SweepingLimiter {
            per_minute: f64::from(per_minute),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn check(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let refill = self.per_minute / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 50_000 {
            let capacity = self.per_minute;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * refill < capacity
            });
        }
        let (tokens, at) = buckets
            .entry(key.to_owned())
            .or_insert((self.per_minute, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * refill)
            .min(self.per_minute);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / refill))
        }
    }
}

fn checks(c: &mut Criterion) {
    let mut group = c.benchmark_group("rate_limit");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    for cars in [1_000usize, 100_000] {
        let keys: Vec<String> = (0..cars).map(|n| format!("car-{n:08}")).collect();
        // 60 a minute, as `server.device_requests_per_min`: every car has used one request.
        let governor = RateLimiter::per_minute(60);
        let sweeping = SweepingLimiter::new(60);
        for key in &keys {
            let _ = governor.check(key);
            let _ = sweeping.check(key);
        }
        let mut next = 0;
        group.bench_function(format!("governor/{cars}_cars"), |b| {
            b.iter(|| {
                next = (next + 1) % keys.len();
                black_box(governor.check(&keys[next]))
            })
        });
        // The baseline's sweep runs on every request above 50,000 keys: fewer samples.
        if cars > 50_000 {
            group.sample_size(10);
        }
        group.bench_function(format!("mutex_and_sweep/{cars}_cars"), |b| {
            b.iter(|| {
                next = (next + 1) % keys.len();
                black_box(sweeping.check(&keys[next]))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, checks);
criterion_main!(benches);
