//! The charge entity: one actor per reservation's charge, so the operations on one charge are
//! serialised while different charges proceed in parallel.
//!
//! Crash safety without a two-phase protocol: a request first records its intent durably, then
//! each provider step is called with the key `"{reservation_id}:{operation}"` and its entry is
//! appended durably before the next step and before the reply. If the process dies between a
//! provider call and the append, the intent is still stored: the next operation on the charge
//! (typically the caller's retry) derives the same step with the same key, the processor
//! returns its remembered result without acting twice, and the entry is appended then.

use std::time::Duration;

use ractor::RpcReplyPort;
use std::sync::Arc;

use super::error::BillingError;
use super::events::ProviderNotice;
use super::holds;
use super::model::{
    AddedHold, ChargeRecord, ChargeStatus, ChargeSummary, HoldRequest, RefundOrder,
};
use super::provider::{PaymentError, PaymentProvider, ProviderRef};
use super::settlement::{self, Step};
use super::tables::Tables;
use crate::clock::SharedClock;
use crate::entity::{Activation, ActorProcessingErr, Entity};
use crate::ids::{CustomerId, ReservationId};

/// Where a charge answers.
pub(crate) type Reply = RpcReplyPort<Result<ChargeSummary, BillingError>>;

/// The messages of a charge.
pub(crate) enum ChargeMsg {
    Hold {
        request: HoldRequest,
        reply: Reply,
    },
    /// Hold more for the same reservation (it was extended), on the customer's card now.
    HoldMore {
        card_token: String,
        amount_cents: i64,
        reply: RpcReplyPort<Result<AddedHold, BillingError>>,
    },
    Settle {
        total_cents: i64,
        reply: Reply,
    },
    Void {
        reply: Reply,
    },
    Refund {
        order: RefundOrder,
        reply: Reply,
    },
    Collect {
        card_token: String,
        reply: Reply,
    },
    /// Apply what the provider reports (a webhook's event); answers whether the charge
    /// changed.
    ProviderEvent {
        notice: ProviderNotice,
        reply: RpcReplyPort<Result<bool, BillingError>>,
    },
    /// Replace the customer by a pseudonym and drop the card token (an erasure); answers
    /// whether the charge changed.
    Forget {
        customer: CustomerId,
        pseudonym: CustomerId,
        reply: RpcReplyPort<Result<bool, BillingError>>,
    },
}

/// What a charge needs from its service.
#[derive(Clone)]
pub(crate) struct BillingContext {
    pub(crate) tables: Tables,
    pub(crate) provider: Arc<dyn PaymentProvider>,
    pub(crate) clock: SharedClock,
    pub(crate) provider_timeout: Duration,
}

/// One reservation's charge; `record` is `None` only between activation for a hold and the
/// hold itself.
pub(crate) struct Charge {
    id: ReservationId,
    record: Option<ChargeRecord>,
}

impl Entity for Charge {
    type Id = ReservationId;
    type Msg = ChargeMsg;
    type Context = BillingContext;
    const KIND: &'static str = "charge";

    async fn activate(
        id: ReservationId,
        activation: Activation,
        context: &BillingContext,
    ) -> Result<Option<Self>, ActorProcessingErr> {
        let record = context.tables.load(id)?;
        Ok(match (record, activation) {
            (None, Activation::Existing) => None,
            (record, _) => Some(Charge { id, record }),
        })
    }

    async fn handle(
        &mut self,
        message: ChargeMsg,
        context: &BillingContext,
    ) -> Result<(), ActorProcessingErr> {
        let (result, reply) = match message {
            ChargeMsg::Hold { request, reply } => (self.hold(request, context).await, reply),
            ChargeMsg::Settle { total_cents, reply } => {
                (self.settle(total_cents, context).await, reply)
            }
            ChargeMsg::Void { reply } => (self.void(context).await, reply),
            ChargeMsg::Refund { order, reply } => (self.refund(order, context).await, reply),
            ChargeMsg::Collect { card_token, reply } => {
                (self.collect(card_token, context).await, reply)
            }
            ChargeMsg::HoldMore {
                card_token,
                amount_cents,
                reply,
            } => {
                let result = self.hold_more(card_token, amount_cents, context).await;
                let store_failed = matches!(result, Err(BillingError::Storage(_)));
                let _ = reply.send(result);
                if store_failed {
                    return Err(format!("billing store failed for charge {}", self.id).into());
                }
                return Ok(());
            }
            ChargeMsg::ProviderEvent { notice, reply } => {
                let result = self.provider_event(&notice, context).await;
                let store_failed = matches!(result, Err(BillingError::Storage(_)));
                let _ = reply.send(result);
                if store_failed {
                    return Err(format!("billing store failed for charge {}", self.id).into());
                }
                return Ok(());
            }
            ChargeMsg::Forget {
                customer,
                pseudonym,
                reply,
            } => {
                let result = self.forget(customer, pseudonym, context).await;
                let store_failed = matches!(result, Err(BillingError::Storage(_)));
                let _ = reply.send(result);
                if store_failed {
                    return Err(format!("billing store failed for charge {}", self.id).into());
                }
                return Ok(());
            }
        };
        // After a store failure the memory may be ahead of the disk: restart from the store.
        let store_failed = matches!(result, Err(BillingError::Storage(_)));
        let _ = reply.send(result);
        if store_failed {
            return Err(format!("billing store failed for charge {}", self.id).into());
        }
        Ok(())
    }
}

impl Charge {
    /// A charge not stored yet, for its first hold outside an actor.
    pub(crate) fn new(id: ReservationId) -> Self {
        Charge { id, record: None }
    }

    fn record(&self) -> Result<&ChargeRecord, BillingError> {
        self.record.as_ref().ok_or(BillingError::NotFound)
    }

    pub(crate) async fn hold(
        &mut self,
        request: HoldRequest,
        context: &BillingContext,
    ) -> Result<ChargeSummary, BillingError> {
        if self.record.is_none() {
            // The hold request is the intent: stored before a real processor is called. With
            // the sandbox the ledger commit after the call covers both (`shares_store`).
            let record = settlement::new_charge(&request, context.clock.now())?;
            if !context.provider.shares_store() {
                context
                    .tables
                    .persist(&record, 0, context.clock.now())
                    .await?;
            }
            self.record = Some(record);
        }
        self.resume(context).await?;
        settlement::hold_answer(self.record()?)
    }

    /// Places one more hold (see `holds.rs`): its intent is stored first, then authorized
    /// with its own key. A refusal is recorded and answered; the holds already placed stand.
    async fn hold_more(
        &mut self,
        card_token: String,
        amount_cents: i64,
        context: &BillingContext,
    ) -> Result<AddedHold, BillingError> {
        self.resume(context).await?;
        let mut next = self.record()?.clone();
        let number = holds::request_hold_more(&mut next, card_token, amount_cents)?;
        context
            .tables
            .persist(&next, next.entries.len(), context.clock.now())
            .await?;
        self.record = Some(next);
        self.resume(context).await?;
        holds::hold_more_answer(self.record()?, number)
    }

    async fn settle(
        &mut self,
        total_cents: i64,
        context: &BillingContext,
    ) -> Result<ChargeSummary, BillingError> {
        self.resume(context).await?;
        self.request(context, |record| {
            settlement::request_settle(record, total_cents)
        })
        .await?;
        self.resume(context).await?;
        settlement::settle_answer(self.record()?)
    }

    async fn void(&mut self, context: &BillingContext) -> Result<ChargeSummary, BillingError> {
        self.resume(context).await?;
        self.request(context, settlement::request_void).await?;
        self.resume(context).await?;
        Ok(settlement::summary(self.record()?))
    }

    async fn refund(
        &mut self,
        order: RefundOrder,
        context: &BillingContext,
    ) -> Result<ChargeSummary, BillingError> {
        let record = self.record()?;
        // With an idempotency key, the request made with it earlier is this one's first
        // attempt: completing it (if a crash or an outage left it unfinished) answers the
        // retry. Without one, a refund left unfinished of the same amount is taken for it.
        let retried = match settlement::earlier_refund(record, &order)? {
            Some(_) => true,
            None => {
                order.idempotency_key.is_none()
                    && settlement::pending_refunds(record) > 0
                    && record
                        .header
                        .refund_requests
                        .last()
                        .is_some_and(|last| last.amount_cents == order.amount_cents)
            }
        };
        self.resume(context).await?;
        if !retried {
            let at = context.clock.now();
            self.request(context, |record| {
                settlement::request_refund(record, &order, at).map(|()| true)
            })
            .await?;
            self.resume(context).await?;
        }
        Ok(settlement::summary(self.record()?))
    }

    /// Tries again to charge what the card refused beyond the hold, on `card_token` (the
    /// customer's card now, perhaps a new one).
    async fn collect(
        &mut self,
        card_token: String,
        context: &BillingContext,
    ) -> Result<ChargeSummary, BillingError> {
        self.resume(context).await?;
        self.request(context, |record| {
            Ok(settlement::request_collect(record, card_token))
        })
        .await?;
        self.resume(context).await?;
        settlement::settle_answer(self.record()?)
    }

    /// Pseudonymises the charge if it is `customer`'s (see `erasure`), durably. An open
    /// charge is refused: its settlement still needs the card.
    async fn forget(
        &mut self,
        customer: CustomerId,
        pseudonym: CustomerId,
        context: &BillingContext,
    ) -> Result<bool, BillingError> {
        let record = self.record()?;
        let Some(header) = super::erasure::pseudonymised(&record.header, customer, pseudonym)
        else {
            return Ok(false);
        };
        if matches!(
            settlement::summary(record).status,
            ChargeStatus::Held | ChargeStatus::Pending
        ) {
            return Err(BillingError::Unsettled);
        }
        let next = ChargeRecord {
            header,
            entries: record.entries.clone(),
        };
        context
            .tables
            .persist(&next, next.entries.len(), context.clock.now())
            .await?;
        self.record = Some(next);
        Ok(true)
    }

    /// Applies a provider's event to the ledger, durably; whether it changed anything.
    async fn provider_event(
        &mut self,
        notice: &ProviderNotice,
        context: &BillingContext,
    ) -> Result<bool, BillingError> {
        let record = self.record()?;
        let mut next = record.clone();
        let changed = super::events::apply(&mut next, notice, context.clock.now())
            .map_err(|refused| BillingError::LedgerRefused(Box::new(refused)))?;
        if changed {
            context
                .tables
                .persist(&next, record.entries.len(), context.clock.now())
                .await?;
            self.record = Some(next);
        }
        Ok(changed)
    }

    /// Records an intent with `change` (which says whether it changed anything), durably.
    async fn request(
        &mut self,
        context: &BillingContext,
        change: impl FnOnce(&mut ChargeRecord) -> Result<bool, BillingError>,
    ) -> Result<(), BillingError> {
        let mut next = self.record()?.clone();
        if change(&mut next)? {
            context
                .tables
                .persist(&next, next.entries.len(), context.clock.now())
                .await?;
            self.record = Some(next);
        }
        Ok(())
    }

    /// Carries out every provider step the stored intents still call for.
    async fn resume(&mut self, context: &BillingContext) -> Result<(), BillingError> {
        let Some(record) = self.record.as_mut() else {
            return Err(BillingError::NotFound);
        };
        while let Some(step) = settlement::next_step(record) {
            let key = step.idempotency_key(record);
            let outcome = call_provider(context, &step, &key).await;
            let mut next = record.clone();
            let at = context.clock.now();
            let applied = match &outcome {
                Ok(reference) => {
                    settlement::apply_success(&mut next, &step, reference.as_deref(), at)
                }
                Err(error) => match settlement::apply_refusal(&mut next, &step, error, at) {
                    Ok(true) => Ok(()),
                    Ok(false) => {
                        tracing::warn!(%key, %error, "payment provider step failed");
                        return Err(BillingError::Provider(error.clone()));
                    }
                    Err(refused) => Err(refused),
                },
            };
            if let Err(refused) = applied {
                tracing::error!(%key, %refused, "the ledger refused the provider's result");
                return Err(BillingError::LedgerRefused(Box::new(refused)));
            }
            context
                .tables
                .persist(&next, record.entries.len(), at)
                .await?;
            *record = next;
        }
        Ok(())
    }
}

/// Calls the provider for `step`, within the configured timeout; returns the new reference of
/// an authorization or a sale.
async fn call_provider(
    context: &BillingContext,
    step: &Step,
    key: &str,
) -> Result<Option<String>, PaymentError> {
    let provider = &context.provider;
    let call = async {
        match step {
            Step::Authorize {
                token,
                amount_cents,
                ..
            } => provider
                .authorize_hold(token, *amount_cents, key)
                .await
                .map(|reference| Some(reference.0)),
            Step::Capture {
                hold_ref,
                amount_cents,
                ..
            } => provider
                .capture(&ProviderRef(hold_ref.clone()), *amount_cents, key)
                .await
                .map(|()| None),
            Step::Void { hold_ref, .. } => provider
                .void(&ProviderRef(hold_ref.clone()), key)
                .await
                .map(|()| None),
            Step::Charge {
                token,
                amount_cents,
            } => provider
                .charge(token, *amount_cents, key)
                .await
                .map(|reference| Some(reference.0)),
            Step::Refund {
                payment_ref,
                amount_cents,
            } => provider
                .refund(&ProviderRef(payment_ref.clone()), *amount_cents, key)
                .await
                .map(|()| None),
        }
    };
    tokio::time::timeout(context.provider_timeout, call)
        .await
        .unwrap_or_else(|_| Err(PaymentError::Unavailable("the provider timed out".into())))
}
