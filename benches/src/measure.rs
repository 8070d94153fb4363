//! How an HTTP load benchmark is timed by criterion, and how its tail latency is reported.
//!
//! criterion decides how many requests a sample takes; a [`LoadGroup`] sends that many over a
//! driver's connections at once and reports the wall time, so criterion's throughput is the
//! rate of all connections together, not of one request after another. criterion prints no
//! percentiles, so each benchmark's tally prints them when the group finishes, and fails the
//! run if any request failed.

use std::sync::Arc;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use tokio::runtime::Runtime;

use crate::driver::{Driver, Workload};
use crate::latency::Tally;

/// A criterion group of load benchmarks sharing one runtime.
pub struct LoadGroup<'a> {
    group: BenchmarkGroup<'a, WallTime>,
    name: String,
    runtime: &'a Runtime,
    tallies: Vec<Tally>,
}

impl<'a> LoadGroup<'a> {
    /// A group with few samples and a short measurement: every load benchmark file finishes in
    /// a few minutes, and at thousands of requests a second, ten samples over ten seconds
    /// already give a tight interval.
    pub fn new(criterion: &'a mut Criterion, name: &str, runtime: &'a Runtime) -> Self {
        let mut group = criterion.benchmark_group(name);
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(2));
        group.measurement_time(Duration::from_secs(10));
        LoadGroup {
            group,
            name: name.to_owned(),
            runtime,
            tallies: Vec::new(),
        }
    }

    /// Each request carries `units` units of work (fixes, reservations) from now on; the
    /// throughput is reported in units per second.
    pub fn units_per_request(&mut self, units: u64) -> &mut Self {
        self.group.throughput(Throughput::Elements(units));
        self
    }

    /// Benchmarks `workload` sent through `driver` as `id`; every request must have
    /// `units` units of work confirmed by the server.
    pub fn bench<W: Workload>(&mut self, id: &str, driver: &Driver, workload: W, units: u64) {
        self.units_per_request(units);
        let tally = Tally::new(format!("{}/{id}", self.name), units);
        let workload = Arc::new(workload);
        let runtime = self.runtime;
        runtime.block_on(driver.warm_up(&workload, &tally));
        self.group.bench_function(id, |bencher| {
            bencher
                .iter_custom(|requests| runtime.block_on(driver.run(&workload, requests, &tally)))
        });
        self.tallies.push(tally);
    }

    /// Benchmarks a routine that is not an HTTP load (a part of the path, to show where the
    /// time goes): `routine(n)` does `n` requests' worth of work of `units` units each and
    /// returns the wall time it took.
    pub fn bench_custom(&mut self, id: &str, units: u64, mut routine: impl FnMut(u64) -> Duration) {
        self.units_per_request(units);
        self.group
            .bench_function(id, |bencher| bencher.iter_custom(&mut routine));
    }

    /// Ends the group, prints every benchmark's latency percentiles, and panics if any request
    /// failed or was not fully confirmed.
    pub fn finish(self) {
        self.group.finish();
        for tally in &self.tallies {
            tally.finish();
        }
    }
}
