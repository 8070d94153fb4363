//! Locks: unlocking and locking a car for the customer who holds it.
//!
//! A command goes to the car's unit only for the customer holding the car's reservation inside
//! its window (asked from reservations), is persisted before it is sent, and completes only
//! with the unit's acknowledgement before the command expires. An acknowledgement after the
//! expiry never turns it into `done`: the requester was already told it failed. The first
//! unlock makes the reservation active. Lock is refused while the car is moving.

mod entity;
mod error;
mod model;
mod rules;
#[cfg(test)]
mod tests;
mod unit_link;

use std::sync::Arc;

use chrono::TimeDelta;
use ractor::ActorCell;
use storage::{Store, Table};

use crate::clock::SharedClock;
use crate::config::Config;
use crate::entity::{EntityRef, EntityStats, SupervisorConfig, start_entities};
use crate::ids::{CommandId, CustomerId, VehicleId};
use crate::location::LocationHandle;
use crate::reservations::{ReservationsError, ReservationsHandle};

use entity::{LockContext, LockMsg, VehicleLock};
pub use error::LocksError;
pub use model::{
    AckOutcome, CommandRecord, CommandStatus, DoorState, LockAction, UnitCommand, UnitResult,
};
pub use unit_link::{InProcessUnits, UnitBehaviour, UnitLink};

/// How many times the first unlock is reported to reservations before giving up (and logging):
/// the car is open by then, so the renter is not made to wait on it.
const UNLOCK_REPORT_ATTEMPTS: usize = 3;

/// The locks service's API.
#[derive(Clone)]
pub struct LocksHandle {
    inner: Arc<Inner>,
}

struct Inner {
    entities: EntityRef<VehicleLock>,
    log: Table<(VehicleId, CommandId), CommandRecord>,
    reservations: ReservationsHandle,
    location: LocationHandle,
    clock: SharedClock,
}

/// Starts the service on its store, sending commands through `link`.
pub async fn start(
    store: Store,
    link: Arc<dyn UnitLink>,
    reservations: ReservationsHandle,
    location: LocationHandle,
    clock: SharedClock,
    config: &Config,
    parent: Option<ActorCell>,
) -> Result<LocksHandle, ractor::SpawnErr> {
    let startup = |error: storage::StorageError| ractor::SpawnErr::StartupFailed(Box::new(error));
    let context = LockContext {
        states: store.table("lock_states").map_err(startup)?,
        log: store.table("command_log").map_err(startup)?,
        store,
        link,
        clock: clock.clone(),
        command_timeout: TimeDelta::seconds(config.fleet.command_timeout_s as i64),
    };
    let log = context.log.clone();
    let entities =
        start_entities::<VehicleLock>(context, SupervisorConfig::from_config(config), parent)
            .await?;
    Ok(LocksHandle {
        inner: Arc::new(Inner {
            entities,
            log,
            reservations,
            location,
            clock,
        }),
    })
}

impl LocksHandle {
    /// Unlocks the car for `customer`; resolves once the unit has done it.
    pub async fn unlock(
        &self,
        vehicle: VehicleId,
        customer: CustomerId,
    ) -> Result<CommandRecord, LocksError> {
        self.command(vehicle, customer, LockAction::Unlock).await
    }

    /// Locks the car for `customer`; refused while it moves.
    pub async fn lock(
        &self,
        vehicle: VehicleId,
        customer: CustomerId,
    ) -> Result<CommandRecord, LocksError> {
        self.command(vehicle, customer, LockAction::Lock).await
    }

    async fn command(
        &self,
        vehicle: VehicleId,
        customer: CustomerId,
        action: LockAction,
    ) -> Result<CommandRecord, LocksError> {
        let inner = &self.inner;
        let reservation = inner
            .reservations
            .authorize_access(vehicle, customer)
            .map_err(|error| match error {
                ReservationsError::Access(denied) => LocksError::Access(denied),
                other => LocksError::Upstream {
                    service: "reservations",
                    reason: other.to_string(),
                },
            })?;
        if action == LockAction::Lock {
            let latest =
                inner
                    .location
                    .latest(vehicle)
                    .await
                    .map_err(|error| LocksError::Upstream {
                        service: "location",
                        reason: error.to_string(),
                    })?;
            if let Some(fix) = latest
                && rules::is_moving(fix.recorded_at, fix.speed_kmh, inner.clock.now())
            {
                return Err(LocksError::Moving);
            }
        }
        let issued = inner
            .entities
            .call_or_create(vehicle, |reply| LockMsg::Issue {
                action,
                customer,
                reservation,
                reply,
            })
            .await?;
        let issued = issued?;
        let command_id = issued.command.id;
        let settled = tokio::select! {
            settled = issued.outcome => settled.ok(),
            () = inner.clock.sleep_until(issued.command.expires_at) => None,
        };
        let settled = match settled {
            Some(settled) => settled,
            None => {
                inner
                    .entities
                    .call(vehicle, |reply| LockMsg::Expire {
                        command: command_id,
                        reply,
                    })
                    .await??
            }
        };
        match settled.status {
            CommandStatus::Done => {
                if action == LockAction::Unlock {
                    self.report_unlock(&settled).await;
                }
                Ok(settled)
            }
            CommandStatus::Failed => Err(LocksError::UnitFailed(
                settled.reason.unwrap_or_else(|| "no reason given".into()),
            )),
            CommandStatus::Expired | CommandStatus::Pending => Err(LocksError::UnitTimeout),
        }
    }

    async fn report_unlock(&self, command: &CommandRecord) {
        let at = command.answered_at.unwrap_or(command.issued_at);
        for attempt in 1..=UNLOCK_REPORT_ATTEMPTS {
            match self
                .inner
                .reservations
                .record_unlock(command.reservation_id, at)
                .await
            {
                Ok(_) => return,
                Err(error) => tracing::warn!(
                    reservation = %command.reservation_id, attempt, %error,
                    "could not record the first unlock"
                ),
            }
        }
        tracing::error!(reservation = %command.reservation_id, "first unlock not recorded; the reservation may be taken for a no-show");
    }

    /// A unit's answer to a command. Repeated answers count once; late ones not at all.
    pub async fn acknowledge(
        &self,
        vehicle: VehicleId,
        command: CommandId,
        result: UnitResult,
    ) -> Result<AckOutcome, LocksError> {
        self.inner
            .entities
            .call_or_create(vehicle, |reply| LockMsg::Acknowledge {
                command,
                result: result.clone(),
                reply,
            })
            .await?
    }

    /// The commands a (re)connecting unit should still execute.
    pub async fn pending_commands(
        &self,
        vehicle: VehicleId,
    ) -> Result<Vec<UnitCommand>, LocksError> {
        Ok(self
            .inner
            .entities
            .call_or_create(vehicle, |reply| LockMsg::Pending { reply })
            .await?)
    }

    /// The car's command log, oldest first.
    pub fn commands(&self, vehicle: VehicleId) -> Result<Vec<CommandRecord>, LocksError> {
        let commands = self
            .inner
            .log
            .scan_prefix(&vehicle)
            .map(|entry| entry.map(|(_, command)| command))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(commands)
    }

    /// Every logged command of every car (for the simulator's audit).
    pub fn all_commands(&self) -> Result<Vec<CommandRecord>, LocksError> {
        let commands = self
            .inner
            .log
            .iter()
            .map(|entry| entry.map(|(_, command)| command))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(commands)
    }

    /// Counters of the car locks, for metrics.
    pub fn stats(&self) -> EntityStats {
        self.inner.entities.stats()
    }

    /// Whether the supervisor runs.
    pub fn ping(&self) -> Result<(), crate::ask::AskError> {
        self.inner.entities.ping()
    }
}
