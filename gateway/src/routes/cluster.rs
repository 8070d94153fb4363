//! `GET /v1/cluster`: which node this is and which node leads, for health checkers, load
//! balancers and car units looking for the leader. Public: the addresses it names are the ones
//! clients are sent to anyway.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// `GET /v1/cluster`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(cluster_status))
}

/// This node's part in the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// One process, no cluster: it serves everything.
    Single,
    /// The cluster's leader: it runs the services and serves the API.
    Leader,
    /// A follower: it applies the leader's log and answers 503 `not-leader` naming the leader.
    Follower,
}

/// A node, as clients reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NodeDto {
    /// Its `cluster.node_id`.
    pub node_id: String,
    /// Where clients reach its API (`cluster.advertise_url`).
    pub url: String,
}

/// Which node this is and which node leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ClusterStatus {
    /// This node's part.
    pub role: NodeRole,
    /// This node (absent in single mode).
    pub node: Option<NodeDto>,
    /// The leader, when known (this node itself when it leads; absent in single mode and while
    /// no node holds the lease).
    pub leader: Option<NodeDto>,
}

impl ClusterStatus {
    /// The status of a node serving the API: a single process, or the leader.
    pub fn serving(config: &actors::Config) -> Self {
        let cluster = &config.cluster;
        if !cluster.enabled {
            return ClusterStatus {
                role: NodeRole::Single,
                node: None,
                leader: None,
            };
        }
        let node = NodeDto {
            node_id: cluster.node_id.clone(),
            url: advertised_url(config),
        };
        ClusterStatus {
            role: NodeRole::Leader,
            node: Some(node.clone()),
            leader: Some(node),
        }
    }
}

/// `cluster.advertise_url`, or `http://` and the bound address when it is empty.
pub fn advertised_url(config: &actors::Config) -> String {
    let url = config.cluster.advertise_url.trim_end_matches('/');
    if url.is_empty() {
        format!("http://{}", config.server.bind)
    } else {
        url.to_owned()
    }
}

/// This node's part in the deployment and the leader's address. A follower answers the same
/// document, so any node tells a client where to go.
#[utoipa::path(
    get, path = "/v1/cluster", tag = "operations", operation_id = "get_cluster",
    responses((status = 200, description = "This node and the leader", body = ClusterStatus))
)]
pub async fn cluster_status(State(state): State<AppState>) -> Json<ClusterStatus> {
    Json(ClusterStatus::serving(&state.config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_process_names_no_node_and_a_leader_names_itself() {
        let mut config = actors::Config::default();
        assert_eq!(
            ClusterStatus::serving(&config),
            ClusterStatus {
                role: NodeRole::Single,
                node: None,
                leader: None
            }
        );
        config.cluster.enabled = true;
        config.cluster.node_id = "node-2".into();
        config.server.bind = "10.0.0.2:8080".parse().unwrap();
        let status = ClusterStatus::serving(&config);
        assert_eq!(status.role, NodeRole::Leader);
        assert_eq!(status.leader, status.node);
        assert_eq!(status.leader.unwrap().url, "http://10.0.0.2:8080");
        config.cluster.advertise_url = "https://node-2.example/".into();
        assert_eq!(advertised_url(&config), "https://node-2.example");
    }
}
