//! The delivery loop: an actor that, on each tick or when asked, sends what is due by the
//! service clock and records each outcome.
//!
//! One actor does every run, so a tick and an explicit [`super::NotificationsHandle::deliver_due`]
//! never send the same message twice at once. Within a run the attempts go out together, each
//! bounded by `notify.send_timeout_s`; the outcomes are recorded one by one and committed before
//! the run answers. The tick is real time (it paces work); the clock decides what is due, so
//! tests leave the tick aside and drive runs with the manual clock.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::task::JoinSet;

use super::addressing;
use super::error::{NotificationsError, SendError};
use super::mailer::Mailer;
use super::model::{self, Message, MessageState, Payload};
use super::queue::Queue;
use super::retry::{Jitter, RetrySchedule};
use super::webhook::WebhookSender;
use crate::clock::SharedClock;
use crate::error_kind::with_causes;

/// Most messages one run attempts; the rest wait for the next run.
pub(crate) const BATCH: usize = 64;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Messages attempted.
    pub attempted: usize,
    /// Attempts that succeeded.
    pub delivered: usize,
    /// Attempts that failed and will be retried.
    pub retrying: usize,
    /// Attempts that failed for the last time.
    pub gave_up: usize,
}

/// Everything a run needs. Cheap to clone: the attempts run in their own tasks.
#[derive(Clone)]
pub(crate) struct Deliverer {
    pub(crate) queue: Queue,
    pub(crate) mailer: Arc<dyn Mailer>,
    pub(crate) webhooks: Option<Arc<WebhookSender>>,
    pub(crate) clock: SharedClock,
    pub(crate) schedule: RetrySchedule,
    pub(crate) jitter: Jitter,
    pub(crate) send_timeout: Duration,
    /// Where customers' addresses come from when their e-mails leave (see `addressing`).
    pub(crate) contacts: super::Contacts,
}

impl Deliverer {
    /// Attempts every message due now (up to [`BATCH`]) and records the outcomes durably.
    pub(crate) async fn run(&self) -> Result<DeliveryReport, NotificationsError> {
        let now = self.clock.now();
        let due = self.queue.due(now, BATCH)?;
        let mut attempts = JoinSet::new();
        for message in due {
            let deliverer = self.clone();
            attempts.spawn(async move {
                let outcome = deliverer.attempt(&message, now).await;
                (message, outcome)
            });
        }
        let mut report = DeliveryReport::default();
        while let Some(joined) = attempts.join_next().await {
            // A panicking attempt records nothing: its message stays due for the next run.
            let (message, outcome) = match joined {
                Ok(done) => done,
                Err(error) => {
                    tracing::error!(%error, "a notification attempt panicked");
                    continue;
                }
            };
            report.attempted += 1;
            let after = match outcome {
                Ok(()) => model::delivered(&message, now),
                Err(error) => {
                    let reason = with_causes(&error);
                    model::failed(&message, now, reason, &self.schedule, (self.jitter)())
                }
            };
            self.queue.record(&message, &after)?;
            match after.state {
                MessageState::Delivered => report.delivered += 1,
                MessageState::Pending => {
                    report.retrying += 1;
                    tracing::warn!(
                        message = %after.id,
                        key = %after.key,
                        channel = after.channel().as_str(),
                        attempts = after.attempts,
                        next_attempt_at = %after.next_attempt_at,
                        error = after.last_error.as_deref().unwrap_or_default(),
                        "notification attempt failed; retried later"
                    );
                }
                MessageState::GaveUp => {
                    report.gave_up += 1;
                    tracing::error!(
                        message = %after.id,
                        key = %after.key,
                        channel = after.channel().as_str(),
                        attempts = after.attempts,
                        error = after.last_error.as_deref().unwrap_or_default(),
                        "notification given up after its last attempt; an operator must look"
                    );
                }
                // An attempt never withdraws a message: only a cancel does.
                MessageState::Cancelled => {}
            }
            crate::metrics::notification(after.channel().as_str(), state_label(after.state));
        }
        self.queue.commit().await?;
        Ok(report)
    }

    async fn attempt(&self, message: &Message, now: DateTime<Utc>) -> Result<(), SendError> {
        let send = async {
            match &message.payload {
                Payload::Email(email) => match addressing::customer_of(&email.to) {
                    None => self.mailer.send(email).await,
                    Some((customer, new_address)) => {
                        let mut addressed = email.clone();
                        addressed.to = self.address(customer, new_address).await?;
                        self.mailer.send(&addressed).await
                    }
                },
                Payload::Webhook { body, .. } => match &self.webhooks {
                    Some(sender) => sender.send(&message.webhook_id(), body, now).await,
                    None => Err(SendError::WebhooksOff),
                },
            }
        };
        tokio::time::timeout(self.send_timeout, send)
            .await
            .unwrap_or(Err(SendError::Timeout(self.send_timeout)))
    }
}

impl Deliverer {
    async fn address(
        &self,
        customer: crate::ids::CustomerId,
        new_address: bool,
    ) -> Result<String, SendError> {
        let contacts = self
            .contacts
            .get()
            .ok_or_else(|| SendError::Recipient("the customers service is not bound".into()))?;
        match contacts.contact(customer, new_address).await {
            Ok(Some(contact)) => Ok(contact.email),
            Ok(None) => Err(SendError::Recipient("no such customer".into())),
            Err(error) => Err(SendError::Recipient(error.to_string())),
        }
    }
}

fn state_label(state: MessageState) -> &'static str {
    match state {
        MessageState::Pending => "retrying",
        MessageState::Delivered => "delivered",
        MessageState::GaveUp | MessageState::Cancelled => state.as_str(),
    }
}

/// Messages of the delivery loop.
pub(crate) enum DeliveryMsg {
    /// The pace's tick: deliver what is due, log failures.
    Tick,
    /// Deliver what is due now and answer with what was done.
    Run(RpcReplyPort<Result<DeliveryReport, NotificationsError>>),
}

/// The actor that runs the deliveries.
pub(crate) struct DeliveryLoop;

impl Actor for DeliveryLoop {
    type Msg = DeliveryMsg;
    type State = Deliverer;
    type Arguments = (Deliverer, Duration);

    async fn pre_start(
        &self,
        myself: ActorRef<DeliveryMsg>,
        (deliverer, pace): Self::Arguments,
    ) -> Result<Deliverer, ActorProcessingErr> {
        myself.send_interval(pace, || DeliveryMsg::Tick);
        Ok(deliverer)
    }

    async fn handle(
        &self,
        _myself: ActorRef<DeliveryMsg>,
        message: DeliveryMsg,
        deliverer: &mut Deliverer,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            DeliveryMsg::Tick => {
                if let Err(error) = deliverer.run().await {
                    tracing::warn!(error = %with_causes(&error), "notification run failed; retried at the next tick");
                }
            }
            DeliveryMsg::Run(reply) => {
                // The asker may have timed out and gone; the run is recorded all the same.
                let _ = reply.send(deliverer.run().await);
            }
        }
        Ok(())
    }
}
