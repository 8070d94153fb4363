//! One car's lock: the only place commands to that car are logged, sent and settled.
//!
//! The actor never waits for the unit: issuing persists the command and hands it to the
//! `UnitLink`, and the requester waits outside on a one-shot channel, so the actor stays free
//! to receive the unit's acknowledgement (or the requester's expiry notice) meanwhile. It does
//! not decide who may open the car (the car's rentals actor does, and fences its orders); it
//! refuses orders from a superseded decision and undoes an unlock that a unit reports after
//! the command expired.

use chrono::TimeDelta;
use ractor::RpcReplyPort;
use storage::{Store, Table};
use tokio::sync::oneshot;

use crate::clock::SharedClock;
use crate::commands::{
    AckOutcome, CommandError, CommandOrder, CommandOrigin, CommandRecord, CommandStatus,
    LockAction, UnitCommand, UnitResult,
};
use crate::entity::{Activation, ActorProcessingErr, Entity};
use crate::ids::{CommandId, IncidentId, VehicleId};
use crate::incident::{Incident, IncidentKind};

use super::events;
use super::model::LockRecord;
use super::rules::{doors_after, settle};
use super::unit_link::UnitLink;

/// A command being waited on, and where its outcome will arrive.
pub(crate) struct Issued {
    pub(crate) command: CommandRecord,
    pub(crate) outcome: oneshot::Receiver<CommandRecord>,
}

/// What a watch on an earlier command finds.
pub(crate) enum Watched {
    /// Never logged.
    Unknown,
    /// Settled already.
    Settled(CommandRecord),
    /// Still pending: wait on it.
    Pending(Issued),
}

/// Messages of a car's lock.
pub(crate) enum LockMsg {
    Issue {
        order: CommandOrder,
        reply: RpcReplyPort<Result<Issued, CommandError>>,
    },
    Watch {
        command: CommandId,
        reply: RpcReplyPort<Result<Watched, CommandError>>,
    },
    Acknowledge {
        command: CommandId,
        result: UnitResult,
        reply: RpcReplyPort<Result<AckOutcome, CommandError>>,
    },
    Expire {
        command: CommandId,
        reply: RpcReplyPort<Result<CommandRecord, CommandError>>,
    },
    Pending {
        reply: RpcReplyPort<Vec<UnitCommand>>,
    },
}

/// What a car's lock needs.
#[derive(Clone)]
pub(crate) struct LockContext {
    pub(crate) store: Store,
    pub(crate) states: Table<VehicleId, LockRecord>,
    pub(crate) log: Table<(VehicleId, CommandId), CommandRecord>,
    pub(crate) incidents: Table<IncidentId, Incident>,
    pub(crate) link: UnitLink,
    pub(crate) clock: SharedClock,
    pub(crate) command_timeout: TimeDelta,
}

/// A car's lock while active.
pub(crate) struct VehicleLock {
    vehicle: VehicleId,
    record: LockRecord,
    /// The requester waiting for the pending command; lost on restart, when the requester's
    /// own wait has gone too (a watch may take its place).
    waiter: Option<oneshot::Sender<CommandRecord>>,
}

impl Entity for VehicleLock {
    type Id = VehicleId;
    type Msg = LockMsg;
    type Context = LockContext;
    const KIND: &'static str = "vehicle lock";

    async fn activate(
        id: VehicleId,
        _: Activation,
        context: &LockContext,
    ) -> Result<Option<Self>, ActorProcessingErr> {
        let record = context.states.get(&id)?.unwrap_or_default();
        let mut lock = VehicleLock {
            vehicle: id,
            record,
            waiter: None,
        };
        // A command that expired while nobody watched (a restart) is closed now.
        lock.expire_overdue(context).await?;
        Ok(Some(lock))
    }

    async fn handle(
        &mut self,
        message: LockMsg,
        context: &LockContext,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            LockMsg::Issue { order, reply } => {
                let _ = reply.send(self.issue(order, context).await);
            }
            LockMsg::Watch { command, reply } => {
                let _ = reply.send(self.watch(command, context).await);
            }
            LockMsg::Acknowledge {
                command,
                result,
                reply,
            } => {
                let _ = reply.send(self.acknowledge(command, result, context).await);
            }
            LockMsg::Expire { command, reply } => {
                let _ = reply.send(self.expire(command, context).await);
            }
            LockMsg::Pending { reply } => {
                let now = context.clock.now();
                let pending = self
                    .record
                    .pending
                    .iter()
                    .filter(|command| command.expires_at > now)
                    .map(UnitCommand::from)
                    .collect();
                let _ = reply.send(pending);
            }
        }
        Ok(())
    }
}

impl VehicleLock {
    /// Persists the lock state, the command, an incident if any and the event the command's
    /// change causes (see `events.rs`), durably: a command is never sent, nor its outcome
    /// reported, before it is on disk.
    async fn persist(
        &self,
        command: &CommandRecord,
        incident: Option<&Incident>,
        context: &LockContext,
    ) -> Result<(), CommandError> {
        let outbox = context.store.outbox();
        let at = context.clock.now();
        context
            .store
            .transaction::<(), ()>(
                &[
                    &context.states,
                    &context.log,
                    &context.incidents,
                    outbox.member(),
                ],
                |tx| {
                    tx.table(&context.states)?
                        .insert(&self.vehicle, &self.record)?;
                    let log = tx.table(&context.log)?;
                    let key = (self.vehicle, command.id);
                    let before = log.get(&key)?;
                    log.insert(&key, command)?;
                    if let Some(incident) = incident {
                        tx.table(&context.incidents)?
                            .insert(&incident.id, incident)?;
                    }
                    if let Some(data) = events::caused(before.as_ref(), command) {
                        let event = events::event(command, at, data);
                        crate::events::append(outbox, tx, &[event])?;
                    }
                    Ok(())
                },
            )
            .map_err(|error| match error {
                storage::TxError::Storage(error) => CommandError::Storage(error),
                storage::TxError::Aborted(()) => CommandError::UnknownCommand(command.id),
            })?;
        context.store.commit().await?;
        Ok(())
    }

    /// Closes the pending command as `settled` and tells its requester. An unlock the unit
    /// reports done after it expired is undone at once.
    async fn close(
        &mut self,
        settled: CommandRecord,
        late_done: bool,
        context: &LockContext,
    ) -> Result<(), CommandError> {
        self.record.doors = doors_after(self.record.doors, &settled);
        self.record.pending = None;
        self.persist(&settled, None, context).await?;
        if let Some(waiter) = self.waiter.take() {
            let _ = waiter.send(settled.clone());
        }
        if late_done && settled.action == LockAction::Unlock {
            self.relock(&settled, context).await?;
        }
        Ok(())
    }

    async fn expire_overdue(&mut self, context: &LockContext) -> Result<(), CommandError> {
        let now = context.clock.now();
        if let Some(pending) = self.record.pending.clone()
            && now >= pending.expires_at
        {
            let expired = CommandRecord {
                status: CommandStatus::Expired,
                ..pending
            };
            self.close(expired, false, context).await?;
        }
        Ok(())
    }

    fn send(&self, command: &CommandRecord, context: &LockContext) {
        if !context
            .link
            .deliver(self.vehicle, UnitCommand::from(command))
        {
            tracing::info!(vehicle = %self.vehicle, command = %command.id, "unit offline; command waits for it to connect");
        }
    }

    async fn issue(
        &mut self,
        order: CommandOrder,
        context: &LockContext,
    ) -> Result<Issued, CommandError> {
        self.expire_overdue(context).await?;
        if order.fence < self.record.fence {
            return Err(CommandError::StaleFence {
                vehicle: self.vehicle,
                fence: order.fence,
                current: self.record.fence,
            });
        }
        if self.record.pending.is_some() {
            return Err(CommandError::CommandInProgress);
        }
        if let Some(logged) = context.log.get(&(self.vehicle, order.id))? {
            // The same order again (a retried ask): its outcome, not a second command.
            let (_, outcome) = oneshot::channel();
            return Ok(Issued {
                command: logged,
                outcome,
            });
        }
        let now = context.clock.now();
        let command = CommandRecord {
            id: order.id,
            vehicle_id: self.vehicle,
            action: order.action,
            status: CommandStatus::Pending,
            customer_id: order.customer_id,
            reservation_id: order.reservation_id,
            fence: order.fence,
            origin: order.origin,
            issued_at: now,
            expires_at: now + context.command_timeout,
            answered_at: None,
            reason: None,
        };
        self.record.fence = order.fence;
        self.record.pending = Some(command.clone());
        self.persist(&command, None, context).await?;
        let (waiter, outcome) = oneshot::channel();
        self.waiter = Some(waiter);
        self.send(&command, context);
        Ok(Issued { command, outcome })
    }

    async fn watch(
        &mut self,
        id: CommandId,
        context: &LockContext,
    ) -> Result<Watched, CommandError> {
        self.expire_overdue(context).await?;
        if let Some(pending) = &self.record.pending
            && pending.id == id
        {
            let (waiter, outcome) = oneshot::channel();
            self.waiter = Some(waiter);
            return Ok(Watched::Pending(Issued {
                command: pending.clone(),
                outcome,
            }));
        }
        Ok(match context.log.get(&(self.vehicle, id))? {
            Some(logged) => Watched::Settled(logged),
            None => Watched::Unknown,
        })
    }

    async fn acknowledge(
        &mut self,
        id: CommandId,
        result: UnitResult,
        context: &LockContext,
    ) -> Result<AckOutcome, CommandError> {
        if let Some(pending) = self.record.pending.clone()
            && pending.id == id
        {
            let settled = settle(&pending, &result, context.clock.now());
            let late = settled.status == CommandStatus::Expired;
            self.close(settled, late && result == UnitResult::Done, context)
                .await?;
            return Ok(if late {
                AckOutcome::Late
            } else {
                AckOutcome::Accepted
            });
        }
        // Not pending: a repeated acknowledgement, or one for a command that already expired.
        match context.log.get(&(self.vehicle, id))? {
            Some(logged) if logged.status == CommandStatus::Expired => {
                if result == UnitResult::Done && logged.action == LockAction::Unlock {
                    self.relock(&logged, context).await?;
                }
                Ok(AckOutcome::Late)
            }
            Some(_) => Ok(AckOutcome::Duplicate),
            None => Err(CommandError::UnknownCommand(id)),
        }
    }

    /// The unit opened the car after its command expired: nobody was told it is open, and the
    /// reservation it was for may be over. Lock it again and tell the operator. A command
    /// already pending is left alone (it decides the doors next).
    async fn relock(
        &mut self,
        late: &CommandRecord,
        context: &LockContext,
    ) -> Result<(), CommandError> {
        let now = context.clock.now();
        let incident = Incident::new(
            IncidentKind::LateUnlockRelocked,
            now,
            self.vehicle,
            Some(late.reservation_id),
            format!(
                "unit reported unlock {} done after it expired; the car was locked again",
                late.id
            ),
        );
        tracing::warn!(vehicle = %self.vehicle, command = %late.id, "late unlock; relocking the car");
        self.record.doors = crate::commands::DoorState::Unlocked;
        if let Some(pending) = self.record.pending.clone() {
            return self.persist(&pending, Some(&incident), context).await;
        }
        let relock = CommandRecord {
            id: CommandId::new(),
            vehicle_id: self.vehicle,
            action: LockAction::Lock,
            status: CommandStatus::Pending,
            customer_id: late.customer_id,
            reservation_id: late.reservation_id,
            fence: self.record.fence,
            origin: CommandOrigin::System,
            issued_at: now,
            expires_at: now + context.command_timeout,
            answered_at: None,
            reason: None,
        };
        self.record.pending = Some(relock.clone());
        self.persist(&relock, Some(&incident), context).await?;
        self.send(&relock, context);
        Ok(())
    }

    async fn expire(
        &mut self,
        id: CommandId,
        context: &LockContext,
    ) -> Result<CommandRecord, CommandError> {
        self.expire_overdue(context).await?;
        match &self.record.pending {
            // Still within its time (the requester's clock ran ahead): report it pending.
            Some(pending) if pending.id == id => Ok(pending.clone()),
            _ => context
                .log
                .get(&(self.vehicle, id))?
                .ok_or(CommandError::UnknownCommand(id)),
        }
    }
}
