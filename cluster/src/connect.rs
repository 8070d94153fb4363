//! The connection to the NATS cluster, as `[cluster]` configures it.

use std::path::PathBuf;
use std::time::Duration;

use actors::config::ClusterConfig;
use async_nats::connection::State;
use async_nats::jetstream;

use crate::error::ClusterError;

/// How long start-up waits for a first server. The client itself keeps trying in the
/// background (a node may start before the NATS cluster has formed), but a node that cannot
/// reach any server after this long says so instead of hanging.
const CONNECT_WAIT: Duration = Duration::from_secs(10);
/// One TCP + TLS handshake's limit, so that a black-holed address does not hold the attempt to
/// the next server.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// JetStream's answer to a request or a publish. Replicated writes with `sync_interval: always`
/// take a few fsyncs; far longer means the cluster has lost its quorum.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A connected client and its JetStream context, shared by the lease and the log.
#[derive(Clone, Debug)]
pub struct Nats {
    pub(crate) client: async_nats::Client,
    pub(crate) jetstream: jetstream::Context,
    pub(crate) node_id: String,
}

impl Nats {
    /// The underlying client (for its events and statistics).
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The largest message, headers included, the connected server accepts.
    pub(crate) fn max_payload(&self) -> usize {
        self.client.server_info().max_payload
    }
}

/// Connects to the cluster: named after the node (so the servers' monitoring shows who is
/// who), with the configured credentials and TLS, retrying until a server answers.
pub async fn connect(config: &ClusterConfig) -> Result<Nats, ClusterError> {
    let urls = config.nats_urls.join(",");
    let mut options = async_nats::ConnectOptions::new()
        .name(&config.node_id)
        .connection_timeout(HANDSHAKE_TIMEOUT)
        .request_timeout(Some(REQUEST_TIMEOUT))
        .retry_on_initial_connect();
    if !config.credentials_file.is_empty() {
        options = options
            .credentials_file(&config.credentials_file)
            .await
            .map_err(|source| ClusterError::Credentials {
                path: config.credentials_file.clone(),
                source,
            })?;
    }
    if !config.user.is_empty() {
        options = options.user_and_password(config.user.clone(), config.password.clone());
    }
    if !config.tls_ca_file.is_empty() {
        options = options.add_root_certificates(PathBuf::from(&config.tls_ca_file));
    }
    if !config.tls_cert_file.is_empty() {
        options = options.add_client_certificate(
            PathBuf::from(&config.tls_cert_file),
            PathBuf::from(&config.tls_key_file),
        );
    }
    let tls_required = config.tls_required
        || !config.tls_ca_file.is_empty()
        || config.nats_urls.iter().any(|url| url.starts_with("tls://"));
    options = options.require_tls(tls_required);

    let client = options
        .connect(config.nats_urls.as_slice())
        .await
        .map_err(|source| ClusterError::Connect {
            urls: urls.clone(),
            source,
        })?;
    wait_connected(&client, &urls).await?;
    let jetstream = jetstream::ContextBuilder::new()
        .timeout(REQUEST_TIMEOUT)
        .build(client.clone());
    Ok(Nats {
        client,
        jetstream,
        node_id: config.node_id.clone(),
    })
}

/// With `retry_on_initial_connect` the client returns at once and connects in the background;
/// the server's limits (`max_payload`) are only known once it has.
async fn wait_connected(client: &async_nats::Client, urls: &str) -> Result<(), ClusterError> {
    let waited = tokio::time::timeout(CONNECT_WAIT, async {
        while client.connection_state() != State::Connected {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    waited.map_err(|_| ClusterError::ConnectTimeout {
        urls: urls.to_owned(),
        timeout_ms: CONNECT_WAIT.as_millis() as u64,
    })
}
