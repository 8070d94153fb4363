//! Persisted deadlines, re-armed at every start.
//!
//! Timers live in memory only, so a deadline that only lived in a timer would be lost with the
//! process. Each deadline is therefore a row of the store, written in the same transaction as
//! the state that needs it; this scheduler loads the rows at start, sleeps on the service's
//! clock until the earliest, and asks the reservation to act. The reservation removes the row
//! in the transaction that handles it, so a deadline fires at least once, and its handler is
//! idempotent. A deadline that fails (billing down) is retried a little later.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::mpsc;

use crate::ask::AskError;
use crate::clock::SharedClock;
use crate::entity::EntityRef;
use crate::ids::ReservationId;

use super::entity::{ReservationEntity, ReservationMsg};
use super::model::{DeadlineKind, ReservationStatus};
use super::tables::Tables;

/// Pause before a failed deadline is tried again.
const RETRY_AFTER: TimeDelta = TimeDelta::seconds(30);

type Due = (DateTime<Utc>, ReservationId, DeadlineKind);

/// Tells the scheduler about deadlines written after it started.
#[derive(Clone)]
pub(crate) struct DeadlineSender(mpsc::UnboundedSender<Due>);

impl DeadlineSender {
    pub(crate) fn arm(&self, at: DateTime<Utc>, reservation: ReservationId, kind: DeadlineKind) {
        // A closed scheduler means the service is stopping; the row stays in the store and is
        // re-armed at the next start.
        let _ = self.0.send((at, reservation, kind));
    }
}

/// The scheduler's own way to re-arm a failed deadline. It is weak so that the scheduler ends
/// (and lets go of the store) once the service's own senders are gone at shutdown.
#[derive(Clone)]
struct RetrySender(mpsc::WeakUnboundedSender<Due>);

impl RetrySender {
    fn arm(&self, at: DateTime<Utc>, reservation: ReservationId, kind: DeadlineKind) {
        if let Some(sender) = self.0.upgrade() {
            let _ = sender.send((at, reservation, kind));
        }
    }
}

/// The scheduler's inbox, created before the reservations it serves (they arm deadlines).
pub(crate) struct DeadlineReceiver(mpsc::UnboundedReceiver<Due>);

/// A new scheduler channel.
pub(crate) fn channel() -> (DeadlineSender, DeadlineReceiver) {
    let (sender, receiver) = mpsc::unbounded_channel();
    (DeadlineSender(sender), DeadlineReceiver(receiver))
}

/// Starts the scheduler with every deadline in the store.
pub(crate) fn start(
    sender: &DeadlineSender,
    receiver: DeadlineReceiver,
    tables: &Tables,
    clock: SharedClock,
    reservations: EntityRef<ReservationEntity>,
) {
    let mut pending = BTreeSet::new();
    for row in tables.deadlines.iter() {
        match row {
            Ok(((at, reservation, code), ())) => match DeadlineKind::from_code(code) {
                // A booking whose payment step was cut short by the stop resumes right away
                // rather than waiting out its retry delay.
                Some(DeadlineKind::ResumePayment) => {
                    pending.insert((
                        at.min(clock.now()),
                        reservation,
                        DeadlineKind::ResumePayment,
                    ));
                }
                Some(kind) => {
                    pending.insert((at, reservation, kind));
                }
                None => tracing::error!(%reservation, code, "unknown deadline kind in the store"),
            },
            Err(error) => tracing::error!(%error, "unreadable deadline row"),
        }
    }
    tracing::debug!(deadlines = pending.len(), "deadlines re-armed");
    tokio::spawn(run(
        pending,
        receiver.0,
        RetrySender(sender.0.downgrade()),
        clock,
        reservations,
    ));
}

async fn run(
    mut pending: BTreeSet<Due>,
    mut receiver: mpsc::UnboundedReceiver<Due>,
    retry: RetrySender,
    clock: SharedClock,
    reservations: EntityRef<ReservationEntity>,
) {
    loop {
        let next = pending.first().copied();
        let sleep = async {
            match next {
                Some((at, _, _)) => clock.sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            armed = receiver.recv() => match armed {
                Some(due) => {
                    pending.insert(due);
                }
                None => return,
            },
            () = sleep => {
                let Some(due) = pending.pop_first() else { continue };
                let (reservations, clock, retry) = (reservations.clone(), clock.clone(), retry.clone());
                tokio::spawn(async move { fire(due, reservations, clock, retry).await });
            }
        }
    }
}

async fn fire(
    due: Due,
    reservations: EntityRef<ReservationEntity>,
    clock: SharedClock,
    retry: RetrySender,
) {
    let (at, reservation, kind) = due;
    let outcome = reservations
        .call(reservation, |reply| ReservationMsg::Deadline {
            kind,
            reply,
        })
        .await;
    let later = clock.now().max(at) + RETRY_AFTER;
    let again = match outcome {
        // A no-show that woke before its time (the clock was set back) waits for its time.
        Ok(Ok(record))
            if record.status == ReservationStatus::Confirmed
                && kind == DeadlineKind::NoShow
                && clock.now() < at =>
        {
            Some(at)
        }
        Ok(Ok(_)) | Err(AskError::NotFound { .. }) => None,
        Ok(Err(error)) => {
            tracing::warn!(%reservation, ?kind, %error, "deadline failed; retrying later");
            Some(later)
        }
        // Usually the reservation's actor passivating at that very moment: routine, retried.
        Err(error @ AskError::Unavailable { .. }) => {
            tracing::info!(%reservation, ?kind, %error, "deadline not delivered; retrying later");
            Some(later)
        }
        Err(error) => {
            tracing::warn!(%reservation, ?kind, %error, "deadline not delivered; retrying later");
            Some(later)
        }
    };
    if let Some(when) = again {
        retry.arm(when, reservation, kind);
    }
}
