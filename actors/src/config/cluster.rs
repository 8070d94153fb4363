//! The `[cluster]` section: several nodes over a NATS JetStream cluster, one of them the leader.
//!
//! Off by default: one process with its embedded stores is the default deployment and stays
//! unchanged. With it on, every durable commit is acknowledged only once JetStream holds it, and
//! only the holder of the leader's lease runs the services (see docs/architecture.md, "Cluster
//! mode").

use serde::{Deserialize, Serialize};

use super::load::{ConfigError, value_error};

/// Cluster mode on NATS JetStream.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// Turns cluster mode on.
    pub enabled: bool,
    /// The NATS servers to connect to (any of them will do; the client learns the others).
    pub nats_urls: Vec<String>,
    /// This node's name, unique in the deployment: the lease names its holder by it.
    pub node_id: String,
    /// The address clients reach this node's API at, given to them by followers as the
    /// leader's address (empty: `http://` and `server.bind`).
    pub advertise_url: String,
    /// Milliseconds a leader's lease lasts unless renewed. A failover takes about this long.
    pub lease_ttl_ms: u64,
    /// Copies JetStream keeps of the log and of the lease (3 survives the loss of one server).
    pub stream_replicas: u32,
    /// Prefix of the stream, subjects and bucket names, so that several deployments can share
    /// one NATS cluster.
    pub name: String,
    /// A NATS credentials file (`.creds`: a user JWT and its NKey seed), or empty.
    pub credentials_file: String,
    /// A NATS user name, with `password`, or empty.
    pub user: String,
    /// The password of `user`.
    pub password: String,
    /// Certificate authorities (PEM) that NATS servers' certificates must chain to, or empty
    /// for the system's roots. Setting it requires TLS.
    pub tls_ca_file: String,
    /// This node's client certificate (PEM) for mutual TLS, with `tls_key_file`, or empty.
    pub tls_cert_file: String,
    /// The private key (PEM) of `tls_cert_file`.
    pub tls_key_file: String,
    /// Refuse a NATS connection that is not TLS.
    pub tls_required: bool,
}

impl std::fmt::Debug for ClusterConfig {
    /// The NATS password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("enabled", &self.enabled)
            .field("nats_urls", &self.nats_urls)
            .field("node_id", &self.node_id)
            .field("advertise_url", &self.advertise_url)
            .field("lease_ttl_ms", &self.lease_ttl_ms)
            .field("stream_replicas", &self.stream_replicas)
            .field("name", &self.name)
            .field("credentials_file", &self.credentials_file)
            .field("user", &self.user)
            .field(
                "password",
                &if self.password.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("tls_ca_file", &self.tls_ca_file)
            .field("tls_cert_file", &self.tls_cert_file)
            .field("tls_key_file", &self.tls_key_file)
            .field("tls_required", &self.tls_required)
            .finish()
    }
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            enabled: false,
            nats_urls: vec!["nats://127.0.0.1:4222".into()],
            node_id: String::new(),
            advertise_url: String::new(),
            lease_ttl_ms: 3_000,
            stream_replicas: 3,
            name: "ev-rental".into(),
            credentials_file: String::new(),
            user: String::new(),
            password: String::new(),
            tls_ca_file: String::new(),
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            tls_required: false,
        }
    }
}

/// Whether `text` may be one token of a NATS subject, stream or bucket name: the rule for
/// `cluster.name`, node ids and the store names the log's subjects end with.
pub fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl ClusterConfig {
    /// Checked whether or not cluster mode is on, so that a wrong value is found before the
    /// day it is switched on.
    pub(super) fn validate(&self, secrets_configured: bool) -> Result<(), ConfigError> {
        if !(500..=60_000).contains(&self.lease_ttl_ms) {
            return Err(value_error(
                "cluster.lease_ttl_ms",
                "",
                "a lease shorter than half a second is lost to a pause; one longer than a \
                 minute leaves the cars without a leader for that long",
                "milliseconds, 500 to 60000",
            ));
        }
        if !(1..=5).contains(&self.stream_replicas) {
            return Err(value_error(
                "cluster.stream_replicas",
                "",
                "JetStream keeps 1 to 5 copies of a stream",
                "1 to 5 (3 survives the loss of one server)",
            ));
        }
        if !is_token(&self.name) {
            return Err(value_error(
                "cluster.name",
                "",
                "it names NATS subjects, a stream and a bucket",
                "1 to 64 letters, digits, '-' or '_'",
            ));
        }
        if let Some(url) = self.nats_urls.iter().find(|url| {
            let url = url.trim();
            !["nats://", "tls://", "ws://", "wss://"]
                .iter()
                .any(|scheme| url.starts_with(scheme) && url.len() > scheme.len())
        }) {
            return Err(value_error(
                "cluster.nats_urls",
                "",
                &format!("{url:?} is not a NATS server's address"),
                "a list such as [\"nats://10.0.0.1:4222\", \"tls://nats.example:4222\"]",
            ));
        }
        if self.user.is_empty() != self.password.is_empty() {
            return Err(value_error(
                "cluster.user",
                "",
                "a NATS user needs its password, and a password its user",
                "both set, or both empty",
            ));
        }
        if self.tls_cert_file.is_empty() != self.tls_key_file.is_empty() {
            return Err(value_error(
                "cluster.tls_cert_file",
                "",
                "a client certificate needs its private key (cluster.tls_key_file)",
                "both set, or both empty",
            ));
        }
        let url = &self.advertise_url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return Err(value_error(
                "cluster.advertise_url",
                "",
                "clients are sent to this address when another node is the leader",
                "empty, or an http:// or https:// URL",
            ));
        }
        if !self.enabled {
            return Ok(());
        }
        if !is_token(&self.node_id) {
            return Err(value_error(
                "cluster.node_id",
                "",
                "every node of a cluster needs its own name (the lease names its holder)",
                "1 to 64 letters, digits, '-' or '_'",
            ));
        }
        if self.nats_urls.is_empty() {
            return Err(value_error(
                "cluster.nats_urls",
                "",
                "cluster mode needs at least one NATS server",
                "a list such as [\"nats://10.0.0.1:4222\"]",
            ));
        }
        if !secrets_configured {
            return Err(value_error(
                "auth.data_key",
                "",
                "in cluster mode every node must hold the same token secret and data key: a \
                 key generated into one node's data directory would leave tokens and personal \
                 data unreadable after a failover",
                "auth.jwt_secret and auth.data_key set, the same on every node",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> ClusterConfig {
        ClusterConfig {
            enabled: true,
            node_id: "node-1".into(),
            ..ClusterConfig::default()
        }
    }

    fn key_of(error: ConfigError) -> String {
        format!("{error:?}")
    }

    #[test]
    fn off_by_default_and_the_defaults_pass() {
        let config = ClusterConfig::default();
        assert!(!config.enabled);
        assert!(config.validate(false).is_ok());
        assert!(on().validate(true).is_ok());
    }

    #[test]
    fn a_node_needs_a_name_and_shared_secrets() {
        let nameless = ClusterConfig {
            node_id: String::new(),
            ..on()
        };
        assert!(key_of(nameless.validate(true).unwrap_err()).contains("cluster.node_id"));
        let spaced = ClusterConfig {
            node_id: "node 1".into(),
            ..on()
        };
        assert!(key_of(spaced.validate(true).unwrap_err()).contains("cluster.node_id"));
        assert!(key_of(on().validate(false).unwrap_err()).contains("auth.data_key"));
    }

    #[test]
    fn bad_values_name_their_key_even_when_off() {
        let cases = [
            (
                ClusterConfig {
                    lease_ttl_ms: 100,
                    ..ClusterConfig::default()
                },
                "cluster.lease_ttl_ms",
            ),
            (
                ClusterConfig {
                    stream_replicas: 7,
                    ..ClusterConfig::default()
                },
                "cluster.stream_replicas",
            ),
            (
                ClusterConfig {
                    nats_urls: vec!["http://nats:4222".into()],
                    ..ClusterConfig::default()
                },
                "cluster.nats_urls",
            ),
            (
                ClusterConfig {
                    user: "evr".into(),
                    ..ClusterConfig::default()
                },
                "cluster.user",
            ),
            (
                ClusterConfig {
                    tls_key_file: "/etc/evr/key.pem".into(),
                    ..ClusterConfig::default()
                },
                "cluster.tls_cert_file",
            ),
            (
                ClusterConfig {
                    name: "ev.rental".into(),
                    ..ClusterConfig::default()
                },
                "cluster.name",
            ),
            (
                ClusterConfig {
                    advertise_url: "node-1:8080".into(),
                    ..ClusterConfig::default()
                },
                "cluster.advertise_url",
            ),
        ];
        for (config, key) in cases {
            assert!(
                key_of(config.validate(false).unwrap_err()).contains(key),
                "{key}"
            );
        }
    }

    #[test]
    fn the_password_is_not_printed() {
        let config = ClusterConfig {
            user: "evr".into(),
            password: "hunter2-long-secret".into(),
            ..on()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
