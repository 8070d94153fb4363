//! Locks: carrying out unlock and lock commands on a car's unit, and keeping the command log.
//!
//! Locks does not decide who may open a car: the car's rentals actor (reservations) does, and
//! sends orders through the [`CarCommands`] port, each with the reservation and the fencing
//! number of its decision. A command is persisted before it is sent and completes only with the
//! unit's acknowledgement before it expires. An acknowledgement after the expiry never turns it
//! into `done`: the requester was already told it failed, so an unlock reported that late is
//! undone by locking the car again, and recorded as an incident. Lock is refused while the car
//! is moving when the order asks for it. Each change of a logged command writes its event
//! (`command.sent`, `.acknowledged`, `.refused`, `.expired`) in the same transaction
//! (`events.rs`).

mod connections;
mod entity;
mod events;
#[cfg(any(test, feature = "in-process-units"))]
mod in_process;
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
use crate::error_kind::Kinded;
use crate::ids::{CommandId, IncidentId, VehicleId};
use crate::incident::Incident;
use crate::location::LocationHandle;
use crate::ports::{BoxFuture, CarCommands};

pub use crate::commands::{
    AckOutcome, CommandError, CommandOrder, CommandOrigin, CommandRecord, CommandStatus, DoorState,
    LockAction, UnitCommand, UnitResult,
};
pub use connections::{Attached, UnitConnections};
use entity::{Issued, LockContext, LockMsg, VehicleLock, Watched};
#[cfg(any(test, feature = "in-process-units"))]
pub use in_process::{InProcessUnits, UnitBehaviour};
pub use unit_link::UnitLink;

/// The locks service's API.
#[derive(Clone)]
pub struct LocksHandle {
    inner: Arc<Inner>,
}

struct Inner {
    entities: EntityRef<VehicleLock>,
    log: Table<(VehicleId, CommandId), CommandRecord>,
    incidents: Table<IncidentId, Incident>,
    location: LocationHandle,
    clock: SharedClock,
}

/// Starts the service on its store, sending commands through `link`.
pub async fn start(
    store: Store,
    link: UnitLink,
    location: LocationHandle,
    clock: SharedClock,
    config: &Config,
    parent: Option<ActorCell>,
) -> Result<LocksHandle, ractor::SpawnErr> {
    let startup = |error: storage::StorageError| ractor::SpawnErr::StartupFailed(Box::new(error));
    let context = LockContext {
        states: store.table("lock_states").map_err(startup)?,
        log: store.table("command_log").map_err(startup)?,
        incidents: store.table("incidents").map_err(startup)?,
        store,
        link,
        clock: clock.clone(),
        command_timeout: TimeDelta::seconds(config.fleet.command_timeout_s as i64),
    };
    let (log, incidents) = (context.log.clone(), context.incidents.clone());
    let entities =
        start_entities::<VehicleLock>(context, SupervisorConfig::from_config(config), parent)
            .await?;
    Ok(LocksHandle {
        inner: Arc::new(Inner {
            entities,
            log,
            incidents,
            location,
            clock,
        }),
    })
}

impl LocksHandle {
    /// Logs and sends `order`, then waits for the unit's answer until the command expires.
    /// Answers the settled record; a failed or expired command is an answer too, not an error.
    pub async fn execute(&self, order: CommandOrder) -> Result<CommandRecord, CommandError> {
        let started = std::time::Instant::now();
        let action = match order.action {
            LockAction::Unlock => "unlock",
            LockAction::Lock => "lock",
        };
        let outcome = self.send_and_wait(order).await;
        let result = match &outcome {
            Ok(record) => match record.status {
                CommandStatus::Pending => "pending",
                CommandStatus::Done => "done",
                CommandStatus::Failed => "failed",
                CommandStatus::Expired => "expired",
            },
            Err(error) => error.kind().code(),
        };
        crate::metrics::lock_command(action, result, started.elapsed());
        outcome
    }

    async fn send_and_wait(&self, order: CommandOrder) -> Result<CommandRecord, CommandError> {
        let inner = &self.inner;
        if order.action == LockAction::Lock && order.refuse_if_moving {
            let latest = inner
                .location
                .latest(order.vehicle_id)
                .await
                .map_err(CommandError::Location)?;
            if let Some(fix) = latest
                && rules::is_moving(fix.recorded_at, fix.speed_kmh, inner.clock.now())
            {
                return Err(CommandError::Moving);
            }
        }
        let vehicle = order.vehicle_id;
        let issued = inner
            .entities
            .call_or_create(vehicle, |reply| LockMsg::Issue {
                order: order.clone(),
                reply,
            })
            .await??;
        self.wait(vehicle, issued).await
    }

    /// The outcome of a command sent earlier, waiting while it is pending.
    pub async fn outcome(
        &self,
        vehicle: VehicleId,
        command: CommandId,
    ) -> Result<Option<CommandRecord>, CommandError> {
        let watched = self
            .inner
            .entities
            .call_or_create(vehicle, |reply| LockMsg::Watch { command, reply })
            .await??;
        match watched {
            Watched::Unknown => Ok(None),
            Watched::Settled(record) => Ok(Some(record)),
            Watched::Pending(issued) => self.wait(vehicle, issued).await.map(Some),
        }
    }

    /// Waits for an issued command's outcome until its expiry, then closes it as expired.
    async fn wait(
        &self,
        vehicle: VehicleId,
        issued: Issued,
    ) -> Result<CommandRecord, CommandError> {
        if issued.command.status != CommandStatus::Pending {
            return Ok(issued.command);
        }
        let command_id = issued.command.id;
        let settled = tokio::select! {
            settled = issued.outcome => settled.ok(),
            () = self.inner.clock.sleep_until(issued.command.expires_at) => None,
        };
        match settled {
            Some(settled) => Ok(settled),
            None => Ok(self
                .inner
                .entities
                .call(vehicle, |reply| LockMsg::Expire {
                    command: command_id,
                    reply,
                })
                .await??),
        }
    }

    /// A unit's answer to a command. Repeated answers count once; late ones not at all (a
    /// late unlock is undone).
    pub async fn acknowledge(
        &self,
        vehicle: VehicleId,
        command: CommandId,
        result: UnitResult,
    ) -> Result<AckOutcome, CommandError> {
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
    ) -> Result<Vec<UnitCommand>, CommandError> {
        Ok(self
            .inner
            .entities
            .call_or_create(vehicle, |reply| LockMsg::Pending { reply })
            .await?)
    }

    /// The car's command log, oldest first.
    pub fn commands(&self, vehicle: VehicleId) -> Result<Vec<CommandRecord>, CommandError> {
        let commands = self
            .inner
            .log
            .scan_prefix(&vehicle)
            .map(|entry| entry.map(|(_, command)| command))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(commands)
    }

    /// Every logged command of every car (for the audit).
    pub fn all_commands(&self) -> Result<Vec<CommandRecord>, CommandError> {
        let commands = self
            .inner
            .log
            .iter()
            .map(|entry| entry.map(|(_, command)| command))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(commands)
    }

    /// The incidents locks recorded, oldest first.
    pub fn incidents(&self) -> Result<Vec<Incident>, CommandError> {
        let incidents = self
            .inner
            .incidents
            .iter()
            .map(|entry| entry.map(|(_, incident)| incident))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(incidents)
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

impl CarCommands for LocksHandle {
    fn execute(&self, order: CommandOrder) -> BoxFuture<'_, Result<CommandRecord, CommandError>> {
        Box::pin(LocksHandle::execute(self, order))
    }

    fn outcome(
        &self,
        vehicle: VehicleId,
        command: CommandId,
    ) -> BoxFuture<'_, Result<Option<CommandRecord>, CommandError>> {
        Box::pin(LocksHandle::outcome(self, vehicle, command))
    }
}
