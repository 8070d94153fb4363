//! The configuration loaded from text and environments.

use std::path::{Path, PathBuf};

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
    let text = include_str!("../../../config.toml");
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
            ("EVR_AUTH__JWT_SECRET", "12345678901234567890123456789012"),
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
    assert_eq!(config.auth.jwt_secret, "12345678901234567890123456789012");
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
    for speedup in ["0", "3601"] {
        let error = load("", &[("EVR_SERVER__CLOCK_SPEEDUP", speedup)]).unwrap_err();
        assert!(
            error.to_string().starts_with("server.clock_speedup"),
            "{error}"
        );
    }
    let error = load("[fleet]\nposition_retention_days = 0\n", &[]).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("fleet.position_retention_days"),
        "{error}"
    );
    let kept = load("", &[("EVR_FLEET__POSITION_RETENTION_DAYS", "1")]).unwrap();
    assert_eq!(kept.fleet.position_retention_days, 1);
    let accelerated = load("", &[("EVR_SERVER__CLOCK_SPEEDUP", "600")]).unwrap();
    assert_eq!(accelerated.server.clock_speedup, 600);
    let error = load("[rental]\nunlock_grace_min = 120\n", &[]).unwrap_err();
    assert!(
        error.to_string().starts_with("rental.unlock_grace_min"),
        "{error}"
    );
    for minutes in ["0", "1441"] {
        let error = load("", &[("EVR_RENTAL__AUTO_END_AFTER_MIN", minutes)]).unwrap_err();
        assert!(
            error.to_string().starts_with("rental.auto_end_after_min"),
            "{error}"
        );
    }
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

#[test]
fn trusted_proxies_are_addresses_or_networks_and_a_bad_one_is_named() {
    let config = load(
        "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"2001:db8::1\"]\n",
        &[],
    )
    .unwrap();
    assert_eq!(config.server.trusted_proxies.len(), 2);
    let config = load("", &[("EVR_SERVER__TRUSTED_PROXIES", "[\"127.0.0.1\"]")]).unwrap();
    assert_eq!(config.server.trusted_proxies, ["127.0.0.1"]);
    let message = load("[server]\ntrusted_proxies = [\"10.0.0.0/40\"]\n", &[])
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("server.trusted_proxies: `10.0.0.0/40`"),
        "{message}"
    );
    assert!(message.contains("CIDR"), "{message}");
}

#[test]
fn short_signing_secrets_and_malformed_data_keys_stop_the_start() {
    let refused = |variable: &str, value: &str| match load("", &[(variable, value)]) {
        Err(ConfigError::Value { key, .. }) => key,
        other => panic!("{variable}={value}: {other:?}"),
    };
    assert_eq!(
        refused("EVR_AUTH__JWT_SECRET", "too-short"),
        "auth.jwt_secret"
    );
    assert_eq!(refused("EVR_AUTH__DATA_KEY", "abcd"), "auth.data_key");
    assert_eq!(
        refused("EVR_AUTH__DATA_KEY", &"g".repeat(64)),
        "auth.data_key"
    );
    assert_eq!(
        refused("EVR_AUTH__PREVIOUS_DATA_KEYS", "[\"abcd\"]"),
        "auth.previous_data_keys"
    );
    let key = "0f".repeat(32);
    let config = load("", &[("EVR_AUTH__DATA_KEY", key.as_str())]).unwrap();
    assert_eq!(config.auth.data_key, key);
    assert!(
        !format!("{config:?}").contains(&key),
        "the key never reaches a debug print"
    );
}

#[test]
fn a_real_payment_provider_needs_its_secrets_and_hides_them() {
    let refused = |pairs: &[(&str, &str)]| match load("", pairs) {
        Err(ConfigError::Value { key, .. }) => key,
        other => panic!("{pairs:?}: {other:?}"),
    };
    assert_eq!(
        refused(&[("EVR_BILLING__PROVIDER", "paypal")]),
        "billing.provider"
    );
    assert_eq!(
        refused(&[("EVR_BILLING__PROVIDER", "stripe")]),
        "billing.stripe_secret_key"
    );
    assert_eq!(
        refused(&[
            ("EVR_BILLING__PROVIDER", "stripe"),
            ("EVR_BILLING__STRIPE_SECRET_KEY", "sk_test_123")
        ]),
        "billing.stripe_webhook_secret"
    );
    assert_eq!(
        refused(&[("EVR_BILLING__PROVIDER", "mercadopago")]),
        "billing.mercadopago_access_token"
    );
    let config = load(
        "",
        &[
            ("EVR_BILLING__PROVIDER", "stripe"),
            ("EVR_BILLING__STRIPE_SECRET_KEY", "sk_test_123"),
            ("EVR_BILLING__STRIPE_WEBHOOK_SECRET", "whsec_456"),
        ],
    )
    .unwrap();
    let shown = format!("{config:?}");
    assert!(!shown.contains("sk_test_123") && !shown.contains("whsec_456"));
}

#[test]
fn the_osmand_listener_is_off_by_default_and_its_address_is_checked() {
    assert_eq!(Config::default().fleet.osmand_address(), None);
    let on = load("", &[("EVR_FLEET__OSMAND_BIND", "127.0.0.1:5055")]).unwrap();
    assert_eq!(
        on.fleet.osmand_address(),
        Some("127.0.0.1:5055".parse().unwrap())
    );
    let error = load("[fleet]\nosmand_bind = \"port 5055\"\n", &[]).unwrap_err();
    assert!(error.to_string().contains("fleet.osmand_bind"), "{error}");
}

#[test]
fn battery_keys_have_city_ev_defaults_and_refuse_values_no_fleet_can_have() {
    let defaults = Config::default().fleet;
    assert_eq!(defaults.min_battery_pct, 25.0);
    assert_eq!(defaults.battery_stale_min, 60);
    assert_eq!(defaults.consumption_kwh_per_100km, 15.5);
    assert_eq!(defaults.city_average_speed_kmh, 25.0);
    let refused = [
        ("EVR_FLEET__MIN_BATTERY_PCT", "100", "fleet.min_battery_pct"),
        ("EVR_FLEET__MIN_BATTERY_PCT", "-1", "fleet.min_battery_pct"),
        (
            "EVR_FLEET__BATTERY_STALE_MIN",
            "0",
            "fleet.battery_stale_min",
        ),
        (
            "EVR_FLEET__BATTERY_STALE_MIN",
            "10081",
            "fleet.battery_stale_min",
        ),
        (
            "EVR_FLEET__CONSUMPTION_KWH_PER_100KM",
            "0.5",
            "fleet.consumption_kwh_per_100km",
        ),
        (
            "EVR_FLEET__CONSUMPTION_KWH_PER_100KM",
            "nan",
            "fleet.consumption_kwh_per_100km",
        ),
        (
            "EVR_FLEET__CITY_AVERAGE_SPEED_KMH",
            "0",
            "fleet.city_average_speed_kmh",
        ),
        (
            "EVR_FLEET__CITY_AVERAGE_SPEED_KMH",
            "500",
            "fleet.city_average_speed_kmh",
        ),
    ];
    for (variable, value, key) in refused {
        let error = load("", &[(variable, value)]).unwrap_err();
        assert!(
            error.to_string().starts_with(key),
            "{variable}={value}: {error}"
        );
    }
    let off = load(
        "[fleet]\nmin_battery_pct = 0.0\nbattery_stale_min = 10080\n",
        &[],
    )
    .unwrap();
    assert_eq!(off.fleet.min_battery_pct, 0.0);
    assert_eq!(off.fleet.battery_stale_min, 10_080);
    let error = load("[fleet]\ncity_average_speed_kmh = \"fast\"\n", &[]).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("fleet.city_average_speed_kmh"),
        "{error}"
    );
}

#[test]
fn notify_defaults_log_emails_and_send_no_webhooks() {
    let config = load("", &[]).unwrap();
    assert_eq!(config.notify.email, "log");
    assert!(config.notify.webhook_url.is_empty());
    assert_eq!(config.notify.max_attempts, 8);
}

#[test]
fn notify_rules_name_the_key_at_fault() {
    let refused = |pairs: &[(&str, &str)]| match load("", pairs) {
        Err(ConfigError::Value { key, .. }) => key,
        other => panic!("{pairs:?}: {other:?}"),
    };
    assert_eq!(
        refused(&[("EVR_NOTIFY__EMAIL", "sendmail")]),
        "notify.email"
    );
    assert_eq!(refused(&[("EVR_NOTIFY__EMAIL", "smtp")]), "notify.smtp_url");
    assert_eq!(
        refused(&[
            ("EVR_NOTIFY__EMAIL", "smtp"),
            ("EVR_NOTIFY__SMTP_URL", "mail.example.com:587")
        ]),
        "notify.smtp_url"
    );
    assert_eq!(refused(&[("EVR_NOTIFY__FROM", "nobody")]), "notify.from");
    assert_eq!(
        refused(&[("EVR_NOTIFY__PUBLIC_BASE_URL", "app.example.com")]),
        "notify.public_base_url"
    );
    assert_eq!(
        refused(&[("EVR_NOTIFY__WEBHOOK_URL", "https://ops.example.com/hooks")]),
        "notify.webhook_secret"
    );
    assert_eq!(
        refused(&[
            ("EVR_NOTIFY__WEBHOOK_URL", "https://ops.example.com/hooks"),
            ("EVR_NOTIFY__WEBHOOK_SECRET", "whsec_c2hvcnQ=")
        ]),
        "notify.webhook_secret"
    );
    assert_eq!(
        refused(&[("EVR_NOTIFY__MAX_ATTEMPTS", "0")]),
        "notify.max_attempts"
    );
    assert_eq!(
        refused(&[("EVR_NOTIFY__BACKOFF_CAP_S", "5")]),
        "notify.backoff_cap_s"
    );
    assert_eq!(
        refused(&[("EVR_NOTIFY__SEND_TIMEOUT_S", "0")]),
        "notify.send_timeout_s"
    );
}

#[test]
fn notify_secrets_are_accepted_in_form_and_hidden_from_debug_prints() {
    let config = load(
        "",
        &[
            ("EVR_NOTIFY__EMAIL", "smtp"),
            (
                "EVR_NOTIFY__SMTP_URL",
                "smtps://mailer:hunter2@smtp.example.com:465",
            ),
            ("EVR_NOTIFY__WEBHOOK_URL", "https://ops.example.com/hooks"),
            (
                "EVR_NOTIFY__WEBHOOK_SECRET",
                "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            ),
        ],
    )
    .unwrap();
    let shown = format!("{config:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("C2FVsBQ"), "{shown}");
    assert!(shown.contains("ops.example.com"), "{shown}");
}
