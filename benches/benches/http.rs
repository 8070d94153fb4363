//! Position ingest over HTTP: 64 car units, each on its own keep-alive connection, posting to
//! `POST /v1/units/{vehicle_id}/positions` of the real server (router, layers, device
//! authentication, rate limit, location service, store), beside a bare axum server answering
//! the same requests with no state, driven by the same client code in the same run.
//!
//! Two shapes of traffic: one fix per request (a moving car's report) and batches of 50 (a
//! unit emptying its buffer after a gap in coverage). Every answer must be 202 with every fix
//! accepted; anything else fails the run after the figures are printed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actors::ids::VehicleId;
use actors::location::LocationHandle;

use benches::bare;
use benches::driver::{CONNECTIONS, Connection, Driver, Workload, expect_json};
use benches::fixes::{CENTRO, FixSource};
use benches::measure::LoadGroup;
use benches::runtime;
use benches::server::{BenchServer, Car, print_flushes};
use criterion::{Criterion, criterion_group, criterion_main};
use serde::Deserialize;

/// Consoles following the event stream in the stream benchmark.
const SUBSCRIBERS: usize = 20;

/// Fixes per request of the batch benchmarks.
const BATCH: u64 = 50;

/// One unit per connection, each posting `per_request` fixes per request.
struct Ingest {
    /// `(path, device token)` of the car behind each connection.
    units: Vec<(String, String)>,
    fixes: Arc<FixSource>,
    per_request: u64,
}

#[derive(Deserialize)]
struct IngestAnswer {
    accepted: u64,
    duplicates: u64,
    flagged: u64,
}

impl Ingest {
    fn new(cars: &[Car], fixes: &Arc<FixSource>, per_request: u64) -> Self {
        let units = cars
            .iter()
            .map(|car| {
                let path = format!("/v1/units/{}/positions", car.id);
                (path, car.device_token.clone())
            })
            .collect();
        Ingest {
            units,
            fixes: fixes.clone(),
            per_request,
        }
    }
}

impl Workload for Ingest {
    async fn send(&self, connection: &Connection, _seq: u64) -> Result<u64, String> {
        let (path, token) = &self.units[connection.index];
        let first = self.fixes.take(self.per_request);
        let body = self.fixes.json_body(first, self.per_request, CENTRO);
        let request = connection
            .client
            .post(connection.url(path))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        let answer: IngestAnswer = expect_json(request, 202).await?;
        if answer.accepted != self.per_request || answer.duplicates != 0 || answer.flagged != 0 {
            return Err(format!(
                "{} accepted, {} duplicates, {} flagged of {} fixes",
                answer.accepted, answer.duplicates, answer.flagged, self.per_request
            ));
        }
        Ok(answer.accepted)
    }
}

/// The location service alone, on the real server's store and cars, without HTTP: what is
/// left of a batch request once the gateway and the client are taken away.
async fn in_process(
    location: &LocationHandle,
    cars: &[VehicleId],
    fixes: &Arc<FixSource>,
    requests: u64,
) -> Duration {
    let count = cars.len() as u64;
    let began = Instant::now();
    let tasks: Vec<_> = cars
        .iter()
        .enumerate()
        .map(|(index, &car)| {
            let (location, fixes) = (location.clone(), fixes.clone());
            let share = requests / count + u64::from((index as u64) < requests % count);
            tokio::spawn(async move {
                for _ in 0..share {
                    let first = fixes.take(BATCH);
                    let batch = (first..first + BATCH)
                        .map(|n| fixes.input(n, CENTRO))
                        .collect();
                    let report = location.record_positions(car, batch).await;
                    assert_eq!(report.expect("ingest").accepted, BATCH as u32);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("reporter");
    }
    began.elapsed()
}

/// Operators' consoles following `GET /v1/events`: each task reads its stream until aborted
/// and counts the events (`id:` lines) it received.
fn subscribe(
    rt: &tokio::runtime::Runtime,
    address: std::net::SocketAddr,
    token: &str,
    count: usize,
) -> Vec<(tokio::task::JoinHandle<()>, Arc<AtomicU64>)> {
    (0..count)
        .map(|_| {
            let received = Arc::new(AtomicU64::new(0));
            let (counter, token) = (received.clone(), token.to_owned());
            let task = rt.spawn(async move {
                let client = reqwest::Client::new();
                let mut response = client
                    .get(format!("http://{address}/v1/events"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("event stream");
                assert_eq!(response.status(), 200, "the event stream opens");
                let mut tail = Vec::new();
                while let Ok(Some(chunk)) = response.chunk().await {
                    tail.extend_from_slice(&chunk);
                    // Count whole lines only; keep a partial last line for the next chunk.
                    let end = tail
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |at| at + 1);
                    let events = tail[..end]
                        .split(|&b| b == b'\n')
                        .filter(|line| line.starts_with(b"id:"))
                        .count();
                    counter.fetch_add(events as u64, Ordering::Relaxed);
                    tail.drain(..end);
                }
            });
            (task, received)
        })
        .collect()
}

/// Cars that exist only for the bare server: ids and tokens of the real shape.
fn stand_in_cars() -> Vec<Car> {
    (0..CONNECTIONS)
        .map(|_| Car {
            id: uuid::Uuid::now_v7().to_string(),
            device_token: "d".repeat(43),
        })
        .collect()
}

fn http_ingest(criterion: &mut Criterion) {
    let rt = runtime();
    let bare_address = rt.block_on(bare::spawn());
    let server = rt.block_on(BenchServer::start(|_| {}));
    let cars = rt.block_on(server.register_cars(0, CONNECTIONS));
    let fixes = Arc::new(FixSource::new());
    let stand_ins = stand_in_cars();

    let bare = Driver::new(bare_address, CONNECTIONS);
    let mut group = LoadGroup::new(criterion, "http_baselines", &rt);
    group.bench("bare_axum", &bare, Ingest::new(&stand_ins, &fixes, 1), 1);
    let batch = Ingest::new(&stand_ins, &fixes, BATCH);
    group.bench("bare_axum_batch_50", &bare, batch, BATCH);
    let location = server.system().services().location.clone();
    let ids: Vec<VehicleId> = cars.iter().map(|car| car.id.parse().expect("id")).collect();
    group.bench_custom("location_in_process_batch_50", BATCH, |requests| {
        rt.block_on(in_process(&location, &ids, &fixes, requests))
    });
    group.finish();

    let real = Driver::new(server.address, CONNECTIONS);
    let mut group = LoadGroup::new(criterion, "http_ingest", &rt);
    let one = Ingest::new(&cars, &fixes, 1);
    group.bench("one_fix_per_request", &real, one, 1);
    let before = server.flushes();
    group.bench("batch_50", &real, Ingest::new(&cars, &fixes, BATCH), BATCH);
    group.finish();
    print_flushes(&before, &server.flushes());

    // The same traffic with no one following the event stream, then with twenty consoles
    // following it: what the stream costs the ingest path (`vehicle.moved` events, at most one
    // per car every `events.position_every_s` of fix time).
    let reports = server.system().services().reports.clone();
    let mut group = LoadGroup::new(criterion, "http_ingest_event_stream", &rt);
    let first_event = reports.last_sequence();
    group.bench(
        "one_fix_0_subscribers",
        &real,
        Ingest::new(&cars, &fixes, 1),
        1,
    );
    let subscribers = subscribe(&rt, server.address, &server.admin_token, SUBSCRIBERS);
    let quiet_events = reports.last_sequence() - first_event;
    let followed_from = reports.last_sequence();
    group.bench(
        "one_fix_20_subscribers",
        &real,
        Ingest::new(&cars, &fixes, 1),
        1,
    );
    group.finish();
    let followed_events = reports.last_sequence() - followed_from;
    // Let the streams catch up with the last events before counting what each received.
    rt.block_on(async { tokio::time::sleep(Duration::from_secs(2)).await });
    let received: Vec<u64> = subscribers
        .iter()
        .map(|(task, count)| {
            task.abort();
            count.load(Ordering::Relaxed)
        })
        .collect();
    println!(
        "event stream: {quiet_events} events appended with no subscriber, {followed_events} with \
         {SUBSCRIBERS}; each subscriber received {} to {} events",
        received.iter().min().unwrap_or(&0),
        received.iter().max().unwrap_or(&0),
    );

    let trackers = server.system().services().location.stats();
    println!("location trackers: {trackers:?}");
    rt.block_on(server.stop());
}

criterion_group!(benches, http_ingest);
criterion_main!(benches);
