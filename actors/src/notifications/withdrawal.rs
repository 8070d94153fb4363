//! Changes to queued messages that do not come from an attempt: a pending message withdrawn
//! (a reminder whose reservation was cancelled), every message of an erased customer deleted,
//! a given-up message put back by an operator, and the operators' list.
//!
//! Each is one transaction over the message, its key, its due entry and its customer entries,
//! committed before it answers, like an enqueue.

use std::convert::Infallible;
use std::ops::Bound;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::error::NotificationsError;
use super::model::{self, Channel, Message, MessageState};
use super::queue::{Queue, storage};
use crate::page::Page;

impl Queue {
    /// Withdraws the pending message queued under `key` on `channel`; whether there was one to
    /// withdraw (a message already sent, given up or never queued is left as it is).
    pub(crate) async fn cancel(
        &self,
        channel: Channel,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, NotificationsError> {
        let dedup = channel.dedup_key(key);
        let (messages, keys, due) = (&self.messages, &self.keys, &self.due);
        let withdrawn = self
            .store
            .transaction::<_, Infallible>(&[messages, keys, due], |tx| {
                let Some(id) = tx.index(keys)?.get(&dedup)? else {
                    return Ok(false);
                };
                let messages = tx.table(messages)?;
                let Some(message) = messages.get(&id)? else {
                    return Ok(false);
                };
                let Some(after) = model::cancelled(&message, now) else {
                    return Ok(false);
                };
                tx.table(due)?
                    .remove(&(message.next_attempt_at, message.id))?;
                messages.insert(&after.id, &after)?;
                Ok(true)
            })
            .map_err(storage)?;
        self.store.commit().await?;
        Ok(withdrawn)
    }

    /// Deletes every message written to `customer`, pending or finished, with its key and
    /// entries; how many. Messages to nobody in particular (webhooks) are not theirs.
    pub(crate) async fn erase_customer(&self, customer: Uuid) -> Result<usize, NotificationsError> {
        let mut ids = Vec::new();
        for entry in self.by_customer.scan_prefix(&customer) {
            let ((_, id), ()) = entry?;
            ids.push(id);
        }
        let (messages, keys, due) = (&self.messages, &self.keys, &self.due);
        let (by_customer, customer_of) = (&self.by_customer, &self.customer_of);
        self.store
            .transaction::<_, Infallible>(&[messages, keys, due, by_customer, customer_of], |tx| {
                let (messages, keys, due) = (tx.table(messages)?, tx.index(keys)?, tx.table(due)?);
                for id in &ids {
                    if let Some(message) = messages.get(id)? {
                        keys.release(&message.channel().dedup_key(&message.key), id)?;
                        due.remove(&(message.next_attempt_at, *id))?;
                        messages.remove(id)?;
                    }
                    tx.table(by_customer)?.remove(&(customer, *id))?;
                    tx.table(customer_of)?.remove(id)?;
                }
                Ok(())
            })
            .map_err(storage)?;
        self.store.commit().await?;
        Ok(ids.len())
    }

    /// Puts the given-up message `id` back in the queue, due at `now` with a fresh attempt
    /// budget; answers it.
    pub(crate) async fn retry(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Message, NotificationsError> {
        let (messages, due) = (&self.messages, &self.due);
        let outcome = self
            .store
            .transaction::<_, Infallible>(&[messages, due], |tx| {
                let messages = tx.table(messages)?;
                let Some(message) = messages.get(&id)? else {
                    return Ok(Err(NotificationsError::NotFound(id)));
                };
                let Some(after) = model::retried(&message, now) else {
                    return Ok(Err(NotificationsError::NotGivenUp {
                        id,
                        state: message.state,
                    }));
                };
                tx.table(due)?.insert(&(after.next_attempt_at, id), &())?;
                messages.insert(&id, &after)?;
                Ok(Ok(after))
            })
            .map_err(storage)?;
        let message = outcome?;
        self.store.commit().await?;
        Ok(message)
    }

    /// Up to `limit` messages in `state` queued after the message `after`, in the order they
    /// were queued (walks the table from the cursor: for operators).
    pub(crate) fn list(
        &self,
        state: MessageState,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Page<Message, Uuid>, NotificationsError> {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut items = Vec::new();
        let mut more = false;
        for entry in self.messages.range((start, Bound::Unbounded)) {
            let (_, message) = entry?;
            if message.state != state {
                continue;
            }
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(message);
        }
        let next_cursor = if more {
            items.last().map(|message| message.id)
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// The message `id`, in whatever state it is.
    pub(crate) fn get(&self, id: Uuid) -> Result<Option<Message>, NotificationsError> {
        Ok(self.messages.get(&id)?)
    }

    /// How many messages are written to `customer` (for tests and operators' checks).
    pub(crate) fn count_for(&self, customer: Uuid) -> Result<usize, NotificationsError> {
        let mut count = 0;
        for entry in self.by_customer.scan_prefix(&customer) {
            entry?;
            count += 1;
        }
        Ok(count)
    }

    /// The messages written to `customer`, in the order they were queued.
    pub(crate) fn written_to(&self, customer: Uuid) -> Result<Vec<Message>, NotificationsError> {
        let mut messages = Vec::new();
        for entry in self.by_customer.scan_prefix(&customer) {
            let ((_, id), ()) = entry?;
            if let Some(message) = self.get(id)? {
                messages.push(message);
            }
        }
        messages.sort_by_key(|message| (message.created_at, message.id));
        Ok(messages)
    }
}

impl super::NotificationsHandle {
    /// Withdraws the pending message queued under `key` on `channel`, durably; whether one was
    /// withdrawn. Its key stays taken, so the event that queued it cannot queue it again.
    pub async fn cancel(&self, channel: Channel, key: &str) -> Result<bool, NotificationsError> {
        let now = self.inner.clock.now();
        self.inner.queue.cancel(channel, key, now).await
    }

    /// Deletes every message written to `customer`, durably; how many.
    pub async fn erase_customer(
        &self,
        customer: crate::ids::CustomerId,
    ) -> Result<usize, NotificationsError> {
        self.inner.queue.erase_customer(customer.as_uuid()).await
    }

    /// How many messages are held for `customer`.
    pub fn messages_for(
        &self,
        customer: crate::ids::CustomerId,
    ) -> Result<usize, NotificationsError> {
        self.inner.queue.count_for(customer.as_uuid())
    }

    /// The messages written to `customer` (any state), in the order they were queued: what a
    /// support agent checks when a customer says they were not told.
    pub fn messages_to(
        &self,
        customer: crate::ids::CustomerId,
    ) -> Result<Vec<Message>, NotificationsError> {
        self.inner.queue.written_to(customer.as_uuid())
    }

    /// Puts a given-up message back in the queue, due now with a fresh attempt budget.
    pub async fn retry(&self, id: Uuid) -> Result<Message, NotificationsError> {
        let now = self.inner.clock.now();
        self.inner.queue.retry(id, now).await
    }

    /// A page of the messages in `state`, in the order they were queued, after the message
    /// `after`.
    pub fn list(
        &self,
        state: MessageState,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Page<Message, Uuid>, NotificationsError> {
        self.inner.queue.list(state, after, limit)
    }

    /// The message `id`.
    pub fn get(&self, id: Uuid) -> Result<Option<Message>, NotificationsError> {
        self.inner.queue.get(id)
    }
}
