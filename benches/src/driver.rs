//! The load generator shared by every HTTP benchmark: a fixed number of connections, each a
//! task sending one request at a time on its own keep-alive connection.
//!
//! The baseline and the measured servers are driven by this same code, so the client's cost
//! (it runs on the same two cores as the server) is the same on both sides of a ratio. Each
//! connection is its own `reqwest::Client` keeping at most one idle connection: a client shared
//! by all tasks would open and close connections as its pool rebalanced, and that churn would
//! be measured as server time.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::latency::{Share, Tally, record};
use crate::process::{cpu_time, machine_busy_time};

/// Concurrent connections of every HTTP benchmark: the brief of the load tests (64 units or
/// customers at once), and enough to keep both cores busy while each waits for its answer.
pub const CONNECTIONS: usize = 64;

/// One request shape sent by the driver.
pub trait Workload: Send + Sync + 'static {
    /// Sends request number `seq` of `connection` (numbers go up by one per connection, across
    /// runs) and checks the answer: `Ok(units of work the server confirmed)` or `Err(why not)`.
    fn send(
        &self,
        connection: &Connection,
        seq: u64,
    ) -> impl Future<Output = Result<u64, String>> + Send;
}

/// One keep-alive connection to the server under test.
#[derive(Clone)]
pub struct Connection {
    /// Which connection of the driver this is, from 0.
    pub index: usize,
    /// Its client (one connection, reused).
    pub client: reqwest::Client,
    base: Arc<str>,
    sent: Arc<AtomicU64>,
}

impl Connection {
    /// The absolute URL of `path` on the server under test.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// [`CONNECTIONS`] connections to one server.
pub struct Driver {
    connections: Vec<Connection>,
}

impl Driver {
    /// Connections to the server at `address` (they connect on their first request).
    pub fn new(address: SocketAddr, connections: usize) -> Self {
        let base: Arc<str> = format!("http://{address}").into();
        let connections = (0..connections)
            .map(|index| Connection {
                index,
                client: reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .tcp_nodelay(true)
                    .build()
                    .expect("http client"),
                base: base.clone(),
                sent: Arc::new(AtomicU64::new(0)),
            })
            .collect();
        Driver { connections }
    }

    /// Sends one request on every connection, so that connecting is not timed, then forgets
    /// those latencies (their outcome still counts in the tally's final check).
    pub async fn warm_up<W: Workload>(&self, workload: &Arc<W>, tally: &Tally) {
        self.run(workload, self.connections.len() as u64, tally)
            .await;
        tally.reset_latencies();
    }

    /// Sends `requests` requests spread evenly over the connections, all at once, and returns
    /// the wall time until the last answer.
    pub async fn run<W: Workload>(
        &self,
        workload: &Arc<W>,
        requests: u64,
        tally: &Tally,
    ) -> Duration {
        let count = self.connections.len() as u64;
        let (cpu_before, machine_before) = (cpu_time(), machine_busy_time());
        let began = Instant::now();
        let tasks: Vec<_> = self
            .connections
            .iter()
            .enumerate()
            .filter_map(|(index, connection)| {
                let share = requests / count + u64::from((index as u64) < requests % count);
                (share > 0).then(|| {
                    let (connection, workload) = (connection.clone(), workload.clone());
                    tokio::spawn(async move { send_share(&connection, &*workload, share).await })
                })
            })
            .collect();
        let mut shares = Vec::with_capacity(tasks.len());
        for task in tasks {
            shares.push(task.await.expect("connection task"));
        }
        let elapsed = began.elapsed();
        let cpu = cpu_time().saturating_sub(cpu_before);
        tally.add_busy(
            elapsed,
            cpu,
            machine_busy_time().saturating_sub(machine_before),
        );
        for share in shares {
            tally.merge(share);
        }
        elapsed
    }
}

async fn send_share<W: Workload>(connection: &Connection, workload: &W, requests: u64) -> Share {
    let mut share = Share::new();
    for _ in 0..requests {
        let seq = connection.sent.fetch_add(1, Ordering::Relaxed);
        let began = Instant::now();
        let outcome = workload.send(connection, seq).await;
        record(&mut share.histogram, began.elapsed());
        share.requests += 1;
        match outcome {
            Ok(units) => share.confirmed += units,
            Err(reason) => {
                share.failures += 1;
                share.first_failure.get_or_insert(reason);
            }
        }
    }
    share
}

/// Sends `request` and reads the whole answer: its JSON body when the status is `expected`,
/// otherwise the status and body as the reason of a failure.
pub async fn expect_json<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
    expected: u16,
) -> Result<T, String> {
    let response = request.send().await.map_err(|error| error.to_string())?;
    let status = response.status();
    let body = response.bytes().await.map_err(|error| error.to_string())?;
    if status.as_u16() != expected {
        return Err(format!(
            "expected {expected}, got {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    serde_json::from_slice(&body).map_err(|error| format!("unreadable answer: {error}"))
}
