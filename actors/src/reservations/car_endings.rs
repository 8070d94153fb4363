//! How a car's reservations end: cancelled before the start, released by the renter, a
//! no-show, or ended by the system after `rental.auto_end_after_min`; and the settlement that
//! follows every end.
//!
//! An end is always recorded, whatever billing answers: a card that refuses the amount beyond
//! the hold turns it into the customer's outstanding balance, and a billing that does not
//! answer leaves the settlement pending, retried by a `Settle` deadline. So no reservation
//! stays `active` because of money.

use chrono::{DateTime, Utc};

use crate::billing::BillingError;
use crate::commands::{CommandError, CommandOrigin, CommandStatus, LockAction};
use crate::domain::Cents;
use crate::ids::ReservationId;
use crate::incident::{Incident, IncidentKind};

use super::Requester;
use super::car::{
    CarContext, CarRentals, DeadlineOutcome, auto_end_deadline, no_show_deadline, settle_retry_at,
};
use super::domain_events;
use super::error::ReservationsError;
use super::faults::FaultPoint;
use super::model::{DeadlineKind, EndedBy, ReservationRecord, ReservationStatus};
use super::pricing::{completion_total, no_show_total};
use super::rules::check_cancel;
use super::tables::Change;

impl CarRentals {
    pub(super) async fn cancel(
        &mut self,
        requester: Requester,
        id: ReservationId,
        context: &CarContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        self.reconcile(context).await?;
        let record = self.any_record(id, context)?;
        if !requester.may_access(&record) {
            return Err(ReservationsError::NotFound);
        }
        if record.status == ReservationStatus::Cancelled {
            return Ok(record);
        }
        check_cancel(&record, context.clock.now())?;
        let by = domain_events::cancelled_by(Some(requester));
        self.void_and_cancel(record, by, context).await
    }

    /// Voids the hold and cancels: at the renter's request before the start, or by the
    /// system when the car was never back for the renter (no fee for a car that was not
    /// there). `by` names who cancelled in the event.
    async fn void_and_cancel(
        &mut self,
        record: ReservationRecord,
        by: &str,
        context: &CarContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        match context.billing.void(record.id).await {
            Ok(_) | Err(BillingError::NoHold) | Err(BillingError::NotFound) => {}
            Err(error) => return Err(ReservationsError::upstream("billing", error)),
        }
        let mut next = record;
        next.status = ReservationStatus::Cancelled;
        next.updated_at = context.clock.now();
        let removed = [no_show_deadline(&next)];
        let events = [domain_events::cancelled(&next, by, next.updated_at)];
        self.save(
            &Change {
                record: Some(&next),
                remove_deadlines: &removed,
                events: &events,
                ..Change::default()
            },
            context,
        )
        .await?;
        self.adopt(next.clone());
        Ok(next)
    }

    /// A deadline fired at `at`. Its row is removed once it is handled; losing that removal
    /// to a crash only fires it again, and a handled deadline no longer applies.
    pub(super) async fn deadline(
        &mut self,
        id: ReservationId,
        at: DateTime<Utc>,
        kind: DeadlineKind,
        context: &CarContext,
    ) -> Result<DeadlineOutcome, ReservationsError> {
        self.reconcile(context).await?;
        // An extension moves the deadlines keyed on the end: the row of the old one is gone,
        // though the scheduler still had it in memory.
        if !context.tables.deadlines.contains(&(at, id, kind.code()))? {
            return Ok(None);
        }
        let record = self.any_record(id, context)?;
        let now = context.clock.now();
        let applies = match kind {
            DeadlineKind::NoShow => record.status == ReservationStatus::Confirmed,
            DeadlineKind::AutoEnd => record.status == ReservationStatus::Active,
            DeadlineKind::Settle => record.settlement_pending,
        };
        if applies && now < at {
            // Woken early (the clock was set back): fire again at its time.
            return Ok(Some(at));
        }
        if applies {
            match kind {
                DeadlineKind::NoShow if self.kept_from(&record) => {
                    let by = domain_events::cancelled_by(None);
                    self.void_and_cancel(record, by, context).await?;
                }
                DeadlineKind::NoShow => {
                    self.close(record, ReservationStatus::NoShow, None, None, context)
                        .await?;
                }
                DeadlineKind::AutoEnd => self.auto_end(record, context).await?,
                DeadlineKind::Settle => self.follow_up(record, context).await?,
            }
        }
        context.tables.deadlines.remove(&(at, id, kind.code()))?;
        Ok(None)
    }

    /// Whether the previous renter kept the car from `record`'s renter: it came back after
    /// the start, or is still out.
    fn kept_from(&self, record: &ReservationRecord) -> bool {
        record.delayed_until.is_some()
            || self
                .open
                .iter()
                .any(|other| other.id != record.id && other.status == ReservationStatus::Active)
    }

    /// The rental was not released in time: lock the car if it can be (parked, unit
    /// answering), and end the rental whatever the car says, with an incident when it could
    /// not be locked.
    async fn auto_end(
        &mut self,
        record: ReservationRecord,
        context: &CarContext,
    ) -> Result<(), ReservationsError> {
        let locked = self
            .run_command(
                &record,
                LockAction::Lock,
                CommandOrigin::System,
                true,
                context,
            )
            .await;
        let problem = match locked {
            Ok(command) if command.status == CommandStatus::Done => None,
            Ok(command) => Some((
                IncidentKind::AutoEndNotLocked,
                format!("the unit did not lock the car ({:?})", command.status),
            )),
            Err(ReservationsError::Command(CommandError::Moving)) => Some((
                IncidentKind::AutoEndMoving,
                "the car was moving; it was not locked".to_owned(),
            )),
            Err(error) => Some((
                IncidentKind::AutoEndNotLocked,
                format!("the car could not be locked: {error}"),
            )),
        };
        let now = context.clock.now();
        let incident = problem.map(|(kind, detail)| {
            Incident::new(
                kind,
                now,
                self.vehicle,
                Some(record.id),
                format!("rental ended by the system: {detail}"),
            )
        });
        if let Some(incident) = &incident {
            tracing::warn!(reservation = %record.id, detail = %incident.detail, "automatic end without a lock");
        }
        self.end(record, now, EndedBy::System, incident, context)
            .await
            .map(|_| ())
    }

    /// Completes a rental released at `released_at`.
    pub(super) async fn end(
        &mut self,
        record: ReservationRecord,
        released_at: DateTime<Utc>,
        ended_by: EndedBy,
        incident: Option<Incident>,
        context: &CarContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        self.close(
            record,
            ReservationStatus::Completed,
            Some((released_at, ended_by)),
            incident,
            context,
        )
        .await
    }

    /// Closes a reservation that held the car (completed or no-show) and settles what it
    /// costs. The record is written whatever billing answers.
    async fn close(
        &mut self,
        record: ReservationRecord,
        status: ReservationStatus,
        release: Option<(DateTime<Utc>, EndedBy)>,
        incident: Option<Incident>,
        context: &CarContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        let now = context.clock.now();
        let total = match release {
            Some((released_at, _)) => completion_total(&record, released_at, &context.rules),
            None => no_show_total(&record, &context.rules),
        };
        let mut next = record;
        next.status = status;
        next.updated_at = now;
        next.released_at = release.map(|(at, _)| at);
        next.ended_by = release.map(|(_, by)| by);
        next.overtime_cents = (total - next.hold_cents).max(Cents::ZERO);
        next.total_cents = Some(total);
        let refused = self.settle(&mut next, total, context).await;
        context.faults.hit(FaultPoint::ReleaseSettled).await;
        let incident = incident.or(refused);
        let removed = [
            no_show_deadline(&next),
            auto_end_deadline(&next, &context.rules),
        ];
        let events: Vec<_> = domain_events::closed(&next, total, now)
            .into_iter()
            .collect();
        self.save_settlement(&next, &removed, incident.as_ref(), &events, context)
            .await?;
        if let Some(released) = next.released_at.filter(|released| *released > next.end_at) {
            self.mark_delayed(released, context).await?;
        }
        Ok(next)
    }

    /// The car came back late at `released`: the reservations that should have had it by
    /// then learn so (a renter it was kept from owes no no-show fee).
    async fn mark_delayed(
        &mut self,
        released: DateTime<Utc>,
        context: &CarContext,
    ) -> Result<(), ReservationsError> {
        let kept: Vec<_> = self
            .open
            .iter()
            .filter(|other| {
                other.status == ReservationStatus::Confirmed
                    && other.start_at < released
                    && other.delayed_until.is_none()
            })
            .cloned()
            .collect();
        for mut other in kept {
            other.delayed_until = Some(released);
            self.save(
                &Change {
                    record: Some(&other),
                    ..Change::default()
                },
                context,
            )
            .await?;
            self.adopt(other);
        }
        Ok(())
    }

    /// Asks billing to settle `total` and the customers service to carry what the card
    /// refused; sets the record's amounts and whether anything is left to retry. Answers an
    /// incident when the card refused part of it.
    async fn settle(
        &self,
        record: &mut ReservationRecord,
        total: Cents,
        context: &CarContext,
    ) -> Option<Incident> {
        let mut incident = None;
        match context.billing.settle(record.id, total.get()).await {
            Ok(summary) => {
                record.total_cents =
                    Some(Cents::new(summary.captured_cents + summary.charged_cents));
                record.outstanding_cents = Cents::ZERO;
                record.settlement_pending = false;
            }
            Err(BillingError::SettlementIncomplete {
                outstanding_cents,
                reason,
            }) => {
                let outstanding_cents = Cents::new(outstanding_cents);
                if record.outstanding_cents != outstanding_cents {
                    incident = Some(Incident::new(
                        IncidentKind::ChargeRefused,
                        context.clock.now(),
                        self.vehicle,
                        Some(record.id),
                        format!("{outstanding_cents} refused by the card ({reason})"),
                    ));
                }
                record.total_cents = Some(total - outstanding_cents);
                record.outstanding_cents = outstanding_cents;
                record.settlement_pending = false;
            }
            Err(error) => {
                tracing::warn!(reservation = %record.id, %error, "settlement not confirmed; retrying later");
                record.settlement_pending = true;
                return None;
            }
        }
        if record.outstanding_cents.is_positive()
            && let Err(error) = context
                .customers
                .record_outstanding(
                    record.customer_id,
                    record.id,
                    record.outstanding_cents.get(),
                )
                .await
        {
            tracing::warn!(reservation = %record.id, %error, "outstanding balance not recorded; retrying later");
            record.settlement_pending = true;
        }
        incident
    }

    /// A `Settle` deadline: try the unfinished settlement again.
    async fn follow_up(
        &mut self,
        record: ReservationRecord,
        context: &CarContext,
    ) -> Result<(), ReservationsError> {
        let mut next = record;
        let total = next.total_cents.unwrap_or_default() + next.outstanding_cents;
        let incident = self.settle(&mut next, total, context).await;
        next.updated_at = context.clock.now();
        // No second `rental.ended`: the rental ended once, and what the retry settles is told
        // by billing's `charge.*` events and customers' `balance.outstanding`.
        self.save_settlement(&next, &[], incident.as_ref(), &[], context)
            .await
    }

    /// Writes a closed reservation with what its settlement came to, a `Settle` deadline
    /// when something is left to retry, and the events of the close.
    async fn save_settlement(
        &mut self,
        next: &ReservationRecord,
        removed: &[(DateTime<Utc>, DeadlineKind)],
        incident: Option<&Incident>,
        events: &[crate::events::DomainEvent],
        context: &CarContext,
    ) -> Result<(), ReservationsError> {
        let retry = settle_retry_at(next);
        let added: Vec<_> = next
            .settlement_pending
            .then_some((retry, DeadlineKind::Settle))
            .into_iter()
            .collect();
        self.save(
            &Change {
                record: Some(next),
                add_deadlines: &added,
                remove_deadlines: removed,
                incident,
                events,
                ..Change::default()
            },
            context,
        )
        .await?;
        self.arm(next.id, &added, context);
        self.adopt(next.clone());
        Ok(())
    }
}
