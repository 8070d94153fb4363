//! What a follower serves while it applies the leader's log: who it is and where the leader
//! is, and to every other request 503 `not-leader` with the leader's address and
//! `Retry-After`.
//!
//! A follower answers rather than forwards: forwarding would make a follower a proxy whose
//! own failure or partition looks to a client like the leader's, and a booking retried through
//! two proxies could not tell which one lost it. A 503 naming the leader is one hop, and a
//! client (or a load balancer polling `/readyz`) goes straight to the node that decides.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio::sync::watch;

use crate::error::ApiError;
use crate::routes::cluster::ClusterStatus;
use actors::error_kind::ErrorKind;

/// Seconds a client is told to wait before asking this node again: about the time a
/// follower needs to take over once the lease has lapsed.
pub const RETRY_AFTER_S: u64 = 1;

/// The follower's router, reading the current status from `status`.
pub fn router(status: watch::Receiver<ClusterStatus>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/cluster", get(cluster))
        .fallback(not_leader)
        .with_state(status)
}

/// Alive, and a follower: a container engine keeps it running.
async fn healthz(State(status): State<watch::Receiver<ClusterStatus>>) -> Response {
    let role = status.borrow().role;
    Json(json!({"status": "ok", "role": role})).into_response()
}

async fn cluster(State(status): State<watch::Receiver<ClusterStatus>>) -> Json<ClusterStatus> {
    Json(status.borrow().clone())
}

/// Everything else, `/readyz` included (a load balancer must not route here).
async fn not_leader(State(status): State<watch::Receiver<ClusterStatus>>) -> Response {
    refusal(&status.borrow()).into_response()
}

/// The 503 a follower answers: the leader's address when one holds the lease.
pub fn refusal(status: &ClusterStatus) -> ApiError {
    let (detail, extra) = match &status.leader {
        Some(leader) => (
            format!(
                "this node is a follower; the leader is {} at {}",
                leader.node_id, leader.url
            ),
            json!({"leader_url": leader.url, "leader_node_id": leader.node_id}),
        ),
        None => (
            "this node is a follower and no node leads right now; retry shortly".to_owned(),
            json!({"leader_url": null}),
        ),
    };
    ApiError::of(ErrorKind::NotLeader, detail)
        .with_extra(extra)
        .with_retry_after(RETRY_AFTER_S)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::cluster::{NodeDto, NodeRole};

    fn follower(leader: Option<&str>) -> ClusterStatus {
        ClusterStatus {
            role: NodeRole::Follower,
            node: Some(NodeDto {
                node_id: "node-2".into(),
                url: "http://10.0.0.2:8080".into(),
            }),
            leader: leader.map(|url| NodeDto {
                node_id: "node-1".into(),
                url: url.into(),
            }),
        }
    }

    #[tokio::test]
    async fn a_follower_refuses_with_the_leaders_address_and_retry_after() {
        let response = refusal(&follower(Some("http://10.0.0.1:8080"))).into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1");
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["type"], "urn:ev-rental:problem:not-leader");
        assert_eq!(problem["leader_url"], "http://10.0.0.1:8080");
        let leaderless = refusal(&follower(None)).into_response();
        let body = axum::body::to_bytes(leaderless.into_body(), 4096)
            .await
            .unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(problem["leader_url"].is_null());
    }
}
