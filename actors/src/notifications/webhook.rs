//! Operator webhooks: a JSON POST signed the Standard Webhooks way. A 2xx answer is delivery;
//! anything else (another status, a redirect, no answer in time) is a failed attempt, retried
//! with the same `webhook-id` so the endpoint can drop a message it already processed.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::error::{NotificationsError, SendError};
use super::signing::WebhookKey;

/// The body of every webhook, as the specification recommends: the type, when the event was
/// queued and its data.
pub(crate) fn render_body(
    event_type: &str,
    queued_at: DateTime<Utc>,
    data: &serde_json::Value,
) -> String {
    serde_json::json!({
        "type": event_type,
        "timestamp": queued_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": data,
    })
    .to_string()
}

/// Posts signed webhooks to the operators' endpoint.
#[derive(Debug)]
pub struct WebhookSender {
    client: reqwest::Client,
    url: String,
    key: WebhookKey,
}

impl WebhookSender {
    /// A sender to `url`, signing with `key`; a request longer than `timeout` fails.
    pub fn new(url: &str, key: WebhookKey, timeout: Duration) -> Result<Self, NotificationsError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            // A redirect would turn the POST into a GET elsewhere: it counts as a failure,
            // and the operator fixes the URL.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(NotificationsError::WebhookClient)?;
        Ok(WebhookSender {
            client,
            url: url.to_owned(),
            key,
        })
    }

    /// One attempt: `id` is the message's `webhook-id`, `now` the attempt's time.
    pub(crate) async fn send(
        &self,
        id: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), SendError> {
        let timestamp = now.timestamp();
        let signature = self.key.sign(id, timestamp, body.as_bytes());
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .map_err(SendError::Http)?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SendError::Status(status.as_u16()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_the_type_the_time_and_the_data() {
        let body = render_body(
            "reservation.no_show",
            crate::testing::t0(),
            &serde_json::json!({"reservation_id": "r1"}),
        );
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["type"], "reservation.no_show");
        assert_eq!(parsed["timestamp"], "2026-11-23T10:00:00Z");
        assert_eq!(parsed["data"]["reservation_id"], "r1");
    }
}
