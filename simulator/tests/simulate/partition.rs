//! A leader cut off from NATS while clients still reach it: each node runs in a network
//! namespace of its own, joined to this one by a veth pair, and the leader's packets to the
//! NATS servers are dropped. It must acknowledge nothing once its lease has run out, and exit
//! with code 3; another node takes over. Needs root (namespaces and iptables): without it the
//! test says why and does nothing else.

use std::process::Command;
use std::time::{Duration, Instant};

use cluster::testing::NatsCluster;
use serde_json::{Value, json};

use crate::cluster::{
    LEASE_TTL_MS, ONE_AT_A_TIME, PATIENCE, Placement, admin_token, agreed_leader, server_binary,
    start_cluster,
};

/// The API port inside each namespace (each has its own ports).
const NODE_PORT: u16 = 8080;
/// Pause between two writes to the leader being cut off.
const WRITE_EVERY: Duration = Duration::from_millis(20);

/// Runs `ip args`; its error output when it fails.
fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|error| format!("ip {}: {error}", args.join(" ")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Three namespaces, each with a veth pair to this one on a /30 of its own; removed when
/// dropped, however the test ends.
struct Namespaces {
    names: Vec<String>,
    links: Vec<String>,
    /// The third octet of each namespace's subnet, `10.77.{octet}.0/30`.
    octets: Vec<u8>,
}

impl Namespaces {
    fn create(count: u8) -> Result<Namespaces, String> {
        // Unique per run (names and subnets), so that runs side by side do not collide.
        let pid = std::process::id();
        let base = u8::try_from(pid % 80).unwrap_or(0) * 3;
        let mut namespaces = Namespaces {
            names: Vec::new(),
            links: Vec::new(),
            octets: Vec::new(),
        };
        for k in 0..count {
            let name = format!("evr-{pid}-{k}");
            ip(&["netns", "add", &name])?;
            namespaces.names.push(name.clone());
            // Interface names are at most 15 characters.
            let (outside, inside) = (format!("evr{pid}o{k}"), format!("evr{pid}i{k}"));
            ip(&[
                "link", "add", &outside, "type", "veth", "peer", "name", &inside,
            ])?;
            namespaces.links.push(outside.clone());
            let octet = base + k;
            namespaces.octets.push(octet);
            let (host, node) = (format!("10.77.{octet}.1/30"), format!("10.77.{octet}.2/30"));
            ip(&["link", "set", &inside, "netns", &name])?;
            ip(&["addr", "add", &host, "dev", &outside])?;
            ip(&["link", "set", &outside, "up"])?;
            ip(&[
                "netns", "exec", &name, "ip", "addr", "add", &node, "dev", &inside,
            ])?;
            ip(&["netns", "exec", &name, "ip", "link", "set", &inside, "up"])?;
            ip(&["netns", "exec", &name, "ip", "link", "set", "lo", "up"])?;
        }
        Ok(namespaces)
    }

    /// Drops every packet from namespace `k` to the NATS client `ports` on its link.
    fn cut(&self, k: usize, ports: &[u16]) -> Result<(), String> {
        let host = format!("10.77.{}.1", self.octets[k]);
        for port in ports {
            let port = port.to_string();
            let status = Command::new("ip")
                .args(["netns", "exec", &self.names[k], "iptables", "-A", "OUTPUT"])
                .args(["-p", "tcp", "-d", &host, "--dport", &port, "-j", "DROP"])
                .status()
                .map_err(|error| format!("iptables: {error}"))?;
            if !status.success() {
                return Err(format!("iptables in {} failed: {status}", self.names[k]));
            }
        }
        Ok(())
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for link in &self.links {
            let _ = ip(&["link", "del", link]);
        }
        for name in &self.names {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// Registers car `n` on `url` (not following any leader): its id, when acknowledged.
async fn register(http: &reqwest::Client, url: &str, token: &str, n: u64) -> Option<String> {
    let answer = http
        .post(format!("{url}/v1/vehicles"))
        .bearer_auth(token)
        .json(&json!({
            "plate": actors::domain::samples::plate(7_000_000 + n),
            "model": "BYD Dolphin",
            "year": 2025,
            "hourly_rate_cents": 4_500,
        }))
        .send()
        .await
        .ok()?;
    if answer.status() != 201 {
        return None;
    }
    let created: Value = answer.json().await.ok()?;
    created["id"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_off_from_nats_acknowledges_nothing_past_its_lease_and_exits() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let namespaces = match Namespaces::create(3) {
        Ok(namespaces) => namespaces,
        Err(why) => {
            eprintln!("partition: skipped, network namespaces are not available here: {why}");
            return;
        }
    };
    let binary = server_binary();
    let nats = NatsCluster::start_listening_on("0.0.0.0").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("HTTP client");
    let placements: Vec<Placement> = (0..3)
        .map(|k| {
            let octet = namespaces.octets[k];
            Placement {
                id: format!("node-{k}"),
                ip: format!("10.77.{octet}.2"),
                port: NODE_PORT,
                nats_urls: nats
                    .client_ports
                    .iter()
                    .map(|port| format!("nats://10.77.{octet}.1:{port}"))
                    .collect(),
                netns: Some(namespaces.names[k].clone()),
            }
        })
        .collect();
    let (mut nodes, leader_url) = start_cluster(&http, &binary, &placements, dir.path()).await;
    let k = nodes
        .iter()
        .position(|node| node.url == leader_url)
        .expect("the leader is one of the nodes");
    let token = admin_token(&http, &leader_url).await;
    assert!(
        register(&http, &leader_url, &token, 0).await.is_some(),
        "the leader registers cars before the cut"
    );

    // Writes go on to the leader, directly, while it is cut off and until it stops.
    let writer = {
        let (http, url, token) = (http.clone(), leader_url.clone(), token.clone());
        tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let started = Instant::now();
            let mut n = 1;
            while started.elapsed() < PATIENCE {
                let asked = Instant::now();
                if let Some(id) = register(&http, &url, &token, n).await {
                    acknowledged.push((asked, Instant::now(), id));
                }
                n += 1;
                tokio::time::sleep(WRITE_EVERY).await;
                if http.get(format!("{url}/healthz")).send().await.is_err() {
                    break;
                }
            }
            acknowledged
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    namespaces
        .cut(k, &nats.client_ports)
        .expect("the leader's packets to NATS are dropped");
    let cut = Instant::now();
    let lease_out = cut + Duration::from_millis(LEASE_TTL_MS);

    let next_leader = agreed_leader(&http, &nodes, Some(&leader_url)).await;
    let elected_s = cut.elapsed().as_secs_f64();
    let next_token = admin_token(&http, &next_leader).await;
    let mut n = 1_000_000;
    while register(&http, &next_leader, &next_token, n)
        .await
        .is_none()
    {
        assert!(cut.elapsed() < PATIENCE, "the next leader never served");
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let serving_s = cut.elapsed().as_secs_f64();

    let deposed = &mut nodes[k];
    let exit = loop {
        if let Some(code) = deposed.exited() {
            break code;
        }
        assert!(
            cut.elapsed() < PATIENCE,
            "the deposed leader never stopped; its log ends with:\n{}",
            deposed.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let acknowledged = writer.await.expect("the writer");
    let after_cut: Vec<_> = acknowledged
        .iter()
        .filter(|(_, answered, _)| *answered > cut)
        .collect();
    let after_lease = after_cut
        .iter()
        .filter(|(_, answered, _)| *answered > lease_out)
        .count();
    let mut lost = Vec::new();
    for (_, _, id) in &acknowledged {
        let car = http
            .get(format!("{next_leader}/v1/vehicles/{id}"))
            .bearer_auth(&next_token)
            .send()
            .await
            .expect("the next leader answers");
        if car.status() != 200 {
            lost.push(id.clone());
        }
    }
    eprintln!(
        "partition: leader {leader_url} cut off from NATS; {} writes acknowledged before the \
         cut, {} after it, {after_lease} after its lease ran out ({LEASE_TTL_MS} ms), {} \
         acknowledged writes missing on the next leader; it exited with {exit:?}; {next_leader} \
         led {elected_s:.1} s after the cut and served a write {serving_s:.1} s after it",
        acknowledged.len() - after_cut.len(),
        after_cut.len(),
        lost.len(),
    );
    assert_eq!(after_lease, 0, "acknowledged by a leader without a lease");
    assert!(lost.is_empty(), "acknowledged and lost: {lost:?}");
    assert_eq!(exit, Some(3), "the deposed leader exits with code 3");
}
