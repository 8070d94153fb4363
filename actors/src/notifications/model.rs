//! A queued message and the rules of its life: pending until sent, delivered once an attempt
//! succeeds, given up after the last attempt fails. The transitions are pure functions of the
//! message, the time and the retry schedule; the queue only stores what they return.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::retry::RetrySchedule;

/// How a message leaves the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Channel {
    /// An e-mail through the configured mailer.
    Email,
    /// A signed POST to the operators' webhook endpoint.
    Webhook,
}

impl Channel {
    /// The channel as logs and keys spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }

    /// The deduplication key of a caller's key on this channel: the same event may be both
    /// an e-mail and a webhook, but never two e-mails.
    pub(crate) fn dedup_key(self, key: &str) -> String {
        format!("{}:{key}", self.as_str())
    }
}

/// An e-mail as it is queued: both bodies, so that every attempt sends the same message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// What a message carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload {
    /// An e-mail.
    Email(Email),
    /// A webhook: its type and its JSON body, rendered once at enqueue so that every retry
    /// signs and sends the same bytes.
    Webhook {
        /// The event type, e.g. `reservation.no_show`.
        event_type: String,
        /// The JSON body sent.
        body: String,
    },
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageState {
    /// Waiting for its next attempt.
    Pending,
    /// An attempt succeeded; it is never sent again.
    Delivered,
    /// Every attempt failed; an operator has to look at it.
    GaveUp,
    /// Withdrawn before it was sent (a reminder of a reservation that was cancelled). Kept,
    /// like a finished message, so that its key still deduplicates a repeated event.
    Cancelled,
}

impl MessageState {
    /// The state as the API and logs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Delivered => "delivered",
            MessageState::GaveUp => "gave_up",
            MessageState::Cancelled => "cancelled",
        }
    }
}

/// One queued message, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Its id (UUIDv7, so the table lists messages in the order they were queued); also the
    /// `webhook-id` of a webhook, the same on every retry.
    pub id: Uuid,
    /// The caller's key (e.g. an event id), unique per channel.
    pub key: String,
    /// What is sent.
    pub payload: Payload,
    /// Where it is in its life.
    pub state: MessageState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it is due (for a pending message); unchanged once it is finished.
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was delivered or given up.
    pub finished_at: Option<DateTime<Utc>>,
}

impl Message {
    /// A new pending message, due at once.
    pub fn new(key: &str, payload: Payload, now: DateTime<Utc>) -> Self {
        Message {
            id: Uuid::now_v7(),
            key: key.to_owned(),
            payload,
            state: MessageState::Pending,
            attempts: 0,
            created_at: now,
            next_attempt_at: now,
            last_error: None,
            finished_at: None,
        }
    }

    /// The channel the message goes out on.
    pub fn channel(&self) -> Channel {
        match self.payload {
            Payload::Email(_) => Channel::Email,
            Payload::Webhook { .. } => Channel::Webhook,
        }
    }

    /// The `webhook-id` header: stable across retries, so the receiver can deduplicate.
    pub fn webhook_id(&self) -> String {
        format!("msg_{}", self.id.simple())
    }

    /// Whether it waits for an attempt at `now`.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.state == MessageState::Pending && self.next_attempt_at <= now
    }
}

/// The message withdrawn at `now`; `None` when it is no longer pending (already sent or given
/// up: nothing to withdraw).
pub(crate) fn cancelled(message: &Message, now: DateTime<Utc>) -> Option<Message> {
    (message.state == MessageState::Pending).then(|| Message {
        state: MessageState::Cancelled,
        finished_at: Some(now),
        ..message.clone()
    })
}

/// A given-up message put back in the queue by an operator: due at `now`, with a fresh attempt
/// budget. The last error stays, so the operator can still read why it had failed.
pub(crate) fn retried(message: &Message, now: DateTime<Utc>) -> Option<Message> {
    (message.state == MessageState::GaveUp).then(|| Message {
        state: MessageState::Pending,
        attempts: 0,
        next_attempt_at: now,
        finished_at: None,
        ..message.clone()
    })
}

/// The message after an attempt at `now` succeeded.
pub(crate) fn delivered(message: &Message, now: DateTime<Utc>) -> Message {
    Message {
        state: MessageState::Delivered,
        attempts: message.attempts + 1,
        last_error: None,
        finished_at: Some(now),
        ..message.clone()
    }
}

/// The message after an attempt at `now` failed with `error`: due again after the schedule's
/// delay for `unit` (a uniform draw in `[0, 1)`), or given up when that was the last attempt.
pub(crate) fn failed(
    message: &Message,
    now: DateTime<Utc>,
    error: String,
    schedule: &RetrySchedule,
    unit: f64,
) -> Message {
    let attempts = message.attempts + 1;
    if schedule.exhausted(attempts) {
        return Message {
            state: MessageState::GaveUp,
            attempts,
            last_error: Some(error),
            finished_at: Some(now),
            ..message.clone()
        };
    }
    Message {
        attempts,
        next_attempt_at: now + schedule.delay(attempts, unit),
        last_error: Some(error),
        ..message.clone()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn now() -> DateTime<Utc> {
        crate::testing::t0()
    }

    fn schedule(max_attempts: u32) -> RetrySchedule {
        RetrySchedule {
            max_attempts,
            base: TimeDelta::seconds(10),
            cap: TimeDelta::minutes(10),
        }
    }

    fn email() -> Message {
        let email = Email {
            to: "ana@example.com".into(),
            subject: "Hi".into(),
            text: "Hello".into(),
            html: "<p>Hello</p>".into(),
        };
        Message::new("event-1", Payload::Email(email), now())
    }

    #[test]
    fn a_new_message_is_pending_and_due_at_once() {
        let message = email();
        assert_eq!(message.state, MessageState::Pending);
        assert!(message.is_due(now()));
        assert!(!message.is_due(now() - TimeDelta::seconds(1)));
        assert_eq!(message.channel(), Channel::Email);
        assert_eq!(Channel::Webhook.dedup_key("e"), "webhook:e");
    }

    #[test]
    fn a_failure_counts_the_attempt_and_pushes_the_next_one_back() {
        let later = now() + TimeDelta::seconds(3);
        let after = failed(&email(), later, "refused".into(), &schedule(3), 0.5);
        assert_eq!(after.state, MessageState::Pending);
        assert_eq!(after.attempts, 1);
        assert_eq!(
            after.next_attempt_at,
            later + TimeDelta::milliseconds(7_500)
        );
        assert_eq!(after.last_error.as_deref(), Some("refused"));
        assert!(!after.is_due(later + TimeDelta::seconds(7)));
        assert!(after.is_due(later + TimeDelta::seconds(8)));
        let again = failed(&after, later, "refused".into(), &schedule(3), 0.0);
        assert_eq!(again.next_attempt_at, later + TimeDelta::seconds(10));
    }

    #[test]
    fn the_last_failure_gives_the_message_up_for_good() {
        let mut message = email();
        for _ in 0..3 {
            message = failed(&message, now(), "down".into(), &schedule(3), 0.0);
        }
        assert_eq!(message.state, MessageState::GaveUp);
        assert_eq!(message.attempts, 3);
        assert_eq!(message.finished_at, Some(now()));
        assert!(!message.is_due(now() + TimeDelta::days(365)));
    }

    #[test]
    fn only_a_pending_message_is_cancelled_and_only_a_given_up_one_retried() {
        let pending = email();
        let withdrawn = cancelled(&pending, now()).unwrap();
        assert_eq!(withdrawn.state, MessageState::Cancelled);
        assert_eq!(withdrawn.finished_at, Some(now()));
        assert!(!withdrawn.is_due(now() + TimeDelta::days(1)));
        assert!(cancelled(&withdrawn, now()).is_none());
        assert!(retried(&pending, now()).is_none());

        let mut given_up = email();
        for _ in 0..3 {
            given_up = failed(&given_up, now(), "down".into(), &schedule(3), 0.0);
        }
        let later = now() + TimeDelta::hours(2);
        let again = retried(&given_up, later).unwrap();
        assert_eq!(again.state, MessageState::Pending);
        assert_eq!(again.attempts, 0);
        assert_eq!(again.finished_at, None);
        assert_eq!(again.last_error.as_deref(), Some("down"));
        assert!(again.is_due(later));
        assert!(cancelled(&delivered(&pending, now()), now()).is_none());
    }

    #[test]
    fn a_success_delivers_and_keeps_the_id() {
        let first = failed(&email(), now(), "down".into(), &schedule(3), 0.0);
        let done = delivered(&first, now());
        assert_eq!(done.state, MessageState::Delivered);
        assert_eq!(done.attempts, 2);
        assert_eq!(done.id, first.id);
        assert_eq!(done.webhook_id(), first.webhook_id());
        assert_eq!(done.last_error, None);
        assert!(!done.is_due(now() + TimeDelta::days(1)));
    }
}
