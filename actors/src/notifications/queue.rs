//! The durable queue: every message is written, and committed, before anyone may send it.
//!
//! Three trees of the notifications store:
//! - `messages`: message id (UUIDv7) → [`Message`], every message ever queued;
//! - `message_keys`: `"<channel>:<caller's key>"` → message id, the deduplication index: a
//!   key enqueued twice finds its first message and stores nothing;
//! - `due`: (next attempt time, message id) → (), only the pending messages, so the delivery
//!   loop reads what is due with one range scan instead of walking every message.
//!
//! A message, its key and its due entry change in one transaction. An attempt's outcome is
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
    due: Table<(DateTime<Utc>, Uuid), ()>,
}

fn storage(error: TxError<Infallible>) -> NotificationsError {
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
            store,
        })
    }

    /// Stores `message` unless its key is already queued, and returns once either is durable.
    pub(crate) async fn enqueue(&self, message: &Message) -> Result<Enqueued, NotificationsError> {
        let dedup = message.channel().dedup_key(&message.key);
        let (messages, keys, due) = (&self.messages, &self.keys, &self.due);
        let enqueued = self
            .store
            .transaction::<_, Infallible>(&[messages, keys, due], |tx| {
                let keys = tx.index(keys)?;
                if let Some(id) = keys.get(&dedup)? {
                    return Ok(Enqueued { id, created: false });
                }
                keys.claim(&dedup, &message.id)?;
                tx.table(messages)?.insert(&message.id, message)?;
                tx.table(due)?
                    .insert(&(message.next_attempt_at, message.id), &())?;
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
    /// Durable at the next [`Queue::commit`].
    pub(crate) fn record(
        &self,
        before: &Message,
        after: &Message,
    ) -> Result<(), NotificationsError> {
        let (messages, due) = (&self.messages, &self.due);
        self.store
            .transaction::<_, Infallible>(&[messages, due], |tx| {
                let due = tx.table(due)?;
                due.remove(&(before.next_attempt_at, before.id))?;
                if after.state == MessageState::Pending {
                    due.insert(&(after.next_attempt_at, after.id), &())?;
                }
                tx.table(messages)?.insert(&after.id, after)?;
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
