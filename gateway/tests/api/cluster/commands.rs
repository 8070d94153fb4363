//! A door command survives a failover: the renter asks the leader to unlock while the car's
//! unit is offline, the leader dies with the command pending, and the unit, once it reaches the
//! new leader, receives that same command and opens the car, which starts the rental.

use std::time::{Duration, Instant};

use cluster::testing::NatsCluster;
use serde_json::{Value, json};
use simulator::unit::{DoorState, UnitClient, UnitConfig};

use super::{
    Node, ONE_AT_A_TIME, PATIENCE, admin_token, free_port, register_with_token, wait_role,
};
use actors::testing::PASSWORD;

use crate::helpers::{VISA, customer_body, email, in_minutes};

/// Settings of both nodes: no e-mail confirmation (nobody reads the nodes' mail here), and a
/// command that stays pending for a minute, well past the failover.
const SETTINGS: [(&str, &str); 2] = [
    ("EVR_NOTIFY__REQUIRE_EMAIL_CONFIRMATION", "false"),
    ("EVR_FLEET__COMMAND_TIMEOUT_S", "60"),
];

/// Registers customer `n` on `node` and logs them in: their access token.
async fn customer(http: &reqwest::Client, node: &Node, n: u32) -> String {
    let created = http
        .post(format!("{}/v1/customers", node.url))
        .json(&customer_body(n, VISA))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let tokens: Value = http
        .post(format!("{}/v1/auth/token", node.url))
        .json(&json!({"email": email(n), "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// The commands `node` lists as pending for `vehicle` (the console's fleet overview).
async fn pending_for(
    http: &reqwest::Client,
    node: &Node,
    admin: &str,
    vehicle: &str,
) -> Vec<Value> {
    let overview: Value = http
        .get(format!("{}/v1/fleet/overview", node.url))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    overview["pending_commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|command| command["vehicle_id"] == vehicle)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlock_pending_when_the_leader_dies_reaches_the_unit_through_the_new_leader() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let nats = NatsCluster::start().await;
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(90))
        .build()
        .unwrap();
    let start = |id: &str| {
        Node::start_in(
            Some(&nats),
            "doors",
            id,
            free_port(),
            &dir.path().join(id),
            &SETTINGS,
        )
    };
    let mut first = start("first");
    wait_role(&http, &first, "leader", None).await;
    let second = start("second");
    wait_role(&http, &second, "follower", Some(&first)).await;

    let admin = admin_token(&http, &first).await;
    let (vehicle, device_token) = register_with_token(&http, &first, &admin, 31)
        .await
        .expect("the car is registered");
    let renter = customer(&http, &first, 31).await;
    let booked = http
        .post(format!("{}/v1/reservations", first.url))
        .bearer_auth(&renter)
        .json(&json!({"vehicle_id": vehicle, "start_at": in_minutes(0), "end_at": in_minutes(120)}))
        .send()
        .await
        .unwrap();
    assert_eq!(booked.status(), 201, "{}", booked.text().await.unwrap());
    let reservation: Value = booked.json().await.unwrap();
    let reservation = reservation["id"].as_str().unwrap().to_owned();

    // The renter taps "unlock" while the unit is offline: the answer waits for the unit.
    let unlock = {
        let (http, url, renter, vehicle) = (
            http.clone(),
            first.url.clone(),
            renter.clone(),
            vehicle.clone(),
        );
        tokio::spawn(async move {
            http.post(format!("{url}/v1/vehicles/{vehicle}/unlock"))
                .bearer_auth(&renter)
                .json(&json!({}))
                .send()
                .await
                .map(|answer| answer.status())
        })
    };
    let asked = Instant::now();
    let pending = loop {
        let pending = pending_for(&http, &first, &admin, &vehicle).await;
        if !pending.is_empty() {
            break pending;
        }
        assert!(
            asked.elapsed() < PATIENCE,
            "the unlock never became pending"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["action"], "unlock");
    let command = pending[0]["command_id"].clone();

    first.kill_9();
    // The renter's request died with the leader (no answer, or the connection reset).
    assert!(
        unlock.await.unwrap().is_err(),
        "the dead leader answered the unlock"
    );
    wait_role(&http, &second, "leader", None).await;
    let survived = pending_for(&http, &second, &admin, &vehicle).await;
    assert_eq!(survived.len(), 1, "the new leader lost the pending command");
    assert_eq!(survived[0]["command_id"], command);

    // The unit comes online, knowing both nodes; the dead one first.
    let mut config = UnitConfig::new(first.url.clone(), vehicle.parse().unwrap(), device_token);
    config.other_servers = vec![second.url.clone()];
    config.initial_backoff = Duration::from_millis(100);
    let unit = UnitClient::spawn(config).unwrap();
    unit.wait_connected(PATIENCE).await.unwrap();
    let started = Instant::now();
    loop {
        let answer: Value = http
            .get(format!("{}/v1/reservations/{reservation}", second.url))
            .bearer_auth(&renter)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if answer["status"] == "active" {
            break;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the rental never started on the new leader: {answer}; its log ends with:\n{}",
            second.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(unit.doors(), DoorState::Unlocked);
    assert!(
        pending_for(&http, &second, &admin, &vehicle)
            .await
            .is_empty()
    );
}
