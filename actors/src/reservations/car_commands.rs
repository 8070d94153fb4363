//! Commands to the car, ordered by its rentals actor: the renter's unlock and lock, the lock of
//! a release or an automatic end, and the reconciliation of a command a restart interrupted.

use crate::commands::{
    CommandError, CommandOrder, CommandOrigin, CommandRecord, CommandStatus, LockAction,
};
use crate::events::DomainEvent;
use crate::ids::{CommandId, CustomerId};

use super::access::check_access;
use super::car::{CarContext, CarRentals, auto_end_deadline, no_show_deadline};
use super::domain_events;
use super::error::ReservationsError;
use super::faults::FaultPoint;
use super::model::{InFlight, ReservationRecord, ReservationStatus};
use super::tables::Change;

impl CarRentals {
    /// The renter unlocks or locks the car.
    pub(super) async fn command(
        &mut self,
        customer: CustomerId,
        action: LockAction,
        context: &CarContext,
    ) -> Result<CommandRecord, ReservationsError> {
        self.reconcile(context).await?;
        let now = context.clock.now();
        let reservation =
            check_access(&self.open, customer, now, context.rules.unlock_grace)?.clone();
        let settled = self
            .run_command(
                &reservation,
                action,
                CommandOrigin::Renter,
                action == LockAction::Lock,
                context,
            )
            .await?;
        match CommandError::from_settled(&settled) {
            None => Ok(settled),
            Some(error) => Err(error.into()),
        }
    }

    /// Orders `action` under `reservation` with a new fencing number, written down as in
    /// flight before it leaves, and applies its outcome. A command that may have reached the
    /// unit without an answer here (locks did not answer) stays in flight, to be reconciled
    /// by the car's next message.
    pub(super) async fn run_command(
        &mut self,
        reservation: &ReservationRecord,
        action: LockAction,
        origin: CommandOrigin,
        refuse_if_moving: bool,
        context: &CarContext,
    ) -> Result<CommandRecord, ReservationsError> {
        let fence = self.fence + 1;
        let in_flight = InFlight {
            command_id: CommandId::new(),
            reservation_id: reservation.id,
            action,
            fence,
        };
        self.save(
            &Change {
                access: Some((self.vehicle, fence, Some(&in_flight))),
                ..Change::default()
            },
            context,
        )
        .await?;
        self.fence = fence;
        self.in_flight = Some(in_flight.clone());
        context.faults.hit(FaultPoint::CommandMarked).await;
        let order = CommandOrder {
            id: in_flight.command_id,
            vehicle_id: self.vehicle,
            action,
            customer_id: reservation.customer_id,
            reservation_id: reservation.id,
            fence,
            origin,
            refuse_if_moving,
        };
        let under_way = context.busy.enter(self.vehicle);
        let executed = context.commands.execute(order).await;
        drop(under_way);
        match executed {
            Ok(settled) => {
                context.faults.hit(FaultPoint::CommandAnswered).await;
                self.apply_outcome(&in_flight, Some(&settled), context)
                    .await?;
                Ok(settled)
            }
            Err(
                error @ (CommandError::Moving
                | CommandError::CommandInProgress
                | CommandError::StaleFence { .. }
                | CommandError::Location(_)),
            ) => {
                // Refused before it was logged: nothing reached the unit.
                self.apply_outcome(&in_flight, None, context).await?;
                Err(error.into())
            }
            Err(error) => {
                if action == LockAction::Unlock {
                    self.report_unavailable(reservation, &in_flight, context);
                }
                Err(error.into())
            }
        }
    }

    /// The renter's unlock could not be carried to the unit: the command stays in flight (to
    /// be reconciled), and nothing is written now, so its `unlock.failed` goes to the outbox
    /// on its own. Its reconciliation in this actor's life writes no second one.
    fn report_unavailable(
        &mut self,
        reservation: &ReservationRecord,
        in_flight: &InFlight,
        context: &CarContext,
    ) {
        let event = domain_events::unlock_failed(
            reservation.id,
            reservation.customer_id,
            self.vehicle,
            "unavailable",
            context.clock.now(),
        );
        match context.tables.store.outbox().append_alone(&event) {
            Ok(_) => self.unlock_reported = Some(in_flight.command_id),
            Err(error) => {
                tracing::warn!(reservation = %reservation.id, %error, "unlock.failed not written");
            }
        }
    }

    /// Records what became of the command in flight and clears the mark: the first unlock
    /// done makes a confirmed reservation active (its no-show deadline becomes the automatic
    /// end).
    async fn apply_outcome(
        &mut self,
        in_flight: &InFlight,
        settled: Option<&CommandRecord>,
        context: &CarContext,
    ) -> Result<(), ReservationsError> {
        let unlocked = settled.filter(|command| {
            command.status == CommandStatus::Done && command.action == LockAction::Unlock
        });
        let started = match (unlocked, self.open_record(in_flight.reservation_id)) {
            (Some(command), Some(record)) if record.status == ReservationStatus::Confirmed => {
                let mut next = record.clone();
                next.status = ReservationStatus::Active;
                next.unlocked_at = Some(command.answered_at.unwrap_or(command.issued_at));
                next.updated_at = context.clock.now();
                Some(next)
            }
            _ => None,
        };
        let clear = Some((self.vehicle, self.fence, None));
        match started {
            Some(next) => {
                let added = [auto_end_deadline(&next, &context.rules)];
                let removed = [no_show_deadline(&next)];
                let events = [domain_events::started(&next, next.updated_at)];
                self.save(
                    &Change {
                        record: Some(&next),
                        add_deadlines: &added,
                        remove_deadlines: &removed,
                        access: clear,
                        events: &events,
                        ..Change::default()
                    },
                    context,
                )
                .await?;
                self.arm(next.id, &added, context);
                self.adopt(next);
            }
            None => {
                // Losing this write to a crash only means reconciling the same outcome again,
                // and writing its event then.
                let events: Vec<_> = self
                    .unlock_failed(in_flight, settled, context)?
                    .into_iter()
                    .collect();
                context
                    .tables
                    .write(&Change {
                        access: clear,
                        events: &events,
                        ..Change::default()
                    })
                    .map_err(super::tables::tx_storage)?;
                if !events.is_empty() {
                    // Durable, and the relay woken, before the renter hears of the failure:
                    // it is what the renter is told about, and a failure path can afford it.
                    context.tables.store.commit().await?;
                }
            }
        }
        self.in_flight = None;
        self.unlock_reported = None;
        Ok(())
    }

    /// The `unlock.failed` of an unlock the unit refused or let expire, unless this actor
    /// already reported it unavailable.
    fn unlock_failed(
        &self,
        in_flight: &InFlight,
        settled: Option<&CommandRecord>,
        context: &CarContext,
    ) -> Result<Option<DomainEvent>, ReservationsError> {
        let Some(reason) = settled
            .filter(|_| in_flight.action == LockAction::Unlock)
            .and_then(|command| domain_events::unlock_failure(command.status))
        else {
            return Ok(None);
        };
        if self.unlock_reported == Some(in_flight.command_id) {
            return Ok(None);
        }
        let record = self.any_record(in_flight.reservation_id, context)?;
        Ok(Some(domain_events::unlock_failed(
            record.id,
            record.customer_id,
            self.vehicle,
            reason,
            context.clock.now(),
        )))
    }

    /// Resolves a command left in flight (by a restart, or by locks not answering): asks
    /// locks for its outcome, waiting while the unit may still answer, and applies it.
    pub(super) async fn reconcile(
        &mut self,
        context: &CarContext,
    ) -> Result<(), ReservationsError> {
        let Some(in_flight) = self.in_flight.clone() else {
            return Ok(());
        };
        let outcome = context
            .commands
            .outcome(self.vehicle, in_flight.command_id)
            .await?;
        if let Some(settled) = &outcome {
            tracing::info!(vehicle = %self.vehicle, command = %settled.id, status = ?settled.status, "command in flight reconciled");
        }
        self.apply_outcome(&in_flight, outcome.as_ref(), context)
            .await
    }
}
