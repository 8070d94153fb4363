//! What a unit needs to know to talk to the backend, and the timing it uses when things fail.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use uuid::Uuid;

use super::UnitError;

/// A unit's settings. [`UnitConfig::new`] fills in production-sensible timings; tests shorten
/// them so that a reconnection takes milliseconds instead of seconds.
#[derive(Clone)]
pub struct UnitConfig {
    /// The server's root, `https://host[:port]` or, on a trusted network, `http://host:port`.
    /// The WebSocket address is derived from it (`wss://` or `ws://`).
    pub base_url: String,
    /// The other nodes of a cluster, tried in turn when the one in use fails (a follower
    /// answers 503 and names the leader; a dead node does not answer). Same form as `base_url`.
    pub other_servers: Vec<String>,
    /// Certificate authorities trusted besides the public roots (a fleet's private PKI).
    pub ca_certificates: Vec<CertificateDer<'static>>,
    /// Where the backlog is kept across restarts; `None` keeps it in memory only (the
    /// simulator's thousands of units do not need it).
    pub backlog_file: Option<PathBuf>,
    /// The vehicle this unit is built into.
    pub vehicle_id: Uuid,
    /// The device token issued once when the vehicle was registered. Never logged.
    pub device_token: String,
    /// First wait after a failure; it doubles on each further failure.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts, so a unit never goes quiet for long after an
    /// outage.
    pub max_backoff: Duration,
    /// A WebSocket connection that lived at least this long resets the backoff: the outage
    /// that follows is a new one, not the continuation of the previous one.
    pub backoff_reset_after: Duration,
    /// Bound on one HTTP request and on one WebSocket handshake, so that a half-open 5G link
    /// surfaces as a retryable error instead of a hang.
    pub request_timeout: Duration,
    /// Most fixes kept while the server cannot be reached; beyond it the oldest are dropped
    /// (the newest matter most to a fleet operator).
    pub backlog_capacity: usize,
    /// Most fixes in one request; the server refuses more than 500.
    pub max_batch: usize,
    /// How many executed command ids are remembered to recognise a re-sent command.
    pub executed_memory: usize,
}

impl UnitConfig {
    /// Settings with the default timings: backoff 0.5 s doubling to 30 s, reset after a
    /// connection that lived 30 s, 10 s per request, 10 000 buffered fixes, batches of 500,
    /// the last 1000 command ids remembered.
    pub fn new(
        base_url: impl Into<String>,
        vehicle_id: Uuid,
        device_token: impl Into<String>,
    ) -> Self {
        UnitConfig {
            base_url: base_url.into(),
            other_servers: Vec::new(),
            ca_certificates: Vec::new(),
            backlog_file: None,
            vehicle_id,
            device_token: device_token.into(),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            backoff_reset_after: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
            backlog_capacity: 10_000,
            max_batch: 500,
            executed_memory: 1000,
        }
    }

    /// Every server root, `base_url` first, checked.
    pub(crate) fn roots(&self) -> Result<Vec<String>, UnitError> {
        std::iter::once(&self.base_url)
            .chain(&self.other_servers)
            .map(|url| check_root(url).map(str::to_owned))
            .collect()
    }

    /// The positions path under a server root.
    pub(crate) fn positions_path(&self) -> String {
        format!("/v1/units/{}/positions", self.vehicle_id)
    }

    /// The command channel's path under a server root.
    pub(crate) fn commands_path(&self) -> String {
        format!("/v1/units/{}/commands", self.vehicle_id)
    }
}

/// A server root without its trailing slash, after checking its scheme.
fn check_root(url: &str) -> Result<&str, UnitError> {
    let root = url.trim_end_matches('/');
    let host = root
        .strip_prefix("https://")
        .or_else(|| root.strip_prefix("http://"));
    match host {
        Some(host) if !host.is_empty() => Ok(root),
        _ => Err(UnitError::Config(format!(
            "a server must look like https://host[:port] or http://host:port, not {root:?}"
        ))),
    }
}

#[cfg(test)]
impl UnitConfig {
    /// The first server's root without a trailing slash, after checking its scheme.
    pub(crate) fn http_root(&self) -> Result<&str, UnitError> {
        check_root(&self.base_url)
    }

    /// Where positions are posted on the first server.
    pub(crate) fn positions_url(&self) -> Result<String, UnitError> {
        Ok(format!("{}{}", self.http_root()?, self.positions_path()))
    }

    /// Where the command WebSocket is opened on the first server: the same host, `wss://` for
    /// `https://` and `ws://` for `http://`.
    pub(crate) fn commands_url(&self) -> Result<String, UnitError> {
        let root = super::servers::socket_root(self.http_root()?);
        Ok(format!("{root}{}", self.commands_path()))
    }
}

impl UnitConfig {
    /// Checks the settings that would otherwise fail later, inside a task, where nobody sees it.
    pub(crate) fn validate(&self) -> Result<(), UnitError> {
        self.roots()?;
        if self.device_token.is_empty() {
            return Err(UnitError::Config("the device token is empty".into()));
        }
        if self.max_batch == 0 || self.max_batch > 500 {
            return Err(UnitError::Config("max_batch must be within 1..=500".into()));
        }
        if self.backlog_capacity == 0 || self.executed_memory == 0 {
            return Err(UnitError::Config(
                "backlog_capacity and executed_memory must be positive".into(),
            ));
        }
        if self.initial_backoff.is_zero() || self.max_backoff < self.initial_backoff {
            return Err(UnitError::Config(
                "backoff must start above zero and not exceed max_backoff".into(),
            ));
        }
        Ok(())
    }
}

/// Hand-written so the device token never ends up in a log line.
impl fmt::Debug for UnitConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("UnitConfig")
            .field("base_url", &self.base_url)
            .field("other_servers", &self.other_servers)
            .field("ca_certificates", &self.ca_certificates.len())
            .field("backlog_file", &self.backlog_file)
            .field("vehicle_id", &self.vehicle_id)
            .field("device_token", &"<redacted>")
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("backoff_reset_after", &self.backoff_reset_after)
            .field("request_timeout", &self.request_timeout)
            .field("backlog_capacity", &self.backlog_capacity)
            .field("max_batch", &self.max_batch)
            .field("executed_memory", &self.executed_memory)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base: &str) -> UnitConfig {
        UnitConfig::new(base, Uuid::nil(), "secret-token")
    }

    #[test]
    fn urls_are_derived_from_the_http_root() {
        let config = config("http://127.0.0.1:8080/");
        assert_eq!(
            config.positions_url().unwrap(),
            "http://127.0.0.1:8080/v1/units/00000000-0000-0000-0000-000000000000/positions"
        );
        assert_eq!(
            config.commands_url().unwrap(),
            "ws://127.0.0.1:8080/v1/units/00000000-0000-0000-0000-000000000000/commands"
        );
    }

    #[test]
    fn https_gives_a_wss_command_channel() {
        let config = config("https://units.example.com");
        assert_eq!(
            config.positions_url().unwrap(),
            "https://units.example.com/v1/units/00000000-0000-0000-0000-000000000000/positions"
        );
        assert_eq!(
            config.commands_url().unwrap(),
            "wss://units.example.com/v1/units/00000000-0000-0000-0000-000000000000/commands"
        );
    }

    #[test]
    fn garbage_urls_are_refused() {
        assert!(matches!(
            config("https://").validate(),
            Err(UnitError::Config(_))
        ));
        assert!(matches!(
            config("ftp://x:1").validate(),
            Err(UnitError::Config(_))
        ));
        assert!(matches!(
            config("127.0.0.1:8080").validate(),
            Err(UnitError::Config(_))
        ));
        assert!(matches!(
            config("http://").validate(),
            Err(UnitError::Config(_))
        ));
        assert!(config("http://x:1").validate().is_ok());
    }

    #[test]
    fn debug_output_hides_the_token() {
        let printed = format!("{:?}", config("http://x:1"));
        assert!(!printed.contains("secret-token"), "{printed}");
    }
}
