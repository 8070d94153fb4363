//! Spawns the whole application on 127.0.0.1:0 with a temporary data directory.

#![allow(dead_code)]

use std::net::SocketAddr;

use actors::Config;
use gateway::server::RunningServer;
use tempfile::TempDir;

/// A running app; dropping it without [`TestApp::stop`] leaves the task to the runtime's end.
pub struct TestApp {
    pub address: SocketAddr,
    pub data_dir: TempDir,
    pub client: reqwest::Client,
    server: RunningServer,
}

impl TestApp {
    /// Starts the app with the default configuration on a free port and a fresh data directory.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// Like [`TestApp::spawn`], after `adjust` has changed the configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default();
        config.server.bind = "127.0.0.1:0".parse().expect("address");
        config.storage.data_dir = data_dir.path().to_owned();
        config.storage.cache_capacity_mb = 8;
        adjust(&mut config);
        let server = RunningServer::start(config).await.expect("app starts");
        TestApp {
            address: server.address,
            data_dir,
            client: reqwest::Client::new(),
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// Stops the app the way SIGTERM does: drain, stop actors, flush stores.
    pub async fn stop(self) -> TempDir {
        self.server.stop().await.expect("clean stop");
        self.data_dir
    }
}
