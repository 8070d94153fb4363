//! One reservation's actor: the payment step of the booking saga and every later transition.
//!
//! Each transition persists the record (and frees the calendars when the reservation closes)
//! durably before it answers, and calls billing with the reservation id as idempotency key, so
//! a transition interrupted by a crash can simply run again.

use chrono::{DateTime, TimeDelta, Utc};
use ractor::RpcReplyPort;

use crate::billing::{BillingError, BillingHandle, HoldRequest};
use crate::clock::SharedClock;
use crate::customers::CustomersHandle;
use crate::entity::{Activation, ActorProcessingErr, Entity};
use crate::ids::ReservationId;

use super::deadlines::DeadlineSender;
use super::error::ReservationsError;
use super::model::{DeadlineKind, Requester, ReservationRecord, ReservationStatus};
use super::pricing::{completion_total, no_show_total};
use super::rules::{RentalRules, check_cancel, check_finish};
use super::tables::{Tables, tx_storage};

/// How long after booking an unconfirmed payment is retried once more, then given up.
pub(crate) const PAYMENT_DEADLINE: TimeDelta = TimeDelta::minutes(2);

type Reply = RpcReplyPort<Result<ReservationRecord, ReservationsError>>;

/// Messages of a reservation.
pub(crate) enum ReservationMsg {
    /// Place the card hold (booking saga, step 2).
    ConfirmPayment { reply: Reply },
    /// Cancel before the start.
    Cancel { requester: Requester, reply: Reply },
    /// The renter unlocked the car.
    RecordUnlock { at: DateTime<Utc>, reply: Reply },
    /// The car is locked and released: settle and close.
    Complete {
        released_at: DateTime<Utc>,
        reply: Reply,
    },
    /// A persisted deadline is due.
    Deadline { kind: DeadlineKind, reply: Reply },
}

/// What a reservation needs.
#[derive(Clone)]
pub(crate) struct ReservationContext {
    pub(crate) tables: Tables,
    pub(crate) clock: SharedClock,
    pub(crate) rules: RentalRules,
    pub(crate) billing: BillingHandle,
    pub(crate) customers: CustomersHandle,
    pub(crate) deadlines: DeadlineSender,
}

/// A reservation while its actor is active.
pub(crate) struct ReservationEntity {
    record: ReservationRecord,
}

impl Entity for ReservationEntity {
    type Id = ReservationId;
    type Msg = ReservationMsg;
    type Context = ReservationContext;
    const KIND: &'static str = "reservation";

    async fn activate(
        id: ReservationId,
        _: Activation,
        context: &ReservationContext,
    ) -> Result<Option<Self>, ActorProcessingErr> {
        Ok(context
            .tables
            .reservations
            .get(&id)?
            .map(|record| ReservationEntity { record }))
    }

    async fn handle(
        &mut self,
        message: ReservationMsg,
        context: &ReservationContext,
    ) -> Result<(), ActorProcessingErr> {
        let (result, reply) = match message {
            ReservationMsg::ConfirmPayment { reply } => {
                (self.confirm_payment(context).await, reply)
            }
            ReservationMsg::Cancel { requester, reply } => {
                (self.cancel(requester, context).await, reply)
            }
            ReservationMsg::RecordUnlock { at, reply } => {
                (self.record_unlock(at, context).await, reply)
            }
            ReservationMsg::Complete { released_at, reply } => {
                (self.complete(released_at, context).await, reply)
            }
            ReservationMsg::Deadline { kind, reply } => (self.deadline(kind, context).await, reply),
        };
        let _ = reply.send(result);
        Ok(())
    }
}

pub(crate) fn payment_deadline(record: &ReservationRecord) -> (DateTime<Utc>, DeadlineKind) {
    (
        record.created_at + PAYMENT_DEADLINE,
        DeadlineKind::ResumePayment,
    )
}

fn no_show_deadline(record: &ReservationRecord) -> (DateTime<Utc>, DeadlineKind) {
    (record.end_at, DeadlineKind::NoShow)
}

impl ReservationEntity {
    /// Persists `next` durably, then adopts it.
    async fn save(
        &mut self,
        next: ReservationRecord,
        add: &[(DateTime<Utc>, DeadlineKind)],
        remove: &[(DateTime<Utc>, DeadlineKind)],
        context: &ReservationContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        context
            .tables
            .update(&next, add, remove)
            .map_err(tx_storage)?;
        context.tables.store.commit().await?;
        for (at, kind) in add {
            context.deadlines.arm(*at, next.id, *kind);
        }
        self.record = next;
        Ok(self.record.clone())
    }

    fn next(&self, status: ReservationStatus, now: DateTime<Utc>) -> ReservationRecord {
        ReservationRecord {
            status,
            updated_at: now,
            ..self.record.clone()
        }
    }

    async fn confirm_payment(
        &mut self,
        context: &ReservationContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        if self.record.status != ReservationStatus::PendingPayment {
            return Ok(self.record.clone());
        }
        let token = match context
            .customers
            .payment_token(self.record.customer_id)
            .await
        {
            Ok(token) => token,
            Err(error) if error.is_transient() => {
                return Err(ReservationsError::upstream("customers", error));
            }
            Err(error) => return self.reject(error.to_string(), context).await,
        };
        let request = HoldRequest {
            reservation_id: self.record.id,
            customer_id: self.record.customer_id,
            card_token: token,
            amount_cents: self.record.hold_cents,
        };
        match context.billing.hold(request).await {
            Ok(_) => {
                let now = context.clock.now();
                let next = self.next(ReservationStatus::Confirmed, now);
                let (add, remove) = ([no_show_deadline(&next)], [payment_deadline(&next)]);
                self.save(next, &add, &remove, context).await
            }
            Err(BillingError::Declined { reason }) => self.reject(reason, context).await,
            Err(BillingError::InsufficientFunds) => {
                self.reject("insufficient funds".into(), context).await
            }
            Err(error) => Err(ReservationsError::upstream("billing", error)),
        }
    }

    /// Ends the booking: the hold failed, so the interval is freed for others.
    async fn reject(
        &mut self,
        reason: String,
        context: &ReservationContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        let mut next = self.next(ReservationStatus::Rejected, context.clock.now());
        next.rejection = Some(reason);
        let remove = [payment_deadline(&next)];
        self.save(next, &[], &remove, context).await
    }

    async fn cancel(
        &mut self,
        requester: Requester,
        context: &ReservationContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        if !requester.may_access(&self.record) {
            return Err(ReservationsError::NotFound);
        }
        if self.record.status == ReservationStatus::Cancelled {
            return Ok(self.record.clone());
        }
        let now = context.clock.now();
        check_cancel(&self.record, now)?;
        match context.billing.void(self.record.id).await {
            // A reservation still pending payment may have no hold yet: nothing to void.
            Ok(_) | Err(BillingError::NoHold) | Err(BillingError::NotFound) => {}
            Err(error) => return Err(ReservationsError::upstream("billing", error)),
        }
        let next = self.next(ReservationStatus::Cancelled, now);
        let remove = [payment_deadline(&next), no_show_deadline(&next)];
        self.save(next, &[], &remove, context).await
    }

    async fn record_unlock(
        &mut self,
        at: DateTime<Utc>,
        context: &ReservationContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        match self.record.status {
            ReservationStatus::Active => Ok(self.record.clone()),
            ReservationStatus::Confirmed => {
                let mut next = self.next(ReservationStatus::Active, context.clock.now());
                next.unlocked_at = Some(at);
                let remove = [no_show_deadline(&next)];
                self.save(next, &[], &remove, context).await
            }
            status => Err(ReservationsError::InvalidState {
                action: "unlock the car of",
                status,
            }),
        }
    }

    async fn complete(
        &mut self,
        released_at: DateTime<Utc>,
        context: &ReservationContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        if self.record.status == ReservationStatus::Completed {
            return Ok(self.record.clone());
        }
        check_finish(&self.record)?;
        let total = completion_total(&self.record, released_at, &context.rules);
        let settled = context
            .billing
            .settle(self.record.id, total)
            .await
            .map_err(|error| ReservationsError::upstream("billing", error))?;
        let mut next = self.next(ReservationStatus::Completed, context.clock.now());
        next.released_at = Some(released_at);
        next.total_cents = Some(settled.captured_cents + settled.charged_cents);
        let remove = [no_show_deadline(&next)];
        self.save(next, &[], &remove, context).await
    }

    async fn deadline(
        &mut self,
        kind: DeadlineKind,
        context: &ReservationContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        let now = context.clock.now();
        match kind {
            DeadlineKind::ResumePayment
                if self.record.status == ReservationStatus::PendingPayment =>
            {
                match self.confirm_payment(context).await {
                    Ok(record) => Ok(record),
                    Err(error) => {
                        // Still no answer from billing: give the interval back, and make sure
                        // no hold outlives the reservation.
                        tracing::warn!(reservation = %self.record.id, %error, "payment not confirmed in time; rejecting");
                        if let Err(error) = context.billing.void(self.record.id).await
                            && !matches!(error, BillingError::NoHold | BillingError::NotFound)
                        {
                            return Err(ReservationsError::upstream("billing", error));
                        }
                        self.reject("the payment could not be confirmed".into(), context)
                            .await
                    }
                }
            }
            DeadlineKind::NoShow
                if self.record.status == ReservationStatus::Confirmed
                    && now >= self.record.end_at =>
            {
                let fee = no_show_total(&self.record, &context.rules);
                let settled = context
                    .billing
                    .settle(self.record.id, fee)
                    .await
                    .map_err(|error| ReservationsError::upstream("billing", error))?;
                let mut next = self.next(ReservationStatus::NoShow, now);
                next.total_cents = Some(settled.captured_cents + settled.charged_cents);
                let remove = [no_show_deadline(&next)];
                self.save(next, &[], &remove, context).await
            }
            DeadlineKind::NoShow if self.record.status == ReservationStatus::Confirmed => {
                // Woken early (clock skew): the scheduler keeps the deadline and fires it again.
                Ok(self.record.clone())
            }
            _ => {
                // The reservation moved on; the deadline has nothing left to do.
                let at = match kind {
                    DeadlineKind::ResumePayment => payment_deadline(&self.record).0,
                    DeadlineKind::NoShow => no_show_deadline(&self.record).0,
                };
                context
                    .tables
                    .deadlines
                    .remove(&(at, self.record.id, kind.code()))?;
                context.tables.store.commit().await?;
                Ok(self.record.clone())
            }
        }
    }
}
