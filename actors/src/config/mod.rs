//! Typed configuration: `config.toml`, then `EVR_<SECTION>__<KEY>` environment overrides,
//! then validation.
//!
//! The defaults below are the whole schema: an override must name a key that exists in it, and
//! its text is parsed as the type of that key's default, so `EVR_STORAGE__FLUSH_EVERY_MS=abc`
//! fails with the key's name rather than as a confusing type error later. A file key the
//! schema does not know is refused too (a typo must not silently fall back to a default).

mod cluster;
mod console;
mod events;
mod fleet_rules;
mod load;
mod network;
mod notify;
mod secret_rules;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;

pub use cluster::{ClusterConfig, is_token};
pub use console::{ConsoleConfig, Neighbourhood};
pub use events::EventsConfig;
pub use load::ConfigError;
pub use network::IpNetwork;
pub use notify::NotifyConfig;
use serde::{Deserialize, Serialize};
pub use storage::StorageConfig;

/// The prefix of every environment override.
pub const ENV_PREFIX: &str = "EVR_";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The HTTP server.
    pub server: ServerConfig,
    /// Where and how the stores keep data.
    pub storage: StorageConfig,
    /// Tokens and the initial admin account.
    pub auth: AuthConfig,
    /// Reservation rules and prices.
    pub rental: RentalConfig,
    /// The fleet, its service area and its car units.
    pub fleet: FleetConfig,
    /// The payment provider.
    pub billing: BillingConfig,
    /// E-mail and operator webhooks.
    pub notify: NotifyConfig,
    /// The operators' console.
    pub console: ConsoleConfig,
    /// The operator's event log and the position events.
    pub events: EventsConfig,
    /// Several nodes over NATS JetStream (off by default).
    pub cluster: ClusterConfig,
    /// The fleet simulator's defaults.
    pub simulator: SimulatorConfig,
}

/// The HTTP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub bind: SocketAddr,
    /// `text` for people, `json` for log collectors.
    pub log_format: LogFormat,
    /// How long shutdown waits for requests in flight before it stops waiting, in seconds.
    pub shutdown_grace_s: u64,
    /// Seconds between a shutdown request and closing the listener, during which `/readyz`
    /// answers 503 while requests are still served: a load balancer polling readiness then
    /// stops routing here before connections are refused. 0 closes at once.
    pub drain_delay_s: u64,
    /// Largest request body accepted, in bytes (a batch of 500 fixes is about 60 KB).
    pub max_body_bytes: usize,
    /// A request still running after this many seconds is answered 504.
    pub request_timeout_s: u64,
    /// Requests processed at once; beyond this the server sheds load with 503 and
    /// `Retry-After` rather than queueing without bound.
    pub max_concurrent_requests: usize,
    /// Failed logins per account (e-mail) per minute; past them, only the addresses that
    /// failed against the account are refused (see `gateway::login_limit`).
    pub login_per_email_per_min: u32,
    /// Login attempts per client IP per minute.
    pub login_per_ip_per_min: u32,
    /// Registrations per client IP per minute (each costs an argon2 hash and a card check).
    pub register_per_ip_per_min: u32,
    /// Reverse proxies (IP addresses or CIDR networks) whose `X-Forwarded-For` is believed:
    /// behind them the client is the rightmost address of that header they did not add.
    pub trusted_proxies: Vec<String>,
    /// Requests per minute one car unit may make (a unit reports every 30 s while moving, and
    /// sends its backlog in batches after a gap in coverage).
    pub device_requests_per_min: u32,
    /// Simulated seconds per real second of the services' clock. Only for load tests of a
    /// staging deployment with the simulator (`simulator --target`): every window, deadline,
    /// price and command timeout follows this clock, so production runs with 1.
    pub clock_speedup: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            log_format: LogFormat::Text,
            shutdown_grace_s: 10,
            drain_delay_s: 0,
            max_body_bytes: 1024 * 1024,
            request_timeout_s: 30,
            max_concurrent_requests: 1024,
            login_per_email_per_min: 5,
            login_per_ip_per_min: 30,
            register_per_ip_per_min: 10,
            trusted_proxies: Vec::new(),
            device_requests_per_min: 60,
            clock_speedup: 1,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Tokens, the initial admin account and the key of personal data.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// HMAC secret for access tokens, at least 32 bytes. Empty: one is generated at first
    /// start and kept in the data directory, so tokens survive restarts.
    pub jwt_secret: String,
    /// The data key: 64 hex digits (256 bits) that wrap every customer's own key and key the
    /// blind indexes of CPF and e-mail. Empty: one is generated at first start into the data
    /// directory (file `data_key`, mode 0600); set it from a secret store so that a copy of
    /// the data directory alone reveals no personal data.
    pub data_key: String,
    /// Earlier data keys, during a rotation: at start every customer key still wrapped by one
    /// of them is wrapped again by `data_key` and the blind indexes are rebuilt; afterwards
    /// they may be removed (see docs/architecture.md, "Personal data at rest").
    pub previous_data_keys: Vec<String>,
    /// E-mail of the admin account created at start. Empty: no admin is created.
    pub admin_email: String,
    /// Password of that admin account.
    pub admin_password: String,
    /// Administrators must use two-factor authentication: one without it can only set it up
    /// (its login answers 403 `totp-setup-required` with a token good for that alone).
    pub require_admin_totp: bool,
    /// Lifetime of an access token, in seconds.
    pub access_token_ttl_s: u64,
    /// Lifetime of a refresh token, in seconds.
    pub refresh_token_ttl_s: u64,
    /// Cluster mode: where the customers' key vault is replicated (set by the node that leads,
    /// never read from a file). Empty in single-node mode.
    #[serde(skip)]
    pub vault_replica: crate::customers::VaultReplicaSlot,
}

impl std::fmt::Debug for AuthConfig {
    /// Secrets never reach a log, even from a debug print of the configuration.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |secret: &str| if secret.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("AuthConfig")
            .field("jwt_secret", &redacted(&self.jwt_secret))
            .field("data_key", &redacted(&self.data_key))
            .field("previous_data_keys", &self.previous_data_keys.len())
            .field("admin_email", &redacted(&self.admin_email))
            .field("admin_password", &redacted(&self.admin_password))
            .field("require_admin_totp", &self.require_admin_totp)
            .field("access_token_ttl_s", &self.access_token_ttl_s)
            .field("refresh_token_ttl_s", &self.refresh_token_ttl_s)
            .finish()
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            jwt_secret: String::new(),
            data_key: String::new(),
            previous_data_keys: Vec::new(),
            admin_email: String::new(),
            admin_password: String::new(),
            require_admin_totp: false,
            access_token_ttl_s: 15 * 60,
            refresh_token_ttl_s: 30 * 24 * 3600,
            vault_replica: crate::customers::VaultReplicaSlot::default(),
        }
    }
}

/// Reservation rules and prices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RentalConfig {
    /// Shortest reservation, in hours.
    pub min_hours: u32,
    /// Longest reservation, in hours.
    pub max_hours: u32,
    /// How far ahead a reservation may start, in days. A card hold lapses after about seven
    /// days, so this stays below that.
    pub max_days_ahead: u32,
    /// How far in the past a start may be and still be accepted (clock skew), in seconds.
    pub start_tolerance_s: u64,
    /// How long before the start the renter may already unlock, in minutes.
    pub unlock_grace_min: u32,
    /// Overtime is billed per started block of this many minutes.
    pub overtime_block_min: u32,
    /// Fee for returning the car after the reservation's end, in centavos.
    pub late_fee_cents: i64,
    /// Hours of the hourly rate charged when a car is never unlocked.
    pub no_show_fee_hours: u32,
    /// Minutes after the end of a rental still under way at which the system ends it: locks
    /// the car if it can, settles what is due and completes the reservation, so that no rental
    /// keeps a car (and its access) forever.
    pub auto_end_after_min: u32,
}

impl Default for RentalConfig {
    fn default() -> Self {
        RentalConfig {
            min_hours: 2,
            max_hours: 6,
            max_days_ahead: 5,
            start_tolerance_s: 60,
            unlock_grace_min: 15,
            overtime_block_min: 15,
            late_fee_cents: 5_000,
            no_show_fee_hours: 1,
            auto_end_after_min: 60,
        }
    }
}

/// The fleet, its service area and its car units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FleetConfig {
    /// Seconds an entity actor may stay idle before it is passivated.
    pub idle_timeout_s: u64,
    /// Seconds a lock or unlock command waits for the car unit's acknowledgement.
    pub command_timeout_s: u64,
    /// Seconds between the server's pings on a unit's command channel.
    pub unit_ping_interval_s: u64,
    /// A unit silent for this many seconds (no frame, no pong) is taken for dead and dropped.
    pub unit_silence_timeout_s: u64,
    /// A fix implying a faster move than this from the previous one is flagged, in km/h.
    pub max_plausible_speed_kmh: f64,
    /// The area where cars may be used, as a closed ring of `[longitude, latitude]` points.
    pub service_area: Vec<[f64; 2]>,
    /// Days a car's position history is kept; older fixes are purged (the latest fix of each
    /// car stays). At least 1.
    pub position_retention_days: u32,
    /// Address and port of the OsmAnd protocol listener (what Traccar Client sends; usually
    /// port 5055), or empty for none. The protocol has no credential beyond the tracker id:
    /// expose it through a TLS proxy with an allow-list, not bare on the internet.
    pub osmand_bind: String,
    /// Whether an OsmAnd tracker's battery (`batt`, `charge`; `battery` in Traccar Client's
    /// JSON) is the car's: a tracker on the car's own supply that reports its charge. A phone
    /// running Traccar Client reports the phone's battery, which must never decide whether a
    /// car may be booked: set `false` and those fields are dropped (the car's charge then comes
    /// from its own unit, or stays unknown).
    pub osmand_battery_is_car: bool,
    /// Cars whose last reported charge is below this percentage are not offered and cannot
    /// be booked (problem `battery-low`). 0 turns the rule off.
    pub min_battery_pct: f64,
    /// Minutes after which a car's last battery report no longer counts: its state is
    /// `unknown` (offered, flagged) until the unit reports again.
    pub battery_stale_min: u32,
    /// Energy a car uses in city driving, kWh per 100 km, for the range of cars registered
    /// with a battery capacity but no rated range.
    pub consumption_kwh_per_100km: f64,
    /// Average speed of a rental over its whole duration, km/h: a booking of `h` hours needs
    /// `h ×` this many kilometres of range.
    pub city_average_speed_kmh: f64,
}

impl FleetConfig {
    /// The OsmAnd listener's address, or `None` when it is off. Validated at load, so an
    /// address that does not parse here is treated as off.
    pub fn osmand_address(&self) -> Option<SocketAddr> {
        let text = self.osmand_bind.trim();
        (!text.is_empty()).then(|| text.parse().ok()).flatten()
    }
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            idle_timeout_s: 300,
            command_timeout_s: 10,
            unit_ping_interval_s: 15,
            unit_silence_timeout_s: 45,
            max_plausible_speed_kmh: 250.0,
            service_area: florianopolis_service_area(),
            position_retention_days: 90,
            osmand_bind: String::new(),
            osmand_battery_is_car: true,
            min_battery_pct: 25.0,
            battery_stale_min: 60,
            consumption_kwh_per_100km: 15.5,
            city_average_speed_kmh: 25.0,
        }
    }
}

/// Santa Catarina Island and the continental districts of Florianópolis (Estreito, Coqueiros,
/// Capoeiras), as a coarse ring that follows the coast with some sea margin.
fn florianopolis_service_area() -> Vec<[f64; 2]> {
    vec![
        [-48.560, -27.370],
        [-48.360, -27.370],
        [-48.360, -27.600],
        [-48.420, -27.700],
        [-48.480, -27.850],
        [-48.580, -27.850],
        [-48.580, -27.650],
        [-48.565, -27.625],
        [-48.625, -27.625],
        [-48.625, -27.575],
        [-48.570, -27.570],
        [-48.560, -27.500],
        [-48.560, -27.370],
    ]
}

/// The payment provider.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BillingConfig {
    /// Which provider adapter to use: `sandbox` (embedded: it keeps its own records in the
    /// billing store and approves or declines by test card number), `stripe` or `mercadopago`.
    pub provider: String,
    /// Seconds a call to the provider may take.
    pub provider_timeout_s: u64,
    /// Stripe's API root (a test double's address in tests).
    pub stripe_api_base: String,
    /// Stripe's secret API key (`sk_live_…` or `sk_test_…`); required with `stripe`.
    pub stripe_secret_key: String,
    /// The signing secret of the Stripe webhook endpoint (`whsec_…`); required with `stripe`.
    pub stripe_webhook_secret: String,
    /// Mercado Pago's API root.
    pub mercadopago_api_base: String,
    /// Mercado Pago's access token; required with `mercadopago`.
    pub mercadopago_access_token: String,
    /// The secret Mercado Pago signs webhook notifications with; required with `mercadopago`.
    pub mercadopago_webhook_secret: String,
}

impl std::fmt::Debug for BillingConfig {
    /// Secrets never reach a log, even from a debug print of the configuration.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |secret: &str| if secret.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("BillingConfig")
            .field("provider", &self.provider)
            .field("provider_timeout_s", &self.provider_timeout_s)
            .field("stripe_api_base", &self.stripe_api_base)
            .field("stripe_secret_key", &redacted(&self.stripe_secret_key))
            .field(
                "stripe_webhook_secret",
                &redacted(&self.stripe_webhook_secret),
            )
            .field("mercadopago_api_base", &self.mercadopago_api_base)
            .field(
                "mercadopago_access_token",
                &redacted(&self.mercadopago_access_token),
            )
            .field(
                "mercadopago_webhook_secret",
                &redacted(&self.mercadopago_webhook_secret),
            )
            .finish()
    }
}

impl Default for BillingConfig {
    fn default() -> Self {
        BillingConfig {
            provider: "sandbox".into(),
            provider_timeout_s: 10,
            stripe_api_base: "https://api.stripe.com".into(),
            stripe_secret_key: String::new(),
            stripe_webhook_secret: String::new(),
            mercadopago_api_base: "https://api.mercadopago.com".into(),
            mercadopago_access_token: String::new(),
            mercadopago_webhook_secret: String::new(),
        }
    }
}

/// The fleet simulator's defaults (its command-line flags override them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulatorConfig {
    /// Cars to simulate.
    pub cars: u32,
    /// Customers to simulate.
    pub customers: u32,
    /// Simulated minutes to run.
    pub duration_min: u32,
    /// Simulated seconds per real second.
    pub speedup: u32,
    /// Seed of the scenario: the same seed gives the same scenario.
    pub seed: u64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            cars: 5_000,
            customers: 2_000,
            duration_min: 120,
            speedup: 600,
            seed: 42,
        }
    }
}
