//! The real server for the HTTP benchmarks: the production router, layers, services and
//! stores, on a temporary data directory, with an admin account to register cars, and helpers
//! that register cars and customers over HTTP the way the app and the back office do.
//!
//! Only the limits that exist to stop abuse are raised (see [`bench_config`]); everything that
//! costs time on a request (authentication, the concurrency limit, tracing, metrics, durable
//! writes) stays as in production, so the figures are the production path.

use std::net::SocketAddr;
use std::sync::Arc;

use actors::locks::UnitLink;
use actors::{Config, RentalSystem};
use gateway::server::{RunningServer, ServerOptions};
use serde::Deserialize;
use serde_json::json;
use storage::FlushSnapshot;
use tempfile::TempDir;

use crate::driver::expect_json;
use crate::identity::{PASSWORD, customer_body, email, vehicle_body};
use crate::inbox::Inbox;
use crate::parallel::map_concurrent;

/// The admin account of every benchmark server.
pub const ADMIN_EMAIL: &str = "admin@example.com";
/// Its password.
pub const ADMIN_PASSWORD: &str = "bench-admin-2026";

/// Registrations in flight at once during set-up: enough for group commit to batch flushes,
/// few enough that password hashing does not starve the rest of the process.
const SET_UP_WIDTH: usize = 16;

/// The production defaults, on a temporary directory and a free port, with the abuse limits
/// raised: 64 units posting as fast as they can would otherwise get 429 from the per-unit
/// limit (60 a minute), and hundreds of logins from 127.0.0.1 would hit the per-address one.
pub fn bench_config(data_dir: &std::path::Path) -> Config {
    let mut config = Config::default();
    config.server.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    config.storage.data_dir = data_dir.to_owned();
    config.auth.admin_email = ADMIN_EMAIL.into();
    config.auth.admin_password = ADMIN_PASSWORD.into();
    config.server.device_requests_per_min = 100_000_000;
    config.server.login_per_ip_per_min = 1_000_000;
    config.server.login_per_email_per_min = 1_000_000;
    config.server.register_per_ip_per_min = 1_000_000;
    config
}

/// A running server, its data directory and an admin's access token.
pub struct BenchServer {
    /// Where it listens.
    pub address: SocketAddr,
    /// An admin's access token (registers cars).
    pub admin_token: String,
    server: RunningServer,
    client: reqwest::Client,
    /// The confirmation codes e-mailed to the riders.
    inbox: Arc<Inbox>,
    _data_dir: TempDir,
}

/// A registered car: its id and its unit's device token.
#[derive(Debug, Clone)]
pub struct Car {
    /// The vehicle id.
    pub id: String,
    /// The bearer credential of its unit.
    pub device_token: String,
}

/// A registered customer: id and access token.
#[derive(Debug, Clone)]
pub struct Rider {
    /// The customer id.
    pub id: String,
    /// A bearer access token.
    pub access_token: String,
}

#[derive(Deserialize)]
struct Created {
    id: String,
    #[serde(default)]
    device_token: Option<String>,
}

#[derive(Deserialize)]
struct Tokens {
    access_token: String,
}

impl BenchServer {
    /// Starts the server with [`bench_config`] changed by `adjust`, and logs the admin in.
    pub async fn start(adjust: impl FnOnce(&mut Config)) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = bench_config(data_dir.path());
        adjust(&mut config);
        let options = ServerOptions::for_config(&config, UnitLink::remote());
        let server = RunningServer::start(config, options)
            .await
            .expect("server starts");
        let address = server.address;
        let client = reqwest::Client::new();
        let admin_token = login(&client, address, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let inbox = Arc::new(Inbox::default());
        server.system().services().events.subscribe(inbox.clone());
        BenchServer {
            address,
            admin_token,
            server,
            client,
            inbox,
            _data_dir: data_dir,
        }
    }

    /// The actor system behind the server (entity counts).
    pub fn system(&self) -> &Arc<RentalSystem> {
        self.server.system()
    }

    /// Registers cars `first..first + count` through `POST /v1/vehicles` as the admin.
    pub async fn register_cars(&self, first: u32, count: usize) -> Vec<Car> {
        register_cars(&self.client, self.address, &self.admin_token, first, count).await
    }

    /// Registers customers `first..first + count` through `POST /v1/customers`, logs each in
    /// through `POST /v1/auth/token` and confirms their address with the code e-mailed
    /// (`POST /v1/customers/me/email-confirmation`).
    pub async fn register_riders(&self, first: u32, count: usize) -> Vec<Rider> {
        let (client, address) = (self.client.clone(), self.address);
        let (system, inbox) = (self.system().clone(), self.inbox.clone());
        map_concurrent(count, SET_UP_WIDTH, move |index| {
            let (client, system, inbox) = (client.clone(), system.clone(), inbox.clone());
            let n = first + index as u32;
            async move {
                let (id, access_token) = sign_up(&client, address, n).await;
                system
                    .services()
                    .events
                    .relay_now()
                    .await
                    .expect("events relayed");
                if let Some(code) = inbox.take(&id) {
                    let request = client
                        .post(format!(
                            "http://{address}/v1/customers/me/email-confirmation"
                        ))
                        .bearer_auth(&access_token)
                        .json(&json!({ "code": code }));
                    let _: Created = expect_json(request, 200).await.expect("address confirmed");
                }
                Rider { id, access_token }
            }
        })
        .await
    }

    /// Every store's flush counters now; [`print_flushes`] compares two of these.
    pub fn flushes(&self) -> Vec<(String, FlushSnapshot)> {
        self.system()
            .stores()
            .all()
            .iter()
            .map(|store| (store.name().to_owned(), store.flush_stats()))
            .collect()
    }

    /// Stops the server the way SIGTERM does (drain, stop the actors, flush the stores).
    pub async fn stop(self) {
        self.server.stop().await.expect("clean stop");
    }
}

/// Prints, per store that flushed between `before` and `after`, how many flushes ran, how many
/// writes they covered and how long they took: durable requests wait for these flushes, so
/// they are the floor of a durable request's latency.
pub fn print_flushes(before: &[(String, FlushSnapshot)], after: &[(String, FlushSnapshot)]) {
    for ((name, old), (_, new)) in before.iter().zip(after) {
        let flushes = new.flushes - old.flushes;
        if flushes == 0 {
            continue;
        }
        let micros = new.total_micros - old.total_micros;
        let writes = new.writes - old.writes;
        println!(
            "store {name}: {flushes} flushes, {writes} writes ({:.1} a flush), mean flush \
             {:.2} ms, longest so far {:.2} ms",
            writes as f64 / flushes as f64,
            micros as f64 / flushes as f64 / 1000.0,
            new.max_micros as f64 / 1000.0
        );
    }
}

/// Registers cars `first..first + count` on the server at `address` through
/// `POST /v1/vehicles` with the admin's `token`.
pub async fn register_cars(
    client: &reqwest::Client,
    address: SocketAddr,
    token: &str,
    first: u32,
    count: usize,
) -> Vec<Car> {
    let (client, token) = (client.clone(), token.to_owned());
    map_concurrent(count, SET_UP_WIDTH, move |index| {
        let request = client
            .post(format!("http://{address}/v1/vehicles"))
            .bearer_auth(&token)
            .json(&vehicle_body(first + index as u32));
        async move {
            let created: Created = expect_json(request, 201).await.expect("car registered");
            Car {
                id: created.id,
                device_token: created.device_token.expect("device token"),
            }
        }
    })
    .await
}

/// Registers customers `first..first + count` on a server that does not ask new customers to
/// confirm their address, and logs each in.
pub async fn register_unconfirmed_riders(
    client: &reqwest::Client,
    address: SocketAddr,
    first: u32,
    count: usize,
) -> Vec<Rider> {
    let client = client.clone();
    map_concurrent(count, SET_UP_WIDTH, move |index| {
        let client = client.clone();
        async move {
            let (id, access_token) = sign_up(&client, address, first + index as u32).await;
            Rider { id, access_token }
        }
    })
    .await
}

/// Registers customer `n` through `POST /v1/customers` and logs them in: their id and token.
async fn sign_up(client: &reqwest::Client, address: SocketAddr, n: u32) -> (String, String) {
    let request = client
        .post(format!("http://{address}/v1/customers"))
        .json(&customer_body(n));
    let created: Created = expect_json(request, 201)
        .await
        .expect("customer registered");
    let access_token = login(client, address, &email(n), PASSWORD).await;
    (created.id, access_token)
}

/// Logs in through `POST /v1/auth/token`; the access token.
pub async fn login(
    client: &reqwest::Client,
    address: SocketAddr,
    email: &str,
    password: &str,
) -> String {
    let request = client
        .post(format!("http://{address}/v1/auth/token"))
        .json(&json!({"email": email, "password": password}));
    let tokens: Tokens = expect_json(request, 200).await.expect("login");
    tokens.access_token
}
