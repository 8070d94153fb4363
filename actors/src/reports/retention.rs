//! The log's retention: events older than `events.retention_days` are removed, in batches,
//! through the writer (the store's only writer). The log is in arrival order, which follows
//! the events' times closely, so the walk stops at the first event young enough to stay.
//! The projections' records stay: they are figures, not events (the thinned track goes with
//! the log, which is why a statement's distance is known only within the retention).

use chrono::{DateTime, TimeDelta, Utc};

use super::ReportsHandle;
use crate::retention::Purge;

/// The reports service's purge.
pub(crate) struct LogPurge {
    pub(crate) handle: ReportsHandle,
    pub(crate) keep: TimeDelta,
}

impl Purge for LogPurge {
    fn kind(&self) -> &'static str {
        "event_log"
    }

    async fn purge_batch(&self, now: DateTime<Utc>, batch: usize) -> Result<usize, String> {
        self.handle
            .purge(now - self.keep, batch)
            .await
            .map_err(|error| error.to_string())
    }
}
