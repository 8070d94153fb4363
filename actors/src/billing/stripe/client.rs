//! Stripe's HTTP API: form-encoded requests (Stripe takes no JSON bodies), the secret key as a
//! bearer token, an `Idempotency-Key` on every POST, and every answer read as JSON or mapped
//! onto the port's errors.

use std::time::Duration;

use serde_json::Value;

use super::errors;
use crate::billing::provider::PaymentError;

/// The API version the adapter is written against. Pinned so that an upgrade of the account's
/// default version in Stripe's dashboard cannot change the answers under us.
const API_VERSION: &str = "2024-06-20";

/// Longest idempotency key Stripe takes.
const MAX_KEY_LEN: usize = 255;

/// A form body: Stripe's bracketed names (`metadata[customer_id]`, `payment_method_types[0]`)
/// are plain field names here.
#[derive(Debug, Default, Clone)]
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub(crate) fn new() -> Form {
        Form::default()
    }

    pub(crate) fn field(mut self, name: &str, value: impl ToString) -> Form {
        self.0.push((name.to_owned(), value.to_string()));
        self
    }
}

/// A client of one Stripe account.
#[derive(Clone)]
pub(crate) struct StripeClient {
    http: reqwest::Client,
    base: String,
    secret: String,
}

impl std::fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeClient")
            .field("base", &self.base)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl StripeClient {
    /// A client of `base` (`https://api.stripe.com`, or a fake's root in tests) with `secret`.
    /// Every request ends after `timeout` (billing also bounds each call; this one makes sure
    /// the connection is dropped, not just the future).
    pub(crate) fn new(
        base: &str,
        secret: &str,
        timeout: Duration,
    ) -> Result<StripeClient, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(StripeClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// POSTs `form` to `path` with `idempotency_key`, which Stripe remembers for 24 hours: a
    /// repeat with the same key answers the first request's result without acting again.
    pub(crate) async fn post(
        &self,
        path: &str,
        form: &Form,
        idempotency_key: &str,
    ) -> Result<Value, PaymentError> {
        let request = self
            .http
            .post(self.url(path))
            .header("Idempotency-Key", stripe_key(idempotency_key))
            .form(&form.0);
        self.send(request).await
    }

    /// GETs `path` with `query` (reads need no idempotency key).
    pub(crate) async fn get(&self, path: &str, query: &Form) -> Result<Value, PaymentError> {
        self.send(self.http.get(self.url(path)).query(&query.0))
            .await
    }

    /// DELETEs `path` (idempotent by nature: a second delete finds nothing).
    pub(crate) async fn delete(&self, path: &str) -> Result<Value, PaymentError> {
        self.send(self.http.delete(self.url(path))).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, PaymentError> {
        let response = request
            .bearer_auth(&self.secret)
            .header("Stripe-Version", API_VERSION)
            .send()
            .await
            .map_err(|error| errors::from_transport(&error))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|error| errors::from_transport(&error))?;
        if !status.is_success() {
            return Err(errors::from_response(status.as_u16(), &body));
        }
        serde_json::from_str(&body).map_err(|error| {
            // Stripe acted but its answer is unreadable: a retry with the same key reads it
            // again.
            PaymentError::Unavailable(format!("Stripe's answer is not JSON: {error}"))
        })
    }
}

/// The key Stripe is sent for `key`: itself when it fits, otherwise its SHA-256 (still one key
/// per operation, and the same on every retry).
fn stripe_key(key: &str) -> String {
    if key.len() <= MAX_KEY_LEN {
        key.to_owned()
    } else {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(key.as_bytes()))
    }
}

/// The string field `name` of a Stripe object, or the failure to name if it has none.
pub(crate) fn text<'a>(object: &'a Value, name: &str) -> Result<&'a str, PaymentError> {
    object[name]
        .as_str()
        .ok_or_else(|| PaymentError::Unavailable(format!("Stripe's answer has no `{name}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_keys_are_hashed_short_ones_kept() {
        assert_eq!(stripe_key("r1:hold"), "r1:hold");
        let long = "k".repeat(300);
        assert_eq!(stripe_key(&long).len(), 64);
        assert_eq!(stripe_key(&long), stripe_key(&long));
    }

    #[test]
    fn the_secret_is_not_in_the_debug_output() {
        let client = StripeClient::new(
            "http://127.0.0.1:1/",
            "sk_test_secret",
            Duration::from_secs(1),
        )
        .unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("sk_test_secret"), "{shown}");
        assert_eq!(
            client.url("/v1/customers"),
            "http://127.0.0.1:1/v1/customers"
        );
    }
}
