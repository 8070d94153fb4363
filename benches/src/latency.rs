//! What the load benchmarks record besides time: every request's latency, how much work the
//! server confirmed, and every failure.
//!
//! criterion reports a mean time per iteration, not the tail, and a latency target is about the
//! tail, so each request's latency goes into an HDR histogram. Failures are counted rather than
//! unwrapped inside the measured loop: a panic in a spawned task would only be seen at the
//! join, and an error silently dropped would let a broken server report a flattering figure.
//! [`Tally::finish`] fails loudly instead, after the figures are printed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;

/// Longest latency the histograms can hold; a slower request is clamped to it (and would show
/// as the maximum, which is what matters at that point).
const MAX_LATENCY_US: u64 = 60_000_000;

/// A fresh histogram of microseconds with three significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("histogram bounds")
}

/// Records one latency into `histogram`.
pub fn record(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.clamp(1, MAX_LATENCY_US));
}

/// The latencies, confirmed work and failures of one benchmark, merged from every connection.
pub struct Tally {
    name: String,
    /// Units of work each successful request must have had confirmed (fixes, reservations).
    units_per_request: u64,
    histogram: Mutex<Histogram<u64>>,
    requests: AtomicU64,
    confirmed: AtomicU64,
    failures: AtomicU64,
    first_failure: Mutex<Option<String>>,
    /// Wall time, process CPU time and machine CPU time of the timed runs.
    busy: Mutex<(Duration, Duration, Duration)>,
}

/// What one connection measured during one run.
pub struct Share {
    /// Latency of each request it sent.
    pub histogram: Histogram<u64>,
    /// Requests sent.
    pub requests: u64,
    /// Units of work the server confirmed.
    pub confirmed: u64,
    /// Requests that failed, and the reason of the first.
    pub failures: u64,
    /// Why the first failed request failed.
    pub first_failure: Option<String>,
}

impl Share {
    /// An empty share.
    pub fn new() -> Self {
        Share {
            histogram: new_histogram(),
            requests: 0,
            confirmed: 0,
            failures: 0,
            first_failure: None,
        }
    }
}

impl Default for Share {
    fn default() -> Self {
        Share::new()
    }
}

impl Tally {
    /// An empty tally for benchmark `name`, where every request carries `units_per_request`
    /// units of work.
    pub fn new(name: impl Into<String>, units_per_request: u64) -> Self {
        Tally {
            name: name.into(),
            units_per_request,
            histogram: Mutex::new(new_histogram()),
            requests: AtomicU64::new(0),
            confirmed: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            first_failure: Mutex::new(None),
            busy: Mutex::new((Duration::ZERO, Duration::ZERO, Duration::ZERO)),
        }
    }

    /// Adds a timed run of `wall` time during which the process used `cpu` CPU time and the
    /// whole machine `machine`.
    pub fn add_busy(&self, wall: Duration, cpu: Duration, machine: Duration) {
        let mut busy = self.busy.lock().expect("busy lock");
        busy.0 += wall;
        busy.1 += cpu;
        busy.2 += machine;
    }

    /// Units of work each request carries.
    pub fn units_per_request(&self) -> u64 {
        self.units_per_request
    }

    /// Adds what one connection measured.
    pub fn merge(&self, share: Share) {
        self.histogram
            .lock()
            .expect("histogram lock")
            .add(&share.histogram)
            .expect("histograms with the same bounds");
        self.requests.fetch_add(share.requests, Ordering::Relaxed);
        self.confirmed.fetch_add(share.confirmed, Ordering::Relaxed);
        self.failures.fetch_add(share.failures, Ordering::Relaxed);
        if let Some(reason) = share.first_failure {
            self.first_failure
                .lock()
                .expect("failure lock")
                .get_or_insert(reason);
        }
    }

    /// Forgets the latencies and busy time recorded so far (the connection warm-up) but keeps
    /// the counts, so the final check still covers every request.
    pub fn reset_latencies(&self) {
        self.histogram.lock().expect("histogram lock").reset();
        *self.busy.lock().expect("busy lock") = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    }

    /// Prints the latency percentiles, then panics if any request failed or if the server
    /// confirmed less work than was sent.
    pub fn finish(&self) {
        let histogram = self.histogram.lock().expect("histogram lock");
        let ms = |quantile: f64| histogram.value_at_quantile(quantile) as f64 / 1000.0;
        let requests = self.requests.load(Ordering::Relaxed);
        let confirmed = self.confirmed.load(Ordering::Relaxed);
        let failures = self.failures.load(Ordering::Relaxed);
        let (wall, cpu, machine) = *self.busy.lock().expect("busy lock");
        let wall = wall.as_secs_f64().max(1e-9);
        let cores = cpu.as_secs_f64() / wall;
        let others = (machine.saturating_sub(cpu)).as_secs_f64() / wall;
        println!(
            "{name}: {timed} timed requests ({requests} in all, {confirmed} units confirmed, \
             {failures} failed); latency p50 {p50:.2} ms, p95 {p95:.2} ms, p99 {p99:.2} ms, \
             p99.9 {p999:.2} ms, max {max:.2} ms; cores busy: {cores:.2} this process, {others:.2} other processes",
            name = self.name,
            timed = histogram.len(),
            p50 = ms(0.50),
            p95 = ms(0.95),
            p99 = ms(0.99),
            p999 = ms(0.999),
            max = histogram.max() as f64 / 1000.0,
        );
        if failures > 0 {
            let reason = self.first_failure.lock().expect("failure lock").clone();
            panic!(
                "{}: {failures} of {requests} requests failed; the first: {}",
                self.name,
                reason.unwrap_or_default()
            );
        }
        let expected = requests * self.units_per_request;
        assert_eq!(
            confirmed, expected,
            "{}: the server confirmed {confirmed} units of the {expected} sent",
            self.name
        );
    }
}
