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
}

pub(crate) struct Writer;

/// The writer's state: the store, the next sequence and the live subscribers' channel.
pub(crate) struct WriterState {
    store: ReportsStore,
    next: u64,
    live: broadcast::Sender<Arc<Logged>>,
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
        Ok(WriterState { store, next, live })
    }

    async fn handle(
        &self,
        _myself: ActorRef<WriterMsg>,
        message: WriterMsg,
        state: &mut WriterState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            WriterMsg::Append { events, reply } => {
                let _ = reply.send(state.append(&events).await);
            }
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
    /// Logs what is new and public, commits, then shows it to readers and live subscribers,
    /// in sequence order.
    async fn append(&mut self, events: &[DomainEvent]) -> Result<usize, ReportsError> {
        let mut logged: Vec<Arc<Logged>> = Vec::new();
        for event in events.iter().filter(|event| event.data.is_public()) {
            if self.store.knows(&event.id)? || logged.iter().any(|e| e.event.id == event.id) {
                continue;
            }
            self.store.append(self.next, event)?;
            logged.push(Arc::new(Logged::new(self.next, event.clone())));
            self.next += 1;
        }
        let Some(last) = logged.last() else {
            return Ok(0);
        };
        self.store.store.commit().await?;
        self.store.mark_committed(last.sequence);
        for entry in &logged {
            // No live subscriber is not an error: the log has it.
            let _ = self.live.send(entry.clone());
        }
        Ok(logged.len())
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
