//! Loading: the file, then the environment overrides typed against the defaults, then the
//! rules that span keys.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::{Config, ENV_PREFIX};

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
        if u64::from(rental.unlock_grace_min) >= 60 * u64::from(rental.min_hours) {
            return Err(value_error(
                "rental.unlock_grace_min",
                "",
                "the unlock grace must be shorter than the shortest rental, or it could reach \
                 into the previous reservation's window",
                "minutes, below 60 × rental.min_hours",
            ));
        }
        if rental.auto_end_after_min == 0 || rental.auto_end_after_min > 24 * 60 {
            return Err(value_error(
                "rental.auto_end_after_min",
                "",
                "a rental must end on its own, at the latest a day after its end",
                "minutes, 1 to 1440",
            ));
        }
        self.auth.validate()?;
        let server = &self.server;
        if server.max_body_bytes < 1024
            || server.request_timeout_s == 0
            || server.max_concurrent_requests == 0
        {
            return Err(value_error(
                "server.max_body_bytes",
                "",
                "limits must be positive (body at least 1024 bytes)",
                "positive whole numbers",
            ));
        }
        if server.login_per_email_per_min == 0
            || server.login_per_ip_per_min == 0
            || server.device_requests_per_min == 0
        {
            return Err(value_error(
                "server.login_per_email_per_min",
                "",
                "rates must be positive",
                "requests per minute, at least 1",
            ));
        }
        if server.register_per_ip_per_min == 0 {
            return Err(value_error(
                "server.register_per_ip_per_min",
                "",
                "rates must be positive",
                "requests per minute, at least 1",
            ));
        }
        if let Some(reason) = server
            .trusted_proxies
            .iter()
            .find_map(|entry| entry.parse::<super::IpNetwork>().err())
        {
            return Err(value_error(
                "server.trusted_proxies",
                "",
                &reason,
                TRUSTED_PROXIES_FORM,
            ));
        }
        if server.drain_delay_s > 300 {
            return Err(value_error(
                "server.drain_delay_s",
                "",
                "a deployment's readiness probe needs seconds, not minutes, to notice",
                "seconds, 0 to 300",
            ));
        }
        if !(1..=3_600).contains(&server.clock_speedup) {
            return Err(value_error(
                "server.clock_speedup",
                "",
                "1 in production; up to 3600 for load tests",
                "a whole number from 1 to 3600",
            ));
        }
        if self.storage.commit_window_us > 50_000 {
            return Err(value_error(
                "storage.commit_window_us",
                "",
                "a commit must not wait more than 50 ms for others",
                "microseconds, 0 to 50000",
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
        if self.fleet.unit_ping_interval_s == 0
            || self.fleet.unit_silence_timeout_s <= self.fleet.unit_ping_interval_s
        {
            return Err(value_error(
                "fleet.unit_silence_timeout_s",
                "",
                "must be longer than fleet.unit_ping_interval_s (which must be positive)",
                "seconds",
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
        if self.fleet.position_retention_days == 0 {
            return Err(value_error(
                "fleet.position_retention_days",
                "",
                "must be positive",
                "days, at least 1",
            ));
        }
        let osmand = self.fleet.osmand_bind.trim();
        if !osmand.is_empty() && osmand.parse::<SocketAddr>().is_err() {
            return Err(value_error(
                "fleet.osmand_bind",
                "",
                &format!("{osmand:?} is not an address and port"),
                "empty (off), or an address and port such as 0.0.0.0:5055",
            ));
        }
        self.fleet.validate_battery()?;
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
        self.billing.validate()?;
        self.notify.validate()?;
        self.console.validate()?;
        self.events.validate()?;
        self.cluster
            .validate(!self.auth.jwt_secret.is_empty() && !self.auth.data_key.is_empty())?;
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

const TRUSTED_PROXIES_FORM: &str =
    "a list of IP addresses or CIDR networks, e.g. [\"10.0.0.0/8\", \"192.0.2.7\"]";

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: path.to_owned(),
        reason: error.to_string(),
    })
}

pub(super) fn value_error(key: &str, note: &str, reason: &str, expected: &str) -> ConfigError {
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
        "server.trusted_proxies" => TRUSTED_PROXIES_FORM.into(),
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
