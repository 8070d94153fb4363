//! Persisted deadlines, re-armed at every start: how the cars arm them (this file) and the
//! scheduler that fires them into the cars ([`super::deadline_scheduler`]).
//!
//! Timers live in memory only, so a deadline that only lived in a timer would be lost with the
//! process. Each deadline is therefore a row of the store, written in the same transaction as
//! the state that needs it; the scheduler loads the rows at start, sleeps on the service's
//! clock until the earliest, and asks the reservation's car to act. The car removes the row
//! once it has handled it, so a deadline fires at least once, and its handler is idempotent. A
//! deadline that fails (billing down) is retried a little later.

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::ids::ReservationId;

use super::model::DeadlineKind;

/// A deadline: when, for which reservation, what.
pub(super) type Due = (DateTime<Utc>, ReservationId, DeadlineKind);

/// Tells the scheduler about deadlines written after it started.
#[derive(Clone)]
pub(crate) struct DeadlineSender(pub(super) mpsc::UnboundedSender<Due>);

impl DeadlineSender {
    pub(crate) fn arm(&self, at: DateTime<Utc>, reservation: ReservationId, kind: DeadlineKind) {
        // A closed scheduler means the service is stopping; the row stays in the store and is
        // re-armed at the next start.
        let _ = self.0.send((at, reservation, kind));
    }
}

/// The scheduler's inbox, created before the reservations it serves (they arm deadlines).
pub(crate) struct DeadlineReceiver(pub(super) mpsc::UnboundedReceiver<Due>);

/// A new scheduler channel.
pub(crate) fn channel() -> (DeadlineSender, DeadlineReceiver) {
    let (sender, receiver) = mpsc::unbounded_channel();
    (DeadlineSender(sender), DeadlineReceiver(receiver))
}
