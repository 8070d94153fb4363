//! Operator webhooks against a receiver that verifies the signatures and answers as scripted.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::{Harness, cap, notify_config};
use crate::config::NotifyConfig;
use crate::error_kind::{ErrorKind, Kinded};
use crate::notifications::{Channel, DeliveryReport, MessageState, WebhookKey};

/// The Standard Webhooks test secret.
pub(super) const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

#[derive(Debug, Clone)]
pub(super) struct Hook {
    pub(super) id: String,
    pub(super) verified: bool,
    pub(super) body: serde_json::Value,
    answered: u16,
}

#[derive(Clone, Default)]
pub(super) struct Receiver {
    pub(super) hooks: Arc<Mutex<Vec<Hook>>>,
    /// Statuses to answer, in order; 200 once they run out.
    script: Arc<Mutex<VecDeque<u16>>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let id = header("webhook-id");
    let timestamp = header("webhook-timestamp")
        .parse::<i64>()
        .unwrap_or_default();
    let key = WebhookKey::from_secret(SECRET).unwrap();
    let verified = key.verify(&id, timestamp, &body, &header("webhook-signature"));
    let answered = receiver.script.lock().unwrap().pop_front().unwrap_or(200);
    receiver.hooks.lock().unwrap().push(Hook {
        id,
        verified,
        body: serde_json::from_slice(&body).unwrap_or_default(),
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

/// A receiver on a free port; its URL.
pub(super) async fn receiver(script: &[u16]) -> (Receiver, String) {
    let receiver = Receiver::default();
    receiver.script.lock().unwrap().extend(script);
    let app = axum::Router::new()
        .route("/hooks", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (receiver, url)
}

pub(super) fn with_webhooks(url: &str) -> NotifyConfig {
    NotifyConfig {
        webhook_url: url.to_owned(),
        webhook_secret: SECRET.to_owned(),
        ..notify_config()
    }
}

#[tokio::test]
async fn a_webhook_is_signed_and_retried_with_the_same_id_until_a_2xx_then_never_again() {
    let (receiver, url) = receiver(&[500]).await;
    let harness = Harness::start(with_webhooks(&url)).await;
    let data = serde_json::json!({"reservation_id": "r-1", "vehicle_id": "v-1"});
    harness
        .handle
        .enqueue_webhook("event-9", "reservation.no_show", &data)
        .await
        .unwrap();

    let first = harness.handle.deliver_due().await.unwrap();
    assert_eq!((first.attempted, first.retrying), (1, 1));
    let waiting = harness
        .handle
        .status(Channel::Webhook, "event-9")
        .unwrap()
        .unwrap();
    assert_eq!(waiting.attempts, 1);
    assert!(
        waiting
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("500")
    );

    harness.clock.advance(cap());
    let second = harness.handle.deliver_due().await.unwrap();
    assert_eq!((second.attempted, second.delivered), (1, 1));
    harness.clock.advance(cap());
    assert_eq!(
        harness.handle.deliver_due().await.unwrap(),
        DeliveryReport::default()
    );

    let hooks = receiver.hooks.lock().unwrap().clone();
    assert_eq!(hooks.len(), 2, "once failed, once accepted, never after");
    assert_eq!(
        hooks.iter().map(|hook| hook.answered).collect::<Vec<_>>(),
        [500, 200]
    );
    assert!(hooks.iter().all(|hook| hook.verified), "{hooks:?}");
    assert_eq!(
        hooks[0].id, hooks[1].id,
        "the same webhook-id on every retry"
    );
    assert_eq!(hooks[0].id, waiting.webhook_id());
    assert_eq!(hooks[0].body, hooks[1].body);
    assert_eq!(hooks[1].body["type"], "reservation.no_show");
    assert_eq!(hooks[1].body["data"], data);
    let done = harness
        .handle
        .status(Channel::Webhook, "event-9")
        .unwrap()
        .unwrap();
    assert_eq!((done.state, done.attempts), (MessageState::Delivered, 2));
}

#[tokio::test]
async fn an_email_and_a_webhook_of_one_event_are_two_messages_and_each_is_deduplicated() {
    let (receiver, url) = receiver(&[]).await;
    let harness = Harness::start(with_webhooks(&url)).await;
    let data = serde_json::json!({"n": 1});
    for _ in 0..2 {
        harness
            .handle
            .enqueue_webhook("event-10", "test.ping", &data)
            .await
            .unwrap();
    }
    harness
        .handle
        .enqueue_email("event-10", "ops@example.com", "Ping", "ping", "<p>ping</p>")
        .await
        .unwrap();
    assert_eq!(harness.handle.pending().unwrap().len(), 2);
    let report = harness.handle.deliver_due().await.unwrap();
    assert_eq!((report.attempted, report.delivered), (2, 2));
    assert_eq!(receiver.hooks.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn webhooks_are_refused_when_no_endpoint_is_configured() {
    let harness = Harness::start(notify_config()).await;
    assert!(!harness.handle.webhooks_enabled());
    let error = harness
        .handle
        .enqueue_webhook("event-11", "test.ping", &serde_json::json!({}))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidState);
    assert!(harness.handle.pending().unwrap().is_empty());
}
