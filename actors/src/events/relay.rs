//! The relay: moves each store's committed events to every subscriber, in order, at least once.
//!
//! One pass over a store reads a batch from its outbox, waits for a commit (so nothing is
//! delivered that a crash could still take back: the change and its event are on disk
//! together; a batch of lazy events only, car positions, skips that wait), hands the batch to each subscriber in turn and removes it only when every
//! subscriber took it. A subscriber that fails leaves the batch where it is; the next pass
//! offers it again to all of them, which is why subscribers deduplicate by event id. Passes over
//! one store never overlap (a lock per store), so a subscriber sees one store's events in the
//! order they were appended; two stores' events are independent of each other.
//!
//! Passes run when a commit woke the store's outbox, at least every
//! [`RelayOptions::idle_pass`] otherwise (events appended without a commit of their own), and
//! on demand ([`EventRelay::relay_now`], what tests on a manual clock call).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use storage::Store;
use tokio::sync::Mutex;

use crate::metrics;
use crate::ports::BoxFuture;

use super::model::DomainEvent;

/// A consumer of the domain events.
pub trait EventSubscriber: Send + Sync + 'static {
    /// Its name, for logs and metrics.
    fn name(&self) -> &'static str;

    /// Takes a batch of one store's events in order. `Ok` means they are durably taken in
    /// (a redelivery after that must change nothing); an error has the batch offered again.
    fn deliver<'a>(
        &'a self,
        events: &'a [DomainEvent],
    ) -> BoxFuture<'a, Result<(), SubscriberError>>;
}

/// Why a subscriber did not take a batch.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct SubscriberError {
    /// What went wrong.
    pub reason: String,
    /// The cause, when there is one.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SubscriberError {
    /// A failure with its cause.
    pub fn caused_by(
        reason: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        SubscriberError {
            reason: reason.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// Why a pass stopped.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// A store could not be read or committed.
    #[error("outbox of `{store}`: {source}")]
    Storage {
        /// The store.
        store: String,
        /// What failed.
        #[source]
        source: storage::StorageError,
    },
    /// A subscriber refused or did not answer in time; the batch stays for the next pass.
    #[error("subscriber `{subscriber}` did not take events of `{store}`: {source}")]
    Subscriber {
        /// The subscriber.
        subscriber: &'static str,
        /// The store whose events it was offered.
        store: String,
        /// What it said.
        #[source]
        source: SubscriberError,
    },
}

/// The relay's pace.
#[derive(Debug, Clone, Copy)]
pub struct RelayOptions {
    /// Events read per pass.
    pub batch: usize,
    /// A pass runs at least this often even when nothing woke it.
    pub idle_pass: Duration,
    /// How long one subscriber may take over one batch.
    pub deliver_timeout: Duration,
    /// The longest wait before a failed pass is tried again (the wait doubles from 100 ms).
    pub max_backoff: Duration,
}

impl Default for RelayOptions {
    fn default() -> Self {
        RelayOptions {
            batch: 256,
            idle_pass: Duration::from_secs(1),
            deliver_timeout: Duration::from_secs(30),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// The relay over a set of stores. Cheap to clone.
#[derive(Clone)]
pub struct EventRelay {
    inner: Arc<Inner>,
}

struct Inner {
    sources: Vec<Source>,
    subscribers: RwLock<Vec<Arc<dyn EventSubscriber>>>,
    options: RelayOptions,
}

struct Source {
    store: Store,
    /// One pass at a time per store: the order guarantee.
    pass: Mutex<()>,
}

impl EventRelay {
    /// A relay over `stores`' outboxes with no subscriber yet.
    pub fn new(stores: &[Store], options: RelayOptions) -> Self {
        let sources = stores
            .iter()
            .map(|store| Source {
                store: store.clone(),
                pass: Mutex::new(()),
            })
            .collect();
        EventRelay {
            inner: Arc::new(Inner {
                sources,
                subscribers: RwLock::new(Vec::new()),
                options,
            }),
        }
    }

    /// Adds a subscriber; it receives what is still in the outboxes and everything after.
    pub fn subscribe(&self, subscriber: Arc<dyn EventSubscriber>) {
        if let Ok(mut subscribers) = self.inner.subscribers.write() {
            subscribers.push(subscriber);
        }
    }

    /// Delivers every event waiting in every store now, and answers how many.
    pub async fn relay_now(&self) -> Result<usize, RelayError> {
        let mut delivered = 0;
        for source in &self.inner.sources {
            delivered += self.drain(source).await?;
        }
        Ok(delivered)
    }

    /// Events waiting across the stores.
    pub fn pending(&self) -> usize {
        self.inner
            .sources
            .iter()
            .map(|source| source.store.outbox().len())
            .sum()
    }

    /// Starts one background loop per store; abort the handles to stop them.
    pub fn start(&self) -> Vec<tokio::task::AbortHandle> {
        (0..self.inner.sources.len())
            .map(|index| {
                let relay = self.clone();
                tokio::spawn(async move { relay.run(index).await }).abort_handle()
            })
            .collect()
    }

    async fn run(&self, index: usize) {
        let source = &self.inner.sources[index];
        let options = self.inner.options;
        let mut backoff = Duration::from_millis(100);
        loop {
            // A wake-up from a commit, or the idle pass for events written lazily.
            let _ = tokio::time::timeout(options.idle_pass, source.store.outbox().woken()).await;
            match self.drain(source).await {
                Ok(_) => backoff = Duration::from_millis(100),
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?backoff, "event relay pass failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(options.max_backoff);
                    source.store.outbox().wake();
                }
            }
        }
    }

    async fn drain(&self, source: &Source) -> Result<usize, RelayError> {
        let _pass = source.pass.lock().await;
        let store = &source.store;
        let storage_error = |source| RelayError::Storage {
            store: store.name().to_owned(),
            source,
        };
        let mut delivered = 0;
        loop {
            let batch: Vec<(u64, DomainEvent)> = store
                .outbox()
                .peek(self.inner.options.batch)
                .map_err(storage_error)?;
            if batch.is_empty() {
                return Ok(delivered);
            }
            let (sequences, events): (Vec<u64>, Vec<DomainEvent>) = batch.into_iter().unzip();
            if needs_commit(&events) {
                // Every event read was written before this call: once it resolves they are on
                // disk.
                store.commit().await.map_err(storage_error)?;
            }
            let subscribers = self
                .inner
                .subscribers
                .read()
                .map(|subscribers| subscribers.clone())
                .unwrap_or_default();
            for subscriber in subscribers {
                self.offer(subscriber.as_ref(), store.name(), &events)
                    .await?;
            }
            store.outbox().remove(&sequences).map_err(storage_error)?;
            metrics::events_relayed(store.name(), events.len());
            delivered += events.len();
        }
    }

    async fn offer(
        &self,
        subscriber: &dyn EventSubscriber,
        store: &str,
        events: &[DomainEvent],
    ) -> Result<(), RelayError> {
        let timeout = self.inner.options.deliver_timeout;
        let outcome = match tokio::time::timeout(timeout, subscriber.deliver(events)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(SubscriberError {
                reason: format!("no answer within {timeout:?}"),
                source: None,
            }),
        };
        outcome.map_err(|source| {
            metrics::event_delivery_failed(subscriber.name());
            RelayError::Subscriber {
                subscriber: subscriber.name(),
                store: store.to_owned(),
                source,
            }
        })
    }
}

/// Whether a batch must be on disk before it is delivered: unless every event in it is of the
/// lazy class. A car reporting every few seconds would otherwise have each relay pass wait for
/// a flush of the location store, back to back, which the fixes themselves never ask for.
fn needs_commit(events: &[DomainEvent]) -> bool {
    events.iter().any(|event| !event.data.is_lazy())
}
