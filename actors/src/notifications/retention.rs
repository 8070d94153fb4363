//! Finished messages are deleted `notify.retention_days` after they finished.
//!
//! A message holds a person's address and a text about their rental, so it is kept only as
//! long as it serves: operators looking at what was sent or given up, and its key
//! deduplicating an event that is repeated (a relay re-delivering after a crash does so within
//! minutes, not weeks). Pending messages are never purged, however old.
//!
//! Messages are keyed by UUIDv7, in the order they were queued, and a message finishes after it
//! was queued, so the walk stops at the first message queued after the cut-off: everything
//! later is too recent to have expired.

use std::convert::Infallible;

use chrono::{DateTime, TimeDelta, Utc};
use storage::TxError;

use super::model::{Message, MessageState};
use super::queue::Queue;
use crate::retention::Purge;

/// Whether `message` may be deleted at `now` when finished messages are kept `keep`.
pub(crate) fn expired(message: &Message, now: DateTime<Utc>, keep: TimeDelta) -> bool {
    message.state != MessageState::Pending
        && message
            .finished_at
            .is_some_and(|finished| finished + keep <= now)
}

/// The notifications service's purge.
pub(crate) struct MessagePurge {
    pub(crate) queue: Queue,
    pub(crate) keep: TimeDelta,
}

impl Purge for MessagePurge {
    fn kind(&self) -> &'static str {
        "notification_messages"
    }

    async fn purge_batch(&self, now: DateTime<Utc>, batch: usize) -> Result<usize, String> {
        self.queue
            .purge_finished(now, self.keep, batch)
            .await
            .map_err(|error| error.to_string())
    }
}

impl Queue {
    /// Deletes at most `batch` messages expired at `now` (and their deduplication keys) in one
    /// transaction, durably; how many.
    pub(crate) async fn purge_finished(
        &self,
        now: DateTime<Utc>,
        keep: TimeDelta,
        batch: usize,
    ) -> Result<usize, super::NotificationsError> {
        let cutoff = now - keep;
        let mut doomed = Vec::new();
        for entry in self.messages.iter() {
            let (_, message) = entry?;
            if message.created_at > cutoff || doomed.len() == batch {
                break;
            }
            if expired(&message, now, keep) {
                doomed.push(message);
            }
        }
        if doomed.is_empty() {
            return Ok(0);
        }
        let (messages, keys) = (&self.messages, &self.keys);
        let (by_customer, customer_of) = (&self.by_customer, &self.customer_of);
        self.store
            .transaction::<_, Infallible>(&[messages, keys, by_customer, customer_of], |tx| {
                let (table, index) = (tx.table(messages)?, tx.index(keys)?);
                let (by_customer, customer_of) = (tx.table(by_customer)?, tx.table(customer_of)?);
                for message in &doomed {
                    index.release(&message.channel().dedup_key(&message.key), &message.id)?;
                    table.remove(&message.id)?;
                    if let Some(customer) = customer_of.get(&message.id)? {
                        by_customer.remove(&(customer, message.id))?;
                        customer_of.remove(&message.id)?;
                    }
                }
                Ok(())
            })
            .map_err(|error| match error {
                TxError::Storage(error) => super::NotificationsError::Storage(error),
                TxError::Aborted(never) => match never {},
            })?;
        self.store.commit().await?;
        Ok(doomed.len())
    }
}

impl super::NotificationsHandle {
    /// Deletes every finished message past its retention now (the periodic job does this every
    /// few minutes; tests and operators' tools call it directly); how many.
    pub async fn purge_finished(&self) -> Result<u64, super::NotificationsError> {
        let now = self.inner.clock.now();
        let mut total = 0u64;
        loop {
            let removed = self
                .inner
                .queue
                .purge_finished(now, self.inner.retention, crate::retention::BATCH)
                .await?;
            total += removed as u64;
            if removed < crate::retention::BATCH {
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifications::model::{Email, Payload};

    fn message(state: MessageState, finished_days_ago: Option<i64>) -> Message {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        Message {
            state,
            finished_at: finished_days_ago.map(|days| now - TimeDelta::days(days)),
            ..Message::new(
                "k",
                Payload::Email(Email {
                    to: "ana@example.com".into(),
                    subject: "s".into(),
                    text: "t".into(),
                    html: "h".into(),
                }),
                now - TimeDelta::days(30),
            )
        }
    }

    #[test]
    fn only_finished_messages_past_the_retention_expire() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let keep = TimeDelta::days(14);
        assert!(expired(
            &message(MessageState::Delivered, Some(14)),
            now,
            keep
        ));
        assert!(expired(&message(MessageState::GaveUp, Some(20)), now, keep));
        assert!(!expired(
            &message(MessageState::Delivered, Some(13)),
            now,
            keep
        ));
        assert!(!expired(&message(MessageState::Pending, None), now, keep));
    }
}
