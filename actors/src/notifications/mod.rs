//! Notifications: the seventh service. It keeps a durable queue of outgoing messages (e-mail
//! and operator webhooks) in its own store and sends each at least once.
//!
//! A message is committed to the store before the caller hears "queued", so nothing accepted
//! is lost in a crash; it is deduplicated by the caller's key per channel (an event id), so a
//! caller that retries, or an event relayed twice, queues one message. The delivery loop sends
//! what is due, retries failures with exponential backoff and jitter ([`retry`]), and gives a
//! message up after `notify.max_attempts`: it then stays in the store as `GaveUp`, is logged
//! as an error and counted, and [`NotificationsHandle::gave_up`] lists it for operators.
//! (Incidents are car- and reservation-shaped, so a failed e-mail is not one of them.)
//!
//! An attempt whose outcome was not recorded (a crash, a shutdown mid-send) leaves the message
//! pending, so it is sent again after the restart: receivers deduplicate by `webhook-id` (for
//! e-mail, a rare duplicate is the accepted price of never losing one).
//!
//! What is sent comes from the domain events ([`EventMessages`], subscribed to the relay): each
//! public event becomes an operator webhook, and the events a customer must hear of become
//! e-mails in their language (the `templates` module), keyed by the event's id so a redelivered event
//! queues nothing new. Operators list given-up and pending messages and put a given-up one
//! back ([`NotificationsHandle::retry`]).

mod addressing;
mod delivery;
mod error;
mod intents;
mod mailer;
mod model;
mod queue;
mod retention;
pub mod retry;
mod signing;
mod smtp;
mod subscriber;
mod templates;
mod webhook;
mod withdrawal;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use ractor::{Actor, ActorCell, ActorRef};
use storage::Store;

use crate::ask::{ASK_TIMEOUT, AskError};
use crate::clock::SharedClock;
use crate::config::{Config, NotifyConfig};
use crate::domain::InvalidField;
use crate::ids::CustomerId;
use crate::ports::ContactLookup;
pub use delivery::DeliveryReport;
use delivery::{Deliverer, DeliveryLoop, DeliveryMsg};
pub use error::{NotificationsError, SendError};
pub use mailer::{LogMailer, Mailer};
pub use model::{Channel, Email, Message, MessageState, Payload};
pub use queue::Enqueued;
use queue::Queue;
pub use retry::{Jitter, RetrySchedule};
pub use signing::{InvalidSecret, WebhookKey};
pub use smtp::SmtpMailer;
pub use subscriber::EventMessages;
pub use webhook::WebhookSender;

/// What the service sends with, besides its configuration: chosen from it by
/// [`NotifyDeps::from_config`], or given by a test.
pub struct NotifyDeps {
    /// How e-mail leaves.
    pub mailer: Arc<dyn Mailer>,
    /// The random part of the retry delays.
    pub jitter: Jitter,
}

impl NotifyDeps {
    /// The mailer `notify.email` names (the log or the SMTP relay) and random jitter.
    pub fn from_config(config: &NotifyConfig) -> Result<NotifyDeps, NotificationsError> {
        let from = sender(config)?;
        let mailer: Arc<dyn Mailer> = match config.email.as_str() {
            "smtp" => Arc::new(SmtpMailer::new(
                &config.smtp_url,
                from,
                Duration::from_secs(config.send_timeout_s),
            )?),
            _ => Arc::new(LogMailer::new(from)),
        };
        Ok(NotifyDeps {
            mailer,
            jitter: retry::random_jitter(),
        })
    }
}

fn sender(config: &NotifyConfig) -> Result<Mailbox, NotificationsError> {
    config
        .from
        .parse()
        .map_err(|error: lettre::address::AddressError| {
            NotificationsError::Invalid(InvalidField::new("notify.from", error.to_string()))
        })
}

/// Where customers' addresses come from, bound once the customers service runs (it starts
/// after this one). A strong reference: the customers service holds nothing of this one.
pub(crate) type Contacts = Arc<std::sync::OnceLock<Arc<dyn ContactLookup>>>;

/// The notifications service's API.
#[derive(Clone)]
pub struct NotificationsHandle {
    inner: Arc<Inner>,
}

struct Inner {
    queue: Queue,
    clock: SharedClock,
    delivery: ActorRef<DeliveryMsg>,
    webhooks_enabled: bool,
    public_base_url: String,
    /// Where customers' addresses come from when their e-mails leave.
    contacts: Contacts,
    run_timeout: Duration,
    /// How long finished messages are kept (`notify.retention_days`).
    retention: chrono::TimeDelta,
    /// How long before a reservation's start its reminder goes out (`None`: no reminders).
    reminder_before: Option<chrono::TimeDelta>,
}

/// Starts the service on its store with the mailer `notify.email` names.
pub async fn start(
    store: Store,
    clock: SharedClock,
    config: &Config,
    parent: Option<ActorCell>,
) -> Result<NotificationsHandle, ractor::SpawnErr> {
    let deps = NotifyDeps::from_config(&config.notify)
        .map_err(|error| ractor::SpawnErr::StartupFailed(Box::new(error)))?;
    start_with(store, clock, &config.notify, deps, parent).await
}

/// Starts the service with the given mailer and jitter. Under `parent`, the delivery loop
/// stops with it; without one, [`NotificationsHandle::stop`] stops it.
pub async fn start_with(
    store: Store,
    clock: SharedClock,
    config: &NotifyConfig,
    deps: NotifyDeps,
    parent: Option<ActorCell>,
) -> Result<NotificationsHandle, ractor::SpawnErr> {
    let startup = |error: NotificationsError| ractor::SpawnErr::StartupFailed(Box::new(error));
    let queue = Queue::open(store).map_err(|error| startup(error.into()))?;
    let retention = chrono::TimeDelta::days(i64::from(config.retention_days));
    let purge = retention::MessagePurge {
        queue: queue.clone(),
        keep: retention,
    };
    crate::retention::start(purge, clock.clone(), parent.clone()).await?;
    let send_timeout = Duration::from_secs(config.send_timeout_s);
    let webhooks = if config.webhook_url.is_empty() {
        None
    } else {
        let key = WebhookKey::from_secret(&config.webhook_secret).map_err(|error| {
            startup(NotificationsError::Invalid(InvalidField::new(
                "notify.webhook_secret",
                error.to_string(),
            )))
        })?;
        let sender = WebhookSender::new(&config.webhook_url, key, send_timeout).map_err(startup)?;
        Some(Arc::new(sender))
    };
    let webhooks_enabled = webhooks.is_some();
    let contacts = Contacts::default();
    let deliverer = Deliverer {
        queue: queue.clone(),
        mailer: deps.mailer,
        webhooks,
        clock: clock.clone(),
        schedule: RetrySchedule::from_config(config),
        jitter: deps.jitter,
        send_timeout,
        contacts: contacts.clone(),
    };
    let pace = Duration::from_millis(config.poll_interval_ms.max(1));
    let arguments = (deliverer, pace);
    let (delivery, _) = match parent {
        Some(parent) => Actor::spawn_linked(None, DeliveryLoop, arguments, parent).await?,
        None => Actor::spawn(None, DeliveryLoop, arguments).await?,
    };
    Ok(NotificationsHandle {
        inner: Arc::new(Inner {
            queue,
            clock,
            delivery,
            webhooks_enabled,
            public_base_url: config.public_base_url.trim_end_matches('/').to_owned(),
            contacts,
            retention,
            reminder_before: (config.reminder_before_min > 0)
                .then(|| chrono::TimeDelta::minutes(i64::from(config.reminder_before_min))),
            // A run waits for its attempts (each bounded by the send timeout), and an ask may
            // queue behind a tick's run.
            run_timeout: send_timeout * 2 + ASK_TIMEOUT,
        }),
    })
}

fn required(field: &'static str, value: &str) -> Result<(), NotificationsError> {
    if value.trim().is_empty() {
        return Err(NotificationsError::Invalid(InvalidField::new(
            field,
            "must not be empty",
        )));
    }
    Ok(())
}

impl NotificationsHandle {
    /// Queues an e-mail under `key` (e.g. an event id), durably; the same key again stores
    /// nothing and answers the first message.
    pub async fn enqueue_email(
        &self,
        key: &str,
        to: &str,
        subject: &str,
        text: &str,
        html: &str,
    ) -> Result<Enqueued, NotificationsError> {
        let email = Email {
            to: to.to_owned(),
            subject: subject.to_owned(),
            text: text.to_owned(),
            html: html.to_owned(),
        };
        self.enqueue_customer_email(key, None, email, None).await
    }

    /// Queues an e-mail written to `customer` (so that their erasure deletes it), not sent
    /// before `not_before` when given, deduplicated by `key` like any e-mail.
    pub async fn enqueue_customer_email(
        &self,
        key: &str,
        customer: Option<CustomerId>,
        email: Email,
        not_before: Option<DateTime<Utc>>,
    ) -> Result<Enqueued, NotificationsError> {
        required("key", key)?;
        required("subject", &email.subject)?;
        let addressed_to_customer = addressing::customer_of(&email.to).is_some();
        if !addressed_to_customer && email.to.parse::<Mailbox>().is_err() {
            return Err(NotificationsError::Invalid(InvalidField::new(
                "to",
                "not an e-mail address",
            )));
        }
        let now = self.inner.clock.now();
        let mut message = Message::new(key, Payload::Email(email), now);
        if let Some(not_before) = not_before {
            message.next_attempt_at = not_before.max(now);
        }
        self.inner
            .queue
            .enqueue(&message, customer.map(|id| id.as_uuid()))
            .await
    }

    /// Where the addresses of e-mails queued for a customer come from when they leave; the
    /// caller keeps `contacts` alive (the first binding holds).
    pub fn bind_contacts(&self, contacts: &Arc<dyn ContactLookup>) {
        let _ = self.inner.contacts.set(contacts.clone());
    }

    /// Queues an operator webhook of `event_type` carrying `data`, durably, deduplicated by
    /// `key` like an e-mail. Refused when no webhook endpoint is configured.
    pub async fn enqueue_webhook(
        &self,
        key: &str,
        event_type: &str,
        data: &serde_json::Value,
    ) -> Result<Enqueued, NotificationsError> {
        if !self.inner.webhooks_enabled {
            return Err(NotificationsError::WebhooksOff);
        }
        required("key", key)?;
        required("event_type", event_type)?;
        let now = self.inner.clock.now();
        let payload = Payload::Webhook {
            event_type: event_type.to_owned(),
            body: webhook::render_body(event_type, now, data),
        };
        self.inner
            .queue
            .enqueue(&Message::new(key, payload, now), None)
            .await
    }

    /// Sends every message due now by the service clock and records the outcomes; what the
    /// periodic tick does, on demand (tests, operators).
    pub async fn deliver_due(&self) -> Result<DeliveryReport, NotificationsError> {
        let timeout = self.inner.run_timeout;
        let answer = ractor::call_t!(
            self.inner.delivery,
            DeliveryMsg::Run,
            timeout.as_millis() as u64
        );
        answer.map_err(|error| match error {
            ractor::RactorErr::Timeout => AskError::Timeout {
                actor: "notifications delivery".into(),
                timeout,
            },
            _ => AskError::Unavailable {
                actor: "notifications delivery".into(),
            },
        })?
    }

    /// The message queued under `key` on `channel`, in whatever state it is.
    pub fn status(
        &self,
        channel: Channel,
        key: &str,
    ) -> Result<Option<Message>, NotificationsError> {
        self.inner.queue.by_key(channel, key)
    }

    /// Messages waiting to be sent, by due time.
    pub fn pending(&self) -> Result<Vec<Message>, NotificationsError> {
        self.inner.queue.pending()
    }

    /// Messages given up after their last attempt, oldest first: what an operator must see.
    pub fn gave_up(&self) -> Result<Vec<Message>, NotificationsError> {
        self.inner.queue.in_state(MessageState::GaveUp)
    }

    /// Whether operator webhooks are configured.
    pub fn webhooks_enabled(&self) -> bool {
        self.inner.webhooks_enabled
    }

    /// Where the app is reachable from outside (no trailing slash), for links in messages.
    pub fn public_base_url(&self) -> &str {
        &self.inner.public_base_url
    }

    /// Whether the delivery loop runs (readiness).
    pub fn ping(&self) -> Result<(), AskError> {
        if self.inner.delivery.get_status() == ractor::ActorStatus::Running {
            Ok(())
        } else {
            Err(AskError::Unavailable {
                actor: "notifications delivery".into(),
            })
        }
    }

    /// Stops the delivery loop and waits for its run in progress to end (a service started
    /// without a parent; under the system, the root stops it).
    pub async fn stop(&self) {
        let _ = self
            .inner
            .delivery
            .stop_and_wait(Some("shutdown".into()), Some(self.inner.run_timeout))
            .await;
    }
}
