//! What every handler can reach.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actors::locks::UnitConnections;
use actors::system::Services;
use actors::{Config, RentalSystem};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::{AuthKeys, DeviceAuth};
use crate::client_addr::TrustedProxies;
use crate::login_limit::LoginLimits;
use crate::rate_limit::RateLimiter;

/// The per-key limits the API enforces itself.
pub struct Limits {
    /// Log-ins: per client address, and failed ones per account (see [`crate::login_limit`]).
    pub login: LoginLimits,
    /// Registrations per client address.
    pub register_per_ip: RateLimiter,
    /// Requests per car unit.
    pub per_device: RateLimiter,
}

impl Limits {
    /// The limits of `config`.
    pub fn from_config(config: &Config) -> Self {
        let server = &config.server;
        Limits {
            login: LoginLimits::per_minute(
                server.login_per_email_per_min,
                server.login_per_ip_per_min,
            ),
            register_per_ip: RateLimiter::per_minute(server.register_per_ip_per_min),
            per_device: RateLimiter::per_minute(server.device_requests_per_min),
        }
    }

    /// Forgets idle keys every [`crate::rate_limit::FORGET_IDLE_EVERY`] until the limits are
    /// dropped (the task holds them weakly).
    pub fn forget_idle_periodically(self: &Arc<Self>) {
        let limits = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(crate::rate_limit::FORGET_IDLE_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                let Some(limits) = limits.upgrade() else {
                    return;
                };
                limits.login.forget_idle();
                for limiter in [&limits.register_per_ip, &limits.per_device] {
                    limiter.forget_idle();
                }
            }
        });
    }
}

/// Shared by every handler. axum clones the state for every request, so it is one reference
/// count behind an `Arc`: cloning the fields themselves (seven service handles, each several
/// `Arc`s) showed up as a sixth of the CPU of position ingest.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// The state holding `shared`.
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] gives access to.
pub struct Shared {
    /// The running actor system (readiness, stats, clock).
    pub system: Arc<RentalSystem>,
    /// The services' handles.
    pub services: Services,
    /// Token signing and checking.
    pub auth: Arc<AuthKeys>,
    /// Verified device credentials.
    pub devices: Arc<DeviceAuth>,
    /// Rate limits.
    pub limits: Arc<Limits>,
    /// Whose `X-Forwarded-For` names the client (see [`crate::client_addr`]).
    pub trusted_proxies: TrustedProxies,
    /// The configuration.
    pub config: Arc<Config>,
    /// The Prometheus registry.
    pub metrics: PrometheusHandle,
    /// The car units' live command channels.
    pub units: Arc<UnitConnections>,
    /// Set once shutdown starts: `/readyz` answers 503 from then on.
    pub draining: AtomicBool,
}

impl AppState {
    /// The time as the services see it.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.system.clock().now()
    }

    /// Whether shutdown has started.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Marks the start of shutdown.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }
}
