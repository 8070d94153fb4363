//! The durable queue: every message is written, and committed, before anyone may send it.
//!
//! Three trees of the notifications store:
//! - `messages`: message id (UUIDv7) → [`Message`], every message ever queued;
//! - `message_keys`: `"<channel>:<caller's key>"` → message id, the deduplication index: a
//!   key enqueued twice finds its first message and stores nothing;
//! - `due`: (next attempt time, message id) → (), only the pending messages, so the delivery
//!   loop reads what is due with one range scan instead of walking every message;
//! - `messages_by_customer`: (customer id, message id) → () and `message_customer`: message id
//!   → customer id, for the messages written to a customer, so that an erasure finds every one
//!   of them with a prefix scan and a purge removes the entry with its message (a [`Message`]
//!   itself does not name its customer: its stored layout stays as it was).
//!
//! A message, its key, its due entry and its customer entries change in one transaction. An attempt's outcome is
//! committed before the next look; an outcome lost in a crash leaves the message pending, so it
//! is sent again (at least once).

use std::convert::Infallible;

use chrono::{DateTime, Utc};
use storage::{Store, Table, TxError, UniqueIndex};
use uuid::Uuid;

use super::error::NotificationsError;
use super::model::{Channel, Message, MessageState};

/// What an enqueue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// The message that carries the key (new or earlier).
    pub id: Uuid,
    /// False when the key was already queued: nothing new was stored.
    pub created: bool,
}

/// The queue's tables.
#[derive(Clone)]
pub(crate) struct Queue {
    pub(super) store: Store,
    pub(super) messages: Table<Uuid, Message>,
    pub(super) keys: UniqueIndex<String, Uuid>,
    pub(super) due: Table<(DateTime<Utc>, Uuid), ()>,
    pub(super) by_customer: Table<(Uuid, Uuid), ()>,
    pub(super) customer_of: Table<Uuid, Uuid>,
}

pub(super) fn storage(error: TxError<Infallible>) -> NotificationsError {
    match error {
        TxError::Storage(error) => NotificationsError::Storage(error),
        TxError::Aborted(never) => match never {},
    }
}

impl Queue {
    pub(crate) fn open(store: Store) -> Result<Queue, storage::StorageError> {
        Ok(Queue {
            messages: store.table("messages")?,
            keys: store.unique_index("message_keys")?,
            due: store.table("due")?,
            by_customer: store.table("messages_by_customer")?,
            customer_of: store.table("message_customer")?,
            store,
        })
    }

    /// Stores `message` (written to `customer`, if it is) unless its key is already queued, and
    /// returns once either is durable.
    pub(crate) async fn enqueue(
        &self,
        message: &Message,
        customer: Option<Uuid>,
    ) -> Result<Enqueued, NotificationsError> {
        let dedup = message.channel().dedup_key(&message.key);
        let (messages, keys, due) = (&self.messages, &self.keys, &self.due);
        let (by_customer, customer_of) = (&self.by_customer, &self.customer_of);
        let enqueued = self
            .store
            .transaction::<_, Infallible>(&[messages, keys, due, by_customer, customer_of], |tx| {
                let keys = tx.index(keys)?;
                if let Some(id) = keys.get(&dedup)? {
                    return Ok(Enqueued { id, created: false });
                }
                keys.claim(&dedup, &message.id)?;
                tx.table(messages)?.insert(&message.id, message)?;
                tx.table(due)?
                    .insert(&(message.next_attempt_at, message.id), &())?;
                if let Some(customer) = customer {
                    tx.table(by_customer)?
                        .insert(&(customer, message.id), &())?;
                    tx.table(customer_of)?.insert(&message.id, &customer)?;
                }
                Ok(Enqueued {
                    id: message.id,
                    created: true,
                })
            })
            .map_err(storage)?;
        // Also for a duplicate: the first enqueue may not be on disk yet (a concurrent caller),
        // and this caller is told "queued" only once it is.
        self.store.commit().await?;
        Ok(enqueued)
    }

    /// Pending messages due at `now`, earliest first, at most `limit`.
    pub(crate) fn due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Message>, NotificationsError> {
        let mut due = Vec::new();
        for entry in self.due.range(..=(now, Uuid::max())).take(limit) {
            let ((_, id), ()) = entry?;
            match self.messages.get(&id)? {
                Some(message) if message.state == MessageState::Pending => due.push(message),
                // A due entry without its pending message cannot be written by this module;
                // it is skipped rather than retried forever.
                _ => tracing::warn!(message = %id, "due entry without a pending message"),
            }
        }
        Ok(due)
    }

    /// Replaces `before` by `after` (the same message after an attempt), moving its due entry.
    /// Durable at the next [`Queue::commit`]. A message that was withdrawn or erased while the
    /// attempt ran is left as it is now: an erased customer's address must not come back.
    pub(crate) fn record(
        &self,
        before: &Message,
        after: &Message,
    ) -> Result<(), NotificationsError> {
        let (messages, due) = (&self.messages, &self.due);
        self.store
            .transaction::<_, Infallible>(&[messages, due], |tx| {
                let (due, messages) = (tx.table(due)?, tx.table(messages)?);
                due.remove(&(before.next_attempt_at, before.id))?;
                let still_pending = messages
                    .get(&before.id)?
                    .is_some_and(|now| now.state == MessageState::Pending);
                if !still_pending {
                    return Ok(());
                }
                if after.state == MessageState::Pending {
                    due.insert(&(after.next_attempt_at, after.id), &())?;
                }
                messages.insert(&after.id, after)?;
                Ok(())
            })
            .map_err(storage)
    }

    /// Makes every recorded outcome durable.
    pub(crate) async fn commit(&self) -> Result<(), NotificationsError> {
        Ok(self.store.commit().await?)
    }

    /// The message queued under `key` on `channel`.
    pub(crate) fn by_key(
        &self,
        channel: Channel,
        key: &str,
    ) -> Result<Option<Message>, NotificationsError> {
        let Some(id) = self.keys.get(&channel.dedup_key(key))? else {
            return Ok(None);
        };
        Ok(self.messages.get(&id)?)
    }

    /// Every pending message, by due time.
    pub(crate) fn pending(&self) -> Result<Vec<Message>, NotificationsError> {
        self.due(DateTime::<Utc>::MAX_UTC, usize::MAX)
    }

    /// Every message in `state`, in the order they were queued (walks the whole table: for
    /// operators and tests).
    pub(crate) fn in_state(&self, state: MessageState) -> Result<Vec<Message>, NotificationsError> {
        let mut found = Vec::new();
        for entry in self.messages.iter() {
            let (_, message) = entry?;
            if message.state == state {
                found.push(message);
            }
        }
        Ok(found)
    }
}
