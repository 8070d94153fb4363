//! The scheduler of the persisted deadlines (see [`super::deadlines`]): it loads every row at
//! start, sleeps on the service's clock until the earliest, and fires each into its
//! reservation's car, retrying a little later what could not be delivered or handled.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::mpsc;

use crate::ask::AskError;
use crate::clock::SharedClock;
use crate::entity::EntityRef;
use crate::ids::ReservationId;

use super::car::{CarMsg, CarRentals};
use super::deadlines::{DeadlineReceiver, DeadlineSender, Due};
use super::model::DeadlineKind;
use super::tables::Tables;

/// Pause before a failed deadline is tried again.
const RETRY_AFTER: TimeDelta = TimeDelta::seconds(30);

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

/// Starts the scheduler with every deadline in the store.
pub(crate) fn start(
    sender: &DeadlineSender,
    receiver: DeadlineReceiver,
    tables: &Tables,
    clock: SharedClock,
    cars: EntityRef<CarRentals>,
) {
    let mut pending = BTreeSet::new();
    for row in tables.deadlines.iter() {
        match row {
            Ok(((at, reservation, code), ())) => match DeadlineKind::from_code(code) {
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
        tables.clone(),
        cars,
    ));
}

async fn run(
    mut pending: BTreeSet<Due>,
    mut receiver: mpsc::UnboundedReceiver<Due>,
    retry: RetrySender,
    clock: SharedClock,
    tables: Tables,
    cars: EntityRef<CarRentals>,
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
                let (tables, cars, clock, retry) = (tables.clone(), cars.clone(), clock.clone(), retry.clone());
                tokio::spawn(async move { fire(due, &tables, cars, clock, retry).await });
            }
        }
    }
}

async fn fire(
    due: Due,
    tables: &Tables,
    cars: EntityRef<CarRentals>,
    clock: SharedClock,
    retry: RetrySender,
) {
    let (at, reservation, kind) = due;
    let vehicle = match tables.reservations.get(&reservation) {
        Ok(Some(record)) => record.vehicle_id,
        Ok(None) => {
            tracing::error!(%reservation, ?kind, "deadline of an unknown reservation; dropped");
            return;
        }
        Err(error) => {
            tracing::error!(%reservation, %error, "deadline's reservation unreadable; retrying later");
            retry.arm(clock.now().max(at) + RETRY_AFTER, reservation, kind);
            return;
        }
    };
    let outcome = cars
        .call_or_create(vehicle, |reply| CarMsg::Deadline {
            reservation,
            at,
            kind,
            reply,
        })
        .await;
    let later = clock.now().max(at) + RETRY_AFTER;
    let again = match outcome {
        Ok(Ok(None)) | Err(AskError::NotFound { .. }) => None,
        // Woken before its time (the clock was set back): wait for its time.
        Ok(Ok(Some(when))) => Some(when),
        Ok(Err(error)) => {
            tracing::warn!(%reservation, ?kind, %error, "deadline failed; retrying later");
            Some(later)
        }
        // Usually the car's actor passivating at that very moment: routine, retried.
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
