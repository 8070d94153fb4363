//! Typed configuration: `config.toml`, then `EVR_<SECTION>__<KEY>` environment overrides,
//! then validation.
//!
//! The defaults below are the whole schema: an override must name a key that exists in it, and
//! its text is parsed as the type of that key's default, so `EVR_STORAGE__FLUSH_EVERY_MS=abc`
//! fails with the key's name rather than as a confusing type error later. A file key the
//! schema does not know is refused too (a typo must not silently fall back to a default).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            log_format: LogFormat::Text,
            shutdown_grace_s: 10,
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

/// Tokens and the initial admin account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// HMAC secret for access tokens. Empty: one is generated at first start and kept in the
    /// data directory, so tokens survive restarts.
    pub jwt_secret: String,
    /// E-mail of the admin account created at start. Empty: no admin is created.
    pub admin_email: String,
    /// Password of that admin account.
    pub admin_password: String,
    /// Lifetime of an access token, in seconds.
    pub access_token_ttl_s: u64,
    /// Lifetime of a refresh token, in seconds.
    pub refresh_token_ttl_s: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            jwt_secret: String::new(),
            admin_email: String::new(),
            admin_password: String::new(),
            access_token_ttl_s: 15 * 60,
            refresh_token_ttl_s: 30 * 24 * 3600,
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
    /// A fix implying a faster move than this from the previous one is flagged, in km/h.
    pub max_plausible_speed_kmh: f64,
    /// The area where cars may be used, as a closed ring of `[longitude, latitude]` points.
    pub service_area: Vec<[f64; 2]>,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            idle_timeout_s: 300,
            command_timeout_s: 10,
            max_plausible_speed_kmh: 250.0,
            service_area: florianopolis_service_area(),
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BillingConfig {
    /// Which provider adapter to use. Only `sandbox` exists: it keeps its own records in the
    /// billing store and approves or declines by test card number.
    pub provider: String,
    /// Seconds a call to the provider may take.
    pub provider_timeout_s: u64,
}

impl Default for BillingConfig {
    fn default() -> Self {
        BillingConfig {
            provider: "sandbox".into(),
            provider_timeout_s: 10,
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

/// Why the configuration could not be loaded. Every variant names the key or file at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read configuration file {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The file is not valid TOML.
    #[error("configuration file {path} is not valid TOML: {reason}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        reason: String,
    },
    /// An environment variable names a key the configuration does not have.
    #[error("{variable}: there is no configuration key `{key}`; known keys: {known}")]
    UnknownOverride {
        /// The variable.
        variable: String,
        /// The key it would set.
        key: String,
        /// The keys of that section, or the sections.
        known: String,
    },
    /// A key has a value of the wrong form.
    #[error("{key}{source_note}: {reason}; expected {expected}")]
    Value {
        /// The dotted key, e.g. `server.bind`.
        key: String,
        /// Where the value came from, when it was an environment variable.
        source_note: String,
        /// What was wrong.
        reason: String,
        /// The form the key takes.
        expected: String,
    },
}

impl Config {
    /// Loads the configuration: `path` if given (it must exist), else `config.toml` in the
    /// working directory if present, else the defaults; then the `EVR_*` entries of `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (text, file) = match path {
            Some(path) => (read(path)?, path.to_owned()),
            None => {
                let default_path = PathBuf::from("config.toml");
                if default_path.exists() {
                    (read(&default_path)?, default_path)
                } else {
                    (String::new(), default_path)
                }
            }
        };
        Config::from_sources(&text, &file, env)
    }

    /// Builds the configuration from a file's text and an environment.
    pub fn from_sources(
        text: &str,
        file: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table =
            text.parse()
                .map_err(|error: toml::de::Error| ConfigError::Syntax {
                    path: file.to_owned(),
                    reason: error.to_string(),
                })?;
        let schema = schema();
        let mut from_env = BTreeMap::new();
        let mut overrides: Vec<(String, String)> = env
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX))
            .collect();
        overrides.sort();
        for (variable, text) in overrides {
            let (section, key, value) = parse_override(&schema, &variable, &text)?;
            let section_table = table
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let Some(section_table) = section_table.as_table_mut() else {
                return Err(value_error(
                    &section,
                    "",
                    "a section must be a table",
                    "a [section]",
                ));
            };
            section_table.insert(key.clone(), value);
            from_env.insert(format!("{section}.{key}"), variable);
        }
        let config: Config = serde_path_to_error::deserialize(table).map_err(|error| {
            let key = error.path().to_string();
            let note = from_env
                .get(&key)
                .map(|variable| format!(" (from {variable})"))
                .unwrap_or_default();
            ConfigError::Value {
                expected: expected_form(&key),
                reason: error.into_inner().to_string(),
                source_note: note,
                key,
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Rules that span keys or go beyond a type.
    fn validate(&self) -> Result<(), ConfigError> {
        let rental = &self.rental;
        if rental.min_hours == 0 || rental.min_hours > rental.max_hours {
            return Err(value_error(
                "rental.min_hours",
                "",
                "must be at least 1 and at most rental.max_hours",
                "a whole number of hours",
            ));
        }
        if rental.max_days_ahead == 0 || rental.max_days_ahead > 7 {
            return Err(value_error(
                "rental.max_days_ahead",
                "",
                "a card hold lapses after about 7 days",
                "1 to 7",
            ));
        }
        if rental.overtime_block_min == 0 {
            return Err(value_error(
                "rental.overtime_block_min",
                "",
                "must be positive",
                "minutes, at least 1",
            ));
        }
        if rental.late_fee_cents < 0 {
            return Err(value_error(
                "rental.late_fee_cents",
                "",
                "must not be negative",
                "centavos, 0 or more",
            ));
        }
        if self.storage.flush_every_ms == 0 {
            return Err(value_error(
                "storage.flush_every_ms",
                "",
                "must be positive",
                "milliseconds, at least 1",
            ));
        }
        if self.storage.cache_capacity_mb == 0 {
            return Err(value_error(
                "storage.cache_capacity_mb",
                "",
                "must be positive",
                "MiB, at least 1",
            ));
        }
        if self.fleet.idle_timeout_s == 0 || self.fleet.command_timeout_s == 0 {
            return Err(value_error(
                "fleet.idle_timeout_s",
                "",
                "timeouts must be positive",
                "seconds, at least 1",
            ));
        }
        let area = &self.fleet.service_area;
        let in_range = area
            .iter()
            .all(|[lon, lat]| (-180.0..=180.0).contains(lon) && (-90.0..=90.0).contains(lat));
        if area.len() < 4 || !in_range {
            return Err(value_error(
                "fleet.service_area",
                "",
                "needs at least 3 distinct points with longitude in -180..=180 and latitude in -90..=90",
                "[[lon, lat], ...]",
            ));
        }
        if self.billing.provider != "sandbox" {
            return Err(value_error(
                "billing.provider",
                "",
                "unknown provider",
                "\"sandbox\"",
            ));
        }
        if self.simulator.speedup == 0 {
            return Err(value_error(
                "simulator.speedup",
                "",
                "must be positive",
                "a whole number, at least 1",
            ));
        }
        Ok(())
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: path.to_owned(),
        reason: error.to_string(),
    })
}

fn value_error(key: &str, note: &str, reason: &str, expected: &str) -> ConfigError {
    ConfigError::Value {
        key: key.to_owned(),
        source_note: note.to_owned(),
        reason: reason.to_owned(),
        expected: expected.to_owned(),
    }
}

/// The defaults as a TOML table: the schema that overrides are checked and typed against.
fn schema() -> toml::Table {
    toml::Table::try_from(Config::default()).unwrap_or_default()
}

/// Turns `EVR_SECTION__KEY=text` into a typed TOML value for `section.key`.
fn parse_override(
    schema: &toml::Table,
    variable: &str,
    text: &str,
) -> Result<(String, String, toml::Value), ConfigError> {
    let rest = &variable[ENV_PREFIX.len()..];
    let unknown = |key: String, known: String| ConfigError::UnknownOverride {
        variable: variable.to_owned(),
        key,
        known,
    };
    let Some((section, key)) = rest.split_once("__") else {
        return Err(unknown(rest.to_lowercase(), join_keys(schema)));
    };
    let (section, key) = (section.to_lowercase(), key.to_lowercase());
    let Some(section_schema) = schema.get(&section).and_then(toml::Value::as_table) else {
        return Err(unknown(format!("{section}.{key}"), join_keys(schema)));
    };
    let Some(default) = section_schema.get(&key) else {
        return Err(unknown(
            format!("{section}.{key}"),
            join_keys(section_schema),
        ));
    };
    let dotted = format!("{section}.{key}");
    let note = format!(" (from {variable})");
    let value = match default {
        toml::Value::String(_) => toml::Value::String(text.to_owned()),
        toml::Value::Integer(_) => text
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| {
                value_error(
                    &dotted,
                    &note,
                    &format!("`{text}` is not a whole number"),
                    "an integer",
                )
            })?,
        toml::Value::Float(_) => {
            text.trim()
                .parse::<f64>()
                .map(toml::Value::Float)
                .map_err(|_| {
                    value_error(
                        &dotted,
                        &note,
                        &format!("`{text}` is not a number"),
                        "a number",
                    )
                })?
        }
        toml::Value::Boolean(_) => text
            .trim()
            .parse::<bool>()
            .map(toml::Value::Boolean)
            .map_err(|_| {
                value_error(
                    &dotted,
                    &note,
                    &format!("`{text}` is not a boolean"),
                    "true or false",
                )
            })?,
        _ => {
            // Arrays and tables are written in TOML syntax, e.g. `[[-48.5, -27.6], ...]`.
            let wrapped = format!("value = {text}");
            let mut parsed: toml::Table = wrapped.parse().map_err(|_| {
                value_error(
                    &dotted,
                    &note,
                    "not a TOML value",
                    "a TOML array, e.g. [[-48.5, -27.6], [-48.4, -27.6], [-48.4, -27.5]]",
                )
            })?;
            parsed
                .remove("value")
                .unwrap_or(toml::Value::Array(Vec::new()))
        }
    };
    Ok((section, key, value))
}

fn join_keys(table: &toml::Table) -> String {
    table.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// The form a key takes, for error messages.
fn expected_form(key: &str) -> String {
    match key {
        "server.bind" => "an address and port such as 127.0.0.1:8080 or [::1]:8080".into(),
        "server.log_format" => "\"text\" or \"json\"".into(),
        "storage.data_dir" => "a directory path".into(),
        "fleet.service_area" => "[[lon, lat], ...] with at least 3 points".into(),
        _ => {
            let schema = schema();
            let default = key
                .split_once('.')
                .and_then(|(section, name)| schema.get(section)?.as_table()?.get(name).cloned());
            match default {
                Some(toml::Value::Integer(_)) => "a whole number".into(),
                Some(toml::Value::Float(_)) => "a number".into(),
                Some(toml::Value::Boolean(_)) => "true or false".into(),
                Some(toml::Value::String(_)) => "a string".into(),
                _ => "a key of the documented configuration (see config.toml)".into(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load(text: &str, pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_sources(text, Path::new("test.toml"), env(pairs))
    }

    #[test]
    fn empty_file_gives_the_defaults() {
        assert_eq!(load("", &[]).unwrap(), Config::default());
    }

    #[test]
    fn the_shipped_config_file_parses_and_matches_the_defaults() {
        let text = include_str!("../../config.toml");
        assert_eq!(load(text, &[]).unwrap(), Config::default());
    }

    #[test]
    fn environment_overrides_the_file_with_typed_values() {
        let config = load(
            "[server]\nbind = \"127.0.0.1:9000\"\n",
            &[
                ("EVR_SERVER__BIND", "0.0.0.0:8081"),
                ("EVR_STORAGE__DATA_DIR", "/tmp/evr"),
                ("EVR_STORAGE__FLUSH_EVERY_MS", "25"),
                ("EVR_AUTH__JWT_SECRET", "12345"),
                (
                    "EVR_FLEET__SERVICE_AREA",
                    "[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]",
                ),
                ("HOME", "/root"),
            ],
        )
        .unwrap();
        assert_eq!(config.server.bind, "0.0.0.0:8081".parse().unwrap());
        assert_eq!(config.storage.data_dir, PathBuf::from("/tmp/evr"));
        assert_eq!(config.storage.flush_every_ms, 25);
        assert_eq!(config.auth.jwt_secret, "12345");
        assert_eq!(config.fleet.service_area.len(), 4);
    }

    #[test]
    fn an_unparsable_address_names_the_key_and_the_form() {
        let error = load("[server]\nbind = \"localhost\"\n", &[]).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("server.bind: "), "{message}");
        assert!(message.contains("127.0.0.1:8080"), "{message}");

        let error = load("", &[("EVR_SERVER__BIND", "nowhere:port")]).unwrap_err();
        assert!(
            error.to_string().contains("(from EVR_SERVER__BIND)"),
            "{error}"
        );
    }

    #[test]
    fn unknown_keys_are_refused_in_the_file_and_the_environment() {
        let error = load("[server]\nbindd = \"127.0.0.1:1\"\n", &[]).unwrap_err();
        assert!(error.to_string().contains("bindd"), "{error}");

        let error = load("[nosuch]\nx = 1\n", &[]).unwrap_err();
        assert!(error.to_string().contains("nosuch"), "{error}");

        let error = load("", &[("EVR_SERVER__PORT", "1")]).unwrap_err();
        assert!(
            matches!(error, ConfigError::UnknownOverride { ref key, .. } if key == "server.port"),
            "{error}"
        );

        let error = load("", &[("EVR_SERVERBIND", "1")]).unwrap_err();
        assert!(
            matches!(error, ConfigError::UnknownOverride { .. }),
            "{error}"
        );
    }

    #[test]
    fn wrong_types_name_the_key() {
        let error = load("", &[("EVR_STORAGE__FLUSH_EVERY_MS", "soon")]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("storage.flush_every_ms (from EVR_STORAGE__FLUSH_EVERY_MS)"),
            "{error}"
        );

        let error = load("[rental]\nmax_hours = \"six\"\n", &[]).unwrap_err();
        assert!(error.to_string().starts_with("rental.max_hours"), "{error}");
    }

    #[test]
    fn cross_key_rules_are_checked() {
        let error = load("[rental]\nmin_hours = 7\n", &[]).unwrap_err();
        assert!(error.to_string().starts_with("rental.min_hours"), "{error}");
        let error = load("[fleet]\nservice_area = [[0.0, 0.0]]\n", &[]).unwrap_err();
        assert!(
            error.to_string().starts_with("fleet.service_area"),
            "{error}"
        );
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let error = load("[server\n", &[]).unwrap_err();
        assert!(matches!(error, ConfigError::Syntax { .. }), "{error}");
        assert!(error.to_string().contains("test.toml"));
    }

    #[test]
    fn a_missing_explicit_file_is_an_error() {
        let error = Config::load(Some(Path::new("/nonexistent/ev.toml")), env(&[])).unwrap_err();
        assert!(matches!(error, ConfigError::Read { .. }));
    }
}
