//! The writer: the one actor that writes the reports store (appends to the log and its
//! projections, rebuilds them, purges the log), so that sequence numbers are handed out in
//! one order and a rebuild never interleaves with an append.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::broadcast;

use super::error::ReportsError;
use super::store::ReportsStore;
use crate::events::DomainEvent;

/// One logged event as streams receive it: its sequence, the event, and its JSON form,
/// rendered once however many streams send it.
#[derive(Debug)]
pub struct Logged {
    /// The event's sequence in the log.
    pub sequence: u64,
    /// The event.
    pub event: DomainEvent,
    json: std::sync::OnceLock<String>,
}

impl Logged {
    /// A logged event, its JSON not rendered yet.
    pub fn new(sequence: u64, event: DomainEvent) -> Self {
        Logged {
            sequence,
            event,
            json: std::sync::OnceLock::new(),
        }
    }

    /// [`DomainEvent::to_json`] as text, rendered by the first stream that asks.
    pub fn json(&self) -> &str {
        self.json.get_or_init(|| self.event.to_json().to_string())
    }
}

/// How long to wait before asking again for a flush that failed.
const SETTLE_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// Events read per step of a rebuild.
const REBUILD_BATCH: usize = 512;

/// The writer's messages.
pub(crate) enum WriterMsg {
    /// Log the public events not yet logged, durably; answers how many were new.
    Append {
        events: Vec<DomainEvent>,
        reply: RpcReplyPort<Result<usize, ReportsError>>,
    },
    /// Clear the projections and apply the whole log again; answers the events replayed.
    Rebuild {
        reply: RpcReplyPort<Result<u64, ReportsError>>,
    },
    /// Remove at most `batch` log entries older than `cutoff`; answers how many.
    Purge {
        cutoff: DateTime<Utc>,
        batch: usize,
        reply: RpcReplyPort<Result<usize, ReportsError>>,
    },
    /// The writer's own: everything logged up to `upto` is on disk (or the wait failed).
    Settled {
        upto: u64,
        outcome: Result<(), storage::StorageError>,
    },
}

pub(crate) struct Writer;

/// The writer's state: the store, the next sequence and the live subscribers' channel.
pub(crate) struct WriterState {
    store: ReportsStore,
    next: u64,
    live: broadcast::Sender<Arc<Logged>>,
    /// Logged lazy events not yet known to be on disk, oldest first: readers see them after
    /// the flush that carries them.
    unpublished: Vec<Arc<Logged>>,
    /// Whether a wait for that flush is under way (it ends with [`WriterMsg::Settled`]).
    settling: bool,
}

impl Actor for Writer {
    type Msg = WriterMsg;
    type State = WriterState;
    type Arguments = (ReportsStore, broadcast::Sender<Arc<Logged>>);

    async fn pre_start(
        &self,
        _myself: ActorRef<WriterMsg>,
        (store, live): Self::Arguments,
    ) -> Result<WriterState, ActorProcessingErr> {
        let next = store.last_sequence()? + 1;
        Ok(WriterState {
            store,
            next,
            live,
            unpublished: Vec::new(),
            settling: false,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<WriterMsg>,
        message: WriterMsg,
        state: &mut WriterState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            WriterMsg::Append { events, reply } => {
                let _ = reply.send(state.append(&events, &myself).await);
            }
            WriterMsg::Settled { upto, outcome } => state.settled(upto, outcome, &myself),
            WriterMsg::Rebuild { reply } => {
                let _ = reply.send(state.rebuild().await);
            }
            WriterMsg::Purge {
                cutoff,
                batch,
                reply,
            } => {
                let outcome = state.store.purge(cutoff, batch).map_err(ReportsError::from);
                let outcome = match outcome {
                    Ok(removed) if removed > 0 => state
                        .store
                        .store
                        .commit()
                        .await
                        .map(|()| removed)
                        .map_err(ReportsError::from),
                    other => other,
                };
                let _ = reply.send(outcome);
            }
        }
        Ok(())
    }
}

impl WriterState {
    /// Logs what is new and public, then shows it to readers and live subscribers in sequence
    /// order once it is on disk. A batch with a change's event commits before it answers, so
    /// the relay drops nothing a crash could take back. A batch of positions only (the lazy
    /// class) answers at once and is shown after the next flush, asked of no one: a car
    /// reporting every few seconds must not cost a flush of this store per relay pass, and a
    /// crash before that flush loses positions nobody was shown, whose numbers nobody saw.
    async fn append(
        &mut self,
        events: &[DomainEvent],
        myself: &ActorRef<WriterMsg>,
    ) -> Result<usize, ReportsError> {
        let mut logged: Vec<Arc<Logged>> = Vec::new();
        for event in events.iter().filter(|event| event.data.is_public()) {
            if self.store.knows(&event.id)? || logged.iter().any(|e| e.event.id == event.id) {
                continue;
            }
            if event.data.is_lazy() {
                self.store.append_position(self.next, event)?;
            } else {
                self.store.append(self.next, event)?;
            }
            logged.push(Arc::new(Logged::new(self.next, event.clone())));
            self.next += 1;
        }
        let Some(last) = logged.last().map(|entry| entry.sequence) else {
            return Ok(0);
        };
        let count = logged.len();
        let lazy = logged.iter().all(|entry| entry.event.data.is_lazy());
        self.unpublished.extend(logged);
        if lazy {
            self.settle(myself);
        } else {
            self.store.store.commit().await?;
            self.publish(last);
        }
        Ok(count)
    }

    /// Waits, off the writer's turn, for the flush that carries what is logged now.
    fn settle(&mut self, myself: &ActorRef<WriterMsg>) {
        let Some(upto) = self.unpublished.last().map(|entry| entry.sequence) else {
            return;
        };
        if self.settling {
            return;
        }
        self.settling = true;
        let (store, myself) = (self.store.store.clone(), myself.clone());
        tokio::spawn(async move {
            let outcome = store.settled().await;
            if outcome.is_err() {
                // A store that cannot flush fails at once: do not ask again in a tight loop.
                tokio::time::sleep(SETTLE_RETRY).await;
            }
            // The writer gone, nobody is left to show the events to.
            let _ = myself.cast(WriterMsg::Settled { upto, outcome });
        });
    }

    fn settled(
        &mut self,
        upto: u64,
        outcome: Result<(), storage::StorageError>,
        myself: &ActorRef<WriterMsg>,
    ) {
        self.settling = false;
        match outcome {
            Ok(()) => self.publish(upto),
            // Shown with the next flush that works; a crash before it loses only positions.
            Err(error) => tracing::warn!(%error, "logged positions not yet on disk"),
        }
        self.settle(myself);
    }

    /// Lets readers see the log up to `upto`, which is on disk, and broadcasts what they had
    /// not seen, in order.
    fn publish(&mut self, upto: u64) {
        self.store.mark_committed(upto);
        let shown = self
            .unpublished
            .iter()
            .take_while(|entry| entry.sequence <= upto)
            .count();
        for entry in self.unpublished.drain(..shown) {
            // No live subscriber is not an error: the log has it.
            let _ = self.live.send(entry);
        }
    }

    async fn rebuild(&mut self) -> Result<u64, ReportsError> {
        self.store.clear_projections()?;
        let mut after = 0;
        let mut replayed = 0u64;
        loop {
            let batch = self.store.log_after(after, REBUILD_BATCH)?;
            let Some((last, _)) = batch.last() else {
                break;
            };
            after = *last;
            for (_, event) in &batch {
                self.store.reproject(event)?;
                replayed += 1;
            }
            // Appends wait behind a rebuild: let the runtime's other work run between batches.
            tokio::task::yield_now().await;
        }
        self.store.store.commit().await?;
        Ok(replayed)
    }
}
