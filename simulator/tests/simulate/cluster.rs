//! `ev-rental` processes in cluster mode for the failover runs: the binary, a node started on
//! a given address (optionally inside a network namespace), and the leader the nodes agree on.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub(crate) const LEASE_TTL_MS: u64 = 2_000;
/// About three simulated hours of plans in a minute and a half.
pub(crate) const SPEEDUP: u32 = 120;
pub(crate) const ADMIN: (&str, &str) = ("ops@failover.test", "operador-failover-2026");
/// Long enough for any step on a loaded machine; only a hang reaches it.
pub(crate) const PATIENCE: Duration = Duration::from_secs(90);

/// The cluster tests pick free ports by binding and releasing them, and each keeps two cores
/// busy: they run one at a time.
pub(crate) static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// The server's binary, beside this test's executable (`target/debug/deps/..`); built first
/// when this package's tests run alone.
pub(crate) fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps");
    let binary = profile.join(format!("ev-rental{}", std::env::consts::EXE_SUFFIX));
    if !binary.is_file() {
        let built = Command::new(env!("CARGO"))
            .args(["build", "-p", "gateway", "--bin", "ev-rental"])
            .status()
            .expect("cargo runs");
        assert!(built.success(), "the ev-rental binary builds");
    }
    binary
}

/// Where a node runs and what it reaches.
pub(crate) struct Placement {
    /// `node-a`, …
    pub(crate) id: String,
    /// The address its API listens on (and advertises).
    pub(crate) ip: String,
    pub(crate) port: u16,
    /// The NATS servers as this node reaches them.
    pub(crate) nats_urls: Vec<String>,
    /// The network namespace it runs in, if not this one.
    pub(crate) netns: Option<String>,
}

/// One `ev-rental` process in cluster mode, clock accelerated and limits opened for a load
/// test; killed when dropped.
pub(crate) struct Node {
    pub(crate) id: String,
    pub(crate) url: String,
    log: PathBuf,
    child: Option<Child>,
}

impl Node {
    pub(crate) fn start(binary: &Path, placement: &Placement, data: &Path) -> Node {
        let Placement {
            id,
            ip,
            port,
            netns,
            ..
        } = placement;
        let url = format!("http://{ip}:{port}");
        let urls = placement
            .nats_urls
            .iter()
            .map(|url| format!("\"{url}\""))
            .collect::<Vec<_>>()
            .join(",");
        let log_path = data.with_extension("log");
        let log = std::fs::File::create(&log_path).expect("a node log");
        // `ip netns exec` enters the namespace and then runs the binary in its own process, so
        // the child's id, signals and exit code are the server's.
        let mut command = match netns {
            Some(netns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", netns]).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        let child = command
            .env("RUST_LOG", "warn,gateway::cluster=info,cluster=info")
            .env("EVR_SERVER__BIND", format!("{ip}:{port}"))
            .env("EVR_SERVER__CLOCK_SPEEDUP", SPEEDUP.to_string())
            .env("EVR_SERVER__LOGIN_PER_IP_PER_MIN", "100000")
            .env("EVR_SERVER__LOGIN_PER_EMAIL_PER_MIN", "1000")
            .env("EVR_SERVER__REGISTER_PER_IP_PER_MIN", "100000")
            .env("EVR_SERVER__DEVICE_REQUESTS_PER_MIN", "100000")
            // Five real seconds for a unit to confirm: one that was on a killed leader needs a
            // moment to find the next one.
            .env("EVR_FLEET__COMMAND_TIMEOUT_S", (5 * SPEEDUP).to_string())
            .env("EVR_NOTIFY__REQUIRE_EMAIL_CONFIRMATION", "false")
            .env("EVR_STORAGE__DATA_DIR", data)
            .env(
                "EVR_AUTH__JWT_SECRET",
                "a-cluster-wide-token-secret-of-32-bytes+",
            )
            .env("EVR_AUTH__DATA_KEY", "cd".repeat(32))
            .env("EVR_AUTH__ADMIN_EMAIL", ADMIN.0)
            .env("EVR_AUTH__ADMIN_PASSWORD", ADMIN.1)
            .env("EVR_CLUSTER__ENABLED", "true")
            .env("EVR_CLUSTER__NATS_URLS", format!("[{urls}]"))
            .env("EVR_CLUSTER__NODE_ID", id)
            .env("EVR_CLUSTER__ADVERTISE_URL", &url)
            .env("EVR_CLUSTER__LEASE_TTL_MS", LEASE_TTL_MS.to_string())
            .env("EVR_CLUSTER__NAME", "failover")
            .stdout(log.try_clone().expect("the log again"))
            .stderr(log)
            .spawn()
            .expect("ev-rental starts");
        Node {
            id: id.clone(),
            url,
            log: log_path,
            child: Some(child),
        }
    }

    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    pub(crate) fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub(crate) fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
        }
    }

    /// Its exit code once it has ended on its own (`None` while it runs, or when a signal
    /// ended it).
    pub(crate) fn exited(&mut self) -> Option<Option<i32>> {
        let child = self.child.as_mut()?;
        let status = child.try_wait().expect("the child's status")?;
        self.child = None;
        Some(status.code())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill_9();
    }
}

async fn status(http: &reqwest::Client, url: &str) -> Option<Value> {
    let answer = http.get(format!("{url}/v1/cluster")).send().await.ok()?;
    answer.json().await.ok()
}

/// A node per placement; the URL of their leader. The first starts alone and creates the log
/// (nodes creating it at once can time out), the others together as soon as it leads: each
/// node's accelerated clock starts with its process, so nodes started apart disagree by
/// their distance times the speed-up, here a fraction of a second times it.
pub(crate) async fn start_cluster(
    http: &reqwest::Client,
    binary: &Path,
    placements: &[Placement],
    dir: &Path,
) -> (Vec<Node>, String) {
    let start = |placement: &Placement| Node::start(binary, placement, &dir.join(&placement.id));
    let mut nodes = vec![start(&placements[0])];
    let first = agreed_leader(http, &nodes, None).await;
    nodes.extend(placements[1..].iter().map(start));
    let leader = agreed_leader(http, &nodes, None).await;
    assert_eq!(leader, first, "the first node leads the others");
    (nodes, leader)
}

/// The URL of the node that leads once every running node but `ignored` agrees on it.
pub(crate) async fn agreed_leader(
    http: &reqwest::Client,
    nodes: &[Node],
    ignored: Option<&str>,
) -> String {
    let started = Instant::now();
    loop {
        let mut leaders = Vec::new();
        let asked = nodes
            .iter()
            .filter(|node| node.is_running() && Some(node.url.as_str()) != ignored);
        let mut statuses = Vec::new();
        for node in asked {
            let status = status(http, &node.url).await.unwrap_or_default();
            leaders.push(status["leader"]["url"].as_str().map(str::to_owned));
            statuses.push(format!("{}: {status}", node.id));
        }
        if let Some(Some(url)) = leaders.first()
            && leaders.iter().all(|leader| leader.as_deref() == Some(url))
            && Some(url.as_str()) != ignored
            && nodes.iter().any(|node| node.url == *url)
        {
            return url.clone();
        }
        if started.elapsed() > PATIENCE {
            let tails: Vec<String> = nodes
                .iter()
                .map(|node| format!("{}:\n{}", node.id, node.log_tail()))
                .collect();
            panic!(
                "the nodes never agreed on a leader ({}); their logs end with:\n{}",
                statuses.join("; "),
                tails.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn admin_token(http: &reqwest::Client, url: &str) -> String {
    let tokens: Value = http
        .post(format!("{url}/v1/auth/token"))
        .json(&json!({"email": ADMIN.0, "password": ADMIN.1}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("tokens");
    tokens["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}
