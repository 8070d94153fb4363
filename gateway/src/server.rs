//! Start-up and shutdown of the whole process: stores, actors, HTTP.
//!
//! Shutdown order matters for durability: stop accepting connections (on the API and, when
//! configured, the OsmAnd listener), let requests in flight finish (up to
//! `server.shutdown_grace_s`), then stop the actors, then close the stores, whose final flush
//! makes even lazily written data durable.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use actors::clock::{AcceleratedClock, SharedClock, SystemClock};
use actors::locks::{UnitConnections, UnitLink};
use actors::system::SystemOptions;
use actors::{Config, RentalSystem, SystemError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use chrono::TimeDelta;

use crate::app::router;
use crate::auth::{AuthKeys, DeviceAuth, load_or_create_secret};
use crate::client_addr::TrustedProxies;
use crate::state::{AppState, Limits, Shared};

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The configured address.
        address: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server error: {0}")]
    Serve(#[from] std::io::Error),
    /// The actor system failed to start or stop.
    #[error(transparent)]
    System(#[from] SystemError),
    /// The token secret could not be read or created.
    #[error("cannot read or create the token secret")]
    Secret(#[source] std::io::Error),
    /// `server.trusted_proxies` has an entry that is neither an address nor a network.
    #[error("server.trusted_proxies: {0}")]
    TrustedProxies(String),
    /// The configured admin account could not be created.
    #[error("cannot create the configured admin account")]
    Admin(#[source] actors::customers::CustomersError),
}

/// A started server: its address and the means to stop it.
pub struct RunningServer {
    /// The address actually bound (useful with port 0).
    pub address: SocketAddr,
    /// The OsmAnd listener's address actually bound, when `fleet.osmand_bind` is set.
    pub osmand_address: Option<SocketAddr>,
    system: Arc<RentalSystem>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

impl RunningServer {
    /// Binds, starts the system and serves in a background task until [`RunningServer::stop`].
    pub async fn start(
        config: Config,
        options: ServerOptions,
    ) -> Result<RunningServer, ServerError> {
        let (stop, stopped) = oneshot::channel::<()>();
        let listeners = bind(&config).await?;
        let address = listeners.api.local_addr()?;
        let osmand_address = match &listeners.osmand {
            Some(listener) => Some(listener.local_addr()?),
            None => None,
        };
        let (system, units) = options.start_system(&config).await?;
        // Built before returning, so that a server that cannot serve (say, an admin password
        // the rules refuse) fails here rather than resetting its first connections.
        let state = ready_state(&config, system.clone(), units).await?;
        let task = tokio::spawn(serve(
            config,
            listeners,
            system.clone(),
            state,
            async move {
                let _ = stopped.await;
            },
        ));
        Ok(RunningServer {
            address,
            osmand_address,
            system,
            stop,
            task,
        })
    }

    /// The running system behind the server.
    pub fn system(&self) -> &Arc<RentalSystem> {
        &self.system
    }

    /// Stops accepting, drains, stops the actors and flushes the stores.
    pub async fn stop(self) -> Result<(), ServerError> {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(result) => result,
            Err(error) => Err(ServerError::Serve(std::io::Error::other(error))),
        }
    }
}

/// Runs the server until `shutdown` resolves (the binary passes [`shutdown_signal`]).
pub async fn run(
    config: Config,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let listeners = bind(&config).await?;
    let (system, units) = options.start_system(&config).await?;
    let state = ready_state(&config, system.clone(), units).await?;
    serve(config, listeners, system, state, shutdown).await
}

/// The handlers' state; on failure the system is stopped (its stores flushed) first.
async fn ready_state(
    config: &Config,
    system: Arc<RentalSystem>,
    units: Arc<UnitConnections>,
) -> Result<AppState, ServerError> {
    match app_state(config, system.clone(), units).await {
        Ok(state) => Ok(state),
        Err(error) => {
            let _ = system.shutdown().await;
            Err(error)
        }
    }
}

/// The handlers' shared state: token keys (with the secret kept in the data directory when
/// none is configured), the admin account from the configuration, limits and metrics.
async fn app_state(
    config: &Config,
    system: Arc<RentalSystem>,
    units: Arc<UnitConnections>,
) -> Result<AppState, ServerError> {
    let trusted_proxies = TrustedProxies::parse(&config.server.trusted_proxies)
        .map_err(ServerError::TrustedProxies)?;
    let secret = load_or_create_secret(&config.auth.jwt_secret, &config.storage.data_dir)
        .map_err(ServerError::Secret)?;
    let auth = AuthKeys::new(
        &secret,
        TimeDelta::seconds(config.auth.access_token_ttl_s as i64),
        TimeDelta::seconds(config.auth.refresh_token_ttl_s as i64),
    );
    let services = system.services().clone();
    let (email, password) = (&config.auth.admin_email, &config.auth.admin_password);
    let configured =
        (!email.is_empty() && !password.is_empty()).then_some((email.as_str(), password.as_str()));
    let provisioned = services
        .customers
        .provision_admin(configured)
        .await
        .map_err(ServerError::Admin)?;
    // The address itself is not logged: it names the account attackers would aim at.
    if let Some(admin) = provisioned.admin {
        tracing::info!(admin = %admin.subject, "admin account ready");
    }
    if provisioned.address_taken {
        tracing::error!(
            "auth.admin_email belongs to a customer account: no administrator was provisioned; \
             configure another address"
        );
    }
    let limits = Arc::new(Limits::from_config(config));
    limits.forget_idle_periodically();
    Ok(AppState::new(Shared {
        system,
        services,
        auth: Arc::new(auth),
        devices: Arc::new(DeviceAuth::default()),
        limits,
        trusted_proxies,
        config: Arc::new(config.clone()),
        metrics: crate::metrics::handle(),
        units,
        draining: AtomicBool::new(false),
    }))
}

/// How the server runs its system; the caller chooses both, nothing is defaulted.
pub struct ServerOptions {
    /// Where time comes from.
    pub clock: SharedClock,
    /// How the locks service's commands reach the car units: in production
    /// [`UnitLink::Remote`], whose connections the WebSocket channel
    /// (`/v1/units/{id}/commands`) accepts. With in-process units the channel still accepts
    /// units, but no command goes through it.
    pub units: UnitLink,
}

impl ServerOptions {
    /// The clock a configuration asks for (the wall clock, or an accelerated one for a staging
    /// deployment under the simulator, `server.clock_speedup`), with commands sent through
    /// `units`.
    pub fn for_config(config: &Config, units: UnitLink) -> Self {
        let speedup = config.server.clock_speedup;
        let clock: SharedClock = if speedup > 1 {
            tracing::warn!(
                speedup,
                "the services' clock runs faster than real time: load tests only, never production"
            );
            Arc::new(AcceleratedClock::new(chrono::Utc::now(), speedup))
        } else {
            Arc::new(SystemClock)
        };
        ServerOptions { clock, units }
    }

    /// Starts the system; answers it with the connections the WebSocket channel serves.
    async fn start_system(
        self,
        config: &Config,
    ) -> Result<(Arc<RentalSystem>, Arc<UnitConnections>), ServerError> {
        let connections = self.units.connections().cloned().unwrap_or_default();
        let options = SystemOptions {
            clock: self.clock,
            units: self.units,
            subscribers: Vec::new(),
        };
        let system = RentalSystem::start(config, options).await?;
        Ok((Arc::new(system), connections))
    }
}

/// The sockets the process serves: the API, and the OsmAnd listener when configured.
struct Listeners {
    api: TcpListener,
    osmand: Option<TcpListener>,
}

/// Binds every configured address before anything starts, so a taken port fails at once.
async fn bind(config: &Config) -> Result<Listeners, ServerError> {
    let address = config.server.bind;
    let api = TcpListener::bind(address)
        .await
        .map_err(|source| ServerError::Bind { address, source })?;
    let osmand = crate::osmand::bind(config)
        .await
        .map_err(|source| ServerError::Bind {
            address: config.fleet.osmand_address().unwrap_or(address),
            source,
        })?;
    Ok(Listeners { api, osmand })
}

async fn serve(
    config: Config,
    listeners: Listeners,
    system: Arc<RentalSystem>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let Listeners {
        api: listener,
        osmand,
    } = listeners;
    let address = listener.local_addr()?;
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tracing::info!(
        url = %format!("http://{address}"),
        data_dir = %config.storage.data_dir.display(),
        "ev-rental listening"
    );

    // The OsmAnd listener stops accepting when the API does.
    let (stop_osmand, osmand_stopping) = tokio::sync::watch::channel(false);
    let osmand = osmand.map(|listener| {
        let mut stopping = osmand_stopping;
        tokio::spawn(crate::osmand::serve(listener, state.clone(), async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        }))
    });

    let (draining, drain_started) = oneshot::channel::<()>();
    let drain_delay = Duration::from_secs(config.server.drain_delay_s);
    let graceful = async move {
        shutdown.await;
        state.start_draining();
        if !drain_delay.is_zero() {
            tracing::info!(
                ?drain_delay,
                "shutdown requested: not ready any more, still serving"
            );
            tokio::time::sleep(drain_delay).await;
        }
        tracing::info!("no new connections, draining requests in flight");
        let _ = stop_osmand.send(true);
        let _ = draining.send(());
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(graceful);
    let grace = Duration::from_secs(config.server.shutdown_grace_s);
    let served = tokio::spawn(async move {
        let api = server.await;
        if let Some(osmand) = osmand {
            match osmand.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(%error, "the OsmAnd listener failed"),
                Err(error) => tracing::error!(%error, "the OsmAnd listener's task failed"),
            }
        }
        api
    });
    let _ = drain_started.await;
    match tokio::time::timeout(grace, served).await {
        Ok(Ok(result)) => result?,
        Ok(Err(error)) => tracing::error!(%error, "server task failed"),
        Err(_) => tracing::warn!(
            ?grace,
            "requests still in flight after the grace period; stopping anyway"
        ),
    }

    system.shutdown().await?;
    tracing::info!("stores flushed; bye");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
