//! One car's lock: the only place commands to that car are issued and settled.
//!
//! The actor never waits for the unit: issuing persists the command and hands it to the
//! `UnitLink`, and the requester waits outside on a one-shot channel, so the actor stays free
//! to receive the unit's acknowledgement (or the requester's expiry notice) meanwhile.

use std::sync::Arc;

use chrono::TimeDelta;
use ractor::RpcReplyPort;
use storage::{Store, Table};
use tokio::sync::oneshot;

use crate::clock::SharedClock;
use crate::entity::{Activation, ActorProcessingErr, Entity};
use crate::ids::{CommandId, CustomerId, ReservationId, VehicleId};

use super::error::LocksError;
use super::model::{
    AckOutcome, CommandRecord, CommandStatus, LockAction, LockRecord, UnitCommand, UnitResult,
};
use super::rules::{doors_after, settle};
use super::unit_link::UnitLink;

/// A command just issued, and where its outcome will arrive.
pub(crate) struct Issued {
    pub(crate) command: CommandRecord,
    pub(crate) outcome: oneshot::Receiver<CommandRecord>,
}

/// Messages of a car's lock.
pub(crate) enum LockMsg {
    Issue {
        action: LockAction,
        customer: CustomerId,
        reservation: ReservationId,
        reply: RpcReplyPort<Result<Issued, LocksError>>,
    },
    Acknowledge {
        command: CommandId,
        result: UnitResult,
        reply: RpcReplyPort<Result<AckOutcome, LocksError>>,
    },
    Expire {
        command: CommandId,
        reply: RpcReplyPort<Result<CommandRecord, LocksError>>,
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
    pub(crate) link: Arc<dyn UnitLink>,
    pub(crate) clock: SharedClock,
    pub(crate) command_timeout: TimeDelta,
}

/// A car's lock while active.
pub(crate) struct VehicleLock {
    vehicle: VehicleId,
    record: LockRecord,
    /// The requester waiting for the pending command; lost on restart, when the requester's
    /// own wait has gone too.
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
            LockMsg::Issue {
                action,
                customer,
                reservation,
                reply,
            } => {
                let _ = reply.send(self.issue(action, customer, reservation, context).await);
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
    /// Persists the lock state and the command durably: a command is never sent, nor its
    /// outcome reported, before it is on disk.
    async fn persist(
        &self,
        command: &CommandRecord,
        context: &LockContext,
    ) -> Result<(), LocksError> {
        context
            .store
            .transaction::<(), ()>(&[&context.states, &context.log], |tx| {
                tx.table(&context.states)?
                    .insert(&self.vehicle, &self.record)?;
                tx.table(&context.log)?
                    .insert(&(self.vehicle, command.id), command)?;
                Ok(())
            })
            .map_err(|error| match error {
                storage::TxError::Storage(error) => LocksError::Storage(error),
                storage::TxError::Aborted(()) => LocksError::UnknownCommand(command.id),
            })?;
        context.store.commit().await?;
        Ok(())
    }

    /// Closes the pending command as `settled` and tells its requester.
    async fn close(
        &mut self,
        settled: CommandRecord,
        context: &LockContext,
    ) -> Result<(), LocksError> {
        self.record.doors = doors_after(self.record.doors, &settled);
        self.record.pending = None;
        self.persist(&settled, context).await?;
        if let Some(waiter) = self.waiter.take() {
            let _ = waiter.send(settled);
        }
        Ok(())
    }

    async fn expire_overdue(&mut self, context: &LockContext) -> Result<(), LocksError> {
        let now = context.clock.now();
        if let Some(pending) = self.record.pending.clone()
            && now >= pending.expires_at
        {
            let expired = CommandRecord {
                status: CommandStatus::Expired,
                ..pending
            };
            self.close(expired, context).await?;
        }
        Ok(())
    }

    async fn issue(
        &mut self,
        action: LockAction,
        customer: CustomerId,
        reservation: ReservationId,
        context: &LockContext,
    ) -> Result<Issued, LocksError> {
        self.expire_overdue(context).await?;
        if self.record.pending.is_some() {
            return Err(LocksError::CommandInProgress);
        }
        let now = context.clock.now();
        let command = CommandRecord {
            id: CommandId::new(),
            vehicle_id: self.vehicle,
            action,
            status: CommandStatus::Pending,
            customer_id: customer,
            reservation_id: reservation,
            issued_at: now,
            expires_at: now + context.command_timeout,
            answered_at: None,
            reason: None,
        };
        self.record.pending = Some(command.clone());
        self.persist(&command, context).await?;
        let (waiter, outcome) = oneshot::channel();
        self.waiter = Some(waiter);
        if !context
            .link
            .deliver(self.vehicle, UnitCommand::from(&command))
        {
            tracing::info!(vehicle = %self.vehicle, command = %command.id, "unit offline; command waits for it to connect");
        }
        Ok(Issued { command, outcome })
    }

    async fn acknowledge(
        &mut self,
        id: CommandId,
        result: UnitResult,
        context: &LockContext,
    ) -> Result<AckOutcome, LocksError> {
        if let Some(pending) = self.record.pending.clone()
            && pending.id == id
        {
            let settled = settle(&pending, &result, context.clock.now());
            let outcome = if settled.status == CommandStatus::Expired {
                AckOutcome::Late
            } else {
                AckOutcome::Accepted
            };
            self.close(settled, context).await?;
            return Ok(outcome);
        }
        // Not pending: a repeated acknowledgement, or one for a command that already expired.
        match context.log.get(&(self.vehicle, id))? {
            Some(logged) if logged.status == CommandStatus::Expired => Ok(AckOutcome::Late),
            Some(_) => Ok(AckOutcome::Duplicate),
            None => Err(LocksError::UnknownCommand(id)),
        }
    }

    async fn expire(
        &mut self,
        id: CommandId,
        context: &LockContext,
    ) -> Result<CommandRecord, LocksError> {
        self.expire_overdue(context).await?;
        match &self.record.pending {
            // Still within its time (the requester's clock ran ahead): report it pending.
            Some(pending) if pending.id == id => Ok(pending.clone()),
            _ => context
                .log
                .get(&(self.vehicle, id))?
                .ok_or(LocksError::UnknownCommand(id)),
        }
    }
}
