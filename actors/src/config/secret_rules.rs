//! Rules of the keys that hold secrets: the form and length of the signing and data keys, and
//! the secrets each payment provider needs.

use super::load::{ConfigError, value_error};

impl super::AuthConfig {
    /// Secrets too short to resist guessing stop the start, as do keys of the wrong form.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.jwt_secret.is_empty() && self.jwt_secret.len() < 32 {
            return Err(value_error(
                "auth.jwt_secret",
                "",
                "an HMAC-SHA256 key shorter than 32 bytes can be guessed offline from one token",
                "at least 32 bytes of random text, or empty to generate one",
            ));
        }
        let is_key = |text: &str| text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit());
        if !self.data_key.is_empty() && !is_key(&self.data_key) {
            return Err(value_error(
                "auth.data_key",
                "",
                "not a 256-bit key",
                "64 hex digits (e.g. from `openssl rand -hex 32`), or empty to generate one",
            ));
        }
        if self.previous_data_keys.iter().any(|key| !is_key(key)) {
            return Err(value_error(
                "auth.previous_data_keys",
                "",
                "every entry must be a 256-bit key",
                "a list of 64-hex-digit keys",
            ));
        }
        Ok(())
    }
}

impl super::BillingConfig {
    /// A known provider, with the secrets it needs and API roots that are URLs.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let required: &[(&str, &str)] = match self.provider.as_str() {
            "sandbox" => &[],
            "stripe" => &[
                ("billing.stripe_secret_key", &self.stripe_secret_key),
                ("billing.stripe_webhook_secret", &self.stripe_webhook_secret),
            ],
            "mercadopago" => &[
                (
                    "billing.mercadopago_access_token",
                    &self.mercadopago_access_token,
                ),
                (
                    "billing.mercadopago_webhook_secret",
                    &self.mercadopago_webhook_secret,
                ),
            ],
            _ => {
                return Err(value_error(
                    "billing.provider",
                    "",
                    "unknown provider",
                    "\"sandbox\", \"stripe\" or \"mercadopago\"",
                ));
            }
        };
        if let Some((key, _)) = required.iter().find(|(_, value)| value.trim().is_empty()) {
            return Err(value_error(
                key,
                "",
                &format!("required with billing.provider = \"{}\"", self.provider),
                "the secret from the provider's dashboard",
            ));
        }
        for (key, base) in [
            ("billing.stripe_api_base", &self.stripe_api_base),
            ("billing.mercadopago_api_base", &self.mercadopago_api_base),
        ] {
            let scheme_ok = base.starts_with("https://") || base.starts_with("http://");
            if !scheme_ok || base.len() <= "https://".len() {
                return Err(value_error(
                    key,
                    "",
                    "not an http(s) URL",
                    "an URL such as https://api.stripe.com",
                ));
            }
        }
        if self.provider_timeout_s == 0 || self.provider_timeout_s > 120 {
            return Err(value_error(
                "billing.provider_timeout_s",
                "",
                "a call must be allowed some time, and not hold a booking for minutes",
                "seconds, 1 to 120",
            ));
        }
        Ok(())
    }
}
