//! The `[notify]` section: how the notifications service sends e-mail and operator webhooks,
//! and how hard it tries.

use serde::{Deserialize, Serialize};

use super::load::{ConfigError, value_error};

/// E-mail and operator webhooks.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// `log` writes every e-mail to the log instead of sending it (the system works out of the
    /// box, as a framework's console mail backend does); `smtp` sends through `smtp_url`.
    pub email: String,
    /// The SMTP relay, in lettre's URL form: `smtps://user:pass@host:465` (implicit TLS),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS, refused without it), or plain
    /// `smtp://host:25` only for a relay on the same host or network. Required with `smtp`.
    pub smtp_url: String,
    /// The sender of every e-mail, e.g. `EV Rental <no-reply@example.com>`.
    pub from: String,
    /// Where the app is reachable from outside, for links inside messages.
    pub public_base_url: String,
    /// The operators' endpoint that receives webhooks (POST, JSON, Standard Webhooks
    /// signatures). Empty: no webhooks are sent.
    pub webhook_url: String,
    /// The signing secret of that endpoint: `whsec_` followed by the base64 of 24 to 64 random
    /// bytes. Required when `webhook_url` is set.
    pub webhook_secret: String,
    /// Attempts per message before it is given up (and reported to operators).
    pub max_attempts: u32,
    /// The wait after the first failure, in seconds; it doubles with each failure.
    pub backoff_base_s: u64,
    /// The longest wait between two attempts, in seconds.
    pub backoff_cap_s: u64,
    /// Seconds one attempt (an SMTP session or a webhook POST) may take before it counts as
    /// failed.
    pub send_timeout_s: u64,
    /// How often the delivery loop looks for messages that are due, in milliseconds (real
    /// time: it paces the work; the services' clock decides what is due).
    pub poll_interval_ms: u64,
    /// Days a delivered or given-up message is kept (for operators and for deduplication)
    /// before it is deleted: messages hold addresses and texts about people.
    pub retention_days: u32,
    /// Whether a new customer (and a changed address) must confirm the e-mail address with a
    /// code before booking. Off only for staging load tests that cannot read e-mail.
    pub require_email_confirmation: bool,
    /// Minutes a confirmation code works.
    pub confirmation_ttl_min: u32,
    /// Minutes before a reservation's start that its reminder is sent (0: no reminder).
    pub reminder_before_min: u32,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            email: "log".into(),
            smtp_url: String::new(),
            from: "EV Rental <no-reply@ev-rental.localhost>".into(),
            public_base_url: "http://127.0.0.1:8080".into(),
            webhook_url: String::new(),
            webhook_secret: String::new(),
            max_attempts: 8,
            backoff_base_s: 30,
            backoff_cap_s: 3_600,
            send_timeout_s: 30,
            poll_interval_ms: 1_000,
            retention_days: 14,
            require_email_confirmation: true,
            confirmation_ttl_min: 30,
            reminder_before_min: 30,
        }
    }
}

impl std::fmt::Debug for NotifyConfig {
    /// The SMTP URL may carry a password, and the webhook secret signs for us: neither reaches
    /// a log, even from a debug print of the configuration.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |secret: &str| if secret.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("NotifyConfig")
            .field("email", &self.email)
            .field("smtp_url", &redacted(&self.smtp_url))
            .field("from", &self.from)
            .field("public_base_url", &self.public_base_url)
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &redacted(&self.webhook_secret))
            .field("max_attempts", &self.max_attempts)
            .field("backoff_base_s", &self.backoff_base_s)
            .field("backoff_cap_s", &self.backoff_cap_s)
            .field("send_timeout_s", &self.send_timeout_s)
            .field("poll_interval_ms", &self.poll_interval_ms)
            .field("retention_days", &self.retention_days)
            .field(
                "require_email_confirmation",
                &self.require_email_confirmation,
            )
            .field("confirmation_ttl_min", &self.confirmation_ttl_min)
            .field("reminder_before_min", &self.reminder_before_min)
            .finish()
    }
}

fn is_http_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|rest| !rest.is_empty())
}

impl NotifyConfig {
    /// A known e-mail backend with what it needs, a sender that is an address, webhooks
    /// either off or with a secret, and a retry schedule that ends.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        match self.email.as_str() {
            "log" => {}
            "smtp" => {
                let schemes = ["smtp://", "smtps://"];
                if !schemes
                    .iter()
                    .any(|scheme| self.smtp_url.starts_with(scheme))
                {
                    return Err(value_error(
                        "notify.smtp_url",
                        "",
                        "required with notify.email = \"smtp\", as an smtp:// or smtps:// URL",
                        "smtps://user:pass@host:465 or smtp://user:pass@host:587?tls=required",
                    ));
                }
            }
            _ => {
                return Err(value_error(
                    "notify.email",
                    "",
                    "unknown e-mail backend",
                    "\"log\" or \"smtp\"",
                ));
            }
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(value_error(
                "notify.from",
                "",
                "not an e-mail address",
                "an address such as \"EV Rental <no-reply@example.com>\"",
            ));
        }
        if !is_http_url(&self.public_base_url) {
            return Err(value_error(
                "notify.public_base_url",
                "",
                "not an http(s) URL",
                "an URL such as https://app.example.com",
            ));
        }
        if !self.webhook_url.is_empty() {
            if !is_http_url(&self.webhook_url) {
                return Err(value_error(
                    "notify.webhook_url",
                    "",
                    "not an http(s) URL",
                    "an URL such as https://ops.example.com/hooks, or empty for no webhooks",
                ));
            }
            if crate::notifications::WebhookKey::from_secret(&self.webhook_secret).is_err() {
                return Err(value_error(
                    "notify.webhook_secret",
                    "",
                    "required with notify.webhook_url, as whsec_ and the base64 of 24 to 64 bytes",
                    "whsec_… (e.g. \"whsec_$(openssl rand -base64 32)\")",
                ));
            }
        }
        if self.max_attempts == 0 || self.max_attempts > 100 {
            return Err(value_error(
                "notify.max_attempts",
                "",
                "a message must be tried at least once, and given up some day",
                "a whole number from 1 to 100",
            ));
        }
        if self.backoff_base_s == 0 || self.backoff_cap_s < self.backoff_base_s {
            return Err(value_error(
                "notify.backoff_cap_s",
                "",
                "the base must be positive and the cap at least the base",
                "seconds, backoff_base_s ≥ 1 and backoff_cap_s ≥ backoff_base_s",
            ));
        }
        if self.retention_days == 0 {
            return Err(value_error(
                "notify.retention_days",
                "",
                "a finished message must be kept at least a day (its key deduplicates late repeats)",
                "a whole number of days, at least 1",
            ));
        }
        if self.send_timeout_s == 0 || self.send_timeout_s > 300 {
            return Err(value_error(
                "notify.send_timeout_s",
                "",
                "an attempt must be allowed some time, and not hold the queue for minutes",
                "seconds, 1 to 300",
            ));
        }
        if !(5..=24 * 60).contains(&self.confirmation_ttl_min) {
            return Err(value_error(
                "notify.confirmation_ttl_min",
                "",
                "a code must live long enough to be read and not for days",
                "minutes, 5 to 1440",
            ));
        }
        if self.reminder_before_min > 24 * 60 {
            return Err(value_error(
                "notify.reminder_before_min",
                "",
                "a reminder comes at most a day before the start",
                "minutes, 0 (none) to 1440",
            ));
        }
        if self.poll_interval_ms == 0 {
            return Err(value_error(
                "notify.poll_interval_ms",
                "",
                "must be positive",
                "milliseconds, at least 1",
            ));
        }
        Ok(())
    }
}
