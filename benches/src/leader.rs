//! A cluster-mode node in this process, leading alone on a real three-server NATS cluster
//! (`sync_interval: always`, three replicas): the same production router and services as
//! [`BenchServer`](crate::server::BenchServer), with every durable commit appended to the
//! replicated log and acknowledged only after JetStream acknowledged it.
//!
//! The NATS servers run on the same two cores as the node and the load generator, which a
//! real deployment would not do: the figures are a floor for the replicated path.

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use actors::Config;
use actors::locks::UnitLink;
use cluster::testing::NatsCluster;
use gateway::cluster::node::{self, NodeError};
use gateway::server::ServerOptions;
use serde::Deserialize;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::server::{ADMIN_EMAIL, ADMIN_PASSWORD, bench_config, login};

/// How long the node may take to win the lease and start serving.
const ELECTION_PATIENCE: Duration = Duration::from_secs(60);

/// The running leader, its data directory and an admin's access token.
pub struct LeaderNode {
    /// Where it listens.
    pub address: SocketAddr,
    /// An admin's access token (registers cars).
    pub admin_token: String,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), NodeError>>,
    _data_dir: TempDir,
}

#[derive(Deserialize)]
struct Status {
    role: String,
}

fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
}

impl LeaderNode {
    /// Starts a node of deployment `name` on `nats` with [`bench_config`] changed by `adjust`,
    /// waits until it leads, and logs the admin in.
    pub async fn start(nats: &NatsCluster, name: &str, adjust: impl FnOnce(&mut Config)) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = bench_config(data_dir.path());
        adjust(&mut config);
        let address = free_address();
        config.server.bind = address;
        config.cluster = nats.config(name, "bench-leader", 3_000);
        config.cluster.advertise_url = format!("http://{address}");
        // Cluster mode refuses generated secrets: a failover would invalidate them.
        config.auth.jwt_secret = "a-cluster-wide-token-secret-of-32-bytes+".into();
        config.auth.data_key = "ab".repeat(32);
        let options = ServerOptions::for_config(&config, UnitLink::remote());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(node::run(config, options, async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let status = client
                .get(format!("http://{address}/v1/cluster"))
                .send()
                .await
                .ok();
            let role = match status {
                Some(answer) => answer.json::<Status>().await.ok().map(|s| s.role),
                None => None,
            };
            if role.as_deref() == Some("leader") {
                break;
            }
            assert!(
                !task.is_finished(),
                "the node stopped before it led: {:?}",
                task.await
            );
            assert!(
                started.elapsed() < ELECTION_PATIENCE,
                "the node did not lead within {ELECTION_PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let admin_token = login(&client, address, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        LeaderNode {
            address,
            admin_token,
            stop: Some(stop),
            task,
            _data_dir: data_dir,
        }
    }

    /// Stops the node (releases the lease, closes the stores).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => panic!("the node stopped with an error: {error}"),
            Err(error) => panic!("the node's task failed: {error}"),
        }
    }
}
