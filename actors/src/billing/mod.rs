//! Billing: money held on a customer's card when a car is reserved, captured when it is
//! released.
//!
//! The service owns the `billing` store: one charge per reservation, with an append-only ledger
//! from which every figure is derived (the rules and invariants are in `ledger.rs`), and, for
//! the default [`SandboxProvider`], the processor's own records. Every ledger append is durable
//! (`Store::commit`) before the caller gets an answer, because a lost entry is money moved
//! without a trace. Operations are idempotent by reservation: a second hold returns the first,
//! a second void or settlement returns the charge unchanged; and provider calls carry
//! idempotency keys, so a retry after a crash completes the operation instead of repeating it
//! (see `entity.rs`). The ledger's writer also writes the charge events (`charge.held`,
//! `charge.captured`, `charge.voided`, `charge.refused`, `charge.refunded`) in the same
//! transaction, derived from what the write adds to the stored charge (`domain_events.rs`).

mod breaker;
mod cards;
mod domain_events;
mod entity;
mod erasure;
mod error;
mod events;
#[cfg(test)]
mod events_tests;
mod holds;
mod invariants;
mod ledger;
#[cfg(test)]
mod ledger_tests;
pub(crate) mod mercadopago;
mod metered;
mod model;
#[cfg(any(test, feature = "testing"))]
mod outage;
mod provider;
mod reconciliation;
mod reconciliation_job;
mod retention;
mod sandbox;
mod settlement;
pub mod signatures;
mod stripe;
mod tables;

use std::sync::Arc;
use std::time::Duration;

use ractor::ActorCell;
use storage::Store;

use crate::ask::{ASK_TIMEOUT, AskError};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::entity::{EntityRef, SupervisorConfig, start_entities};
use crate::ids::ReservationId;

pub use breaker::{COOL_DOWN, CircuitState, FAILURES_TO_OPEN};
pub use error::BillingError;
pub use events::{ChargeEventKind, EventOutcome, ProviderEvent, ProviderNotice, events_of};
pub use mercadopago::MercadoPagoProvider;
pub use model::{
    AddedHold, BillingAudit, CURRENCY, ChargeStatus, ChargeSummary, EntryKind, HoldRequest,
    LedgerEntry, RefundOrder,
};
#[cfg(any(test, feature = "testing"))]
pub use outage::OutageSwitch;
pub use provider::{
    CardDetails, CardToken, PaymentError, PaymentProvider, PaymentState, ProviderPayment,
    ProviderRef,
};
pub use reconciliation::{Amounts, Difference, DifferenceKind, Reconciliation};
pub use sandbox::SandboxProvider;
pub(crate) use sandbox::{DECLINED_CARD, HOLDS_ONLY_CARD, INSUFFICIENT_FUNDS_CARD};
pub use stripe::{StripeProvider, StripeSetupError};

use entity::{BillingContext, Charge, ChargeMsg};
use tables::Tables;

/// Provider calls one operation may make (a settlement resumes earlier steps, captures,
/// charges the overtime, and may carry out a refund): the ask timeout covers them all.
pub const PROVIDER_CALLS_PER_ASK: u32 = 4;

/// The billing service's API. Cheap to clone.
#[derive(Clone)]
pub struct BillingHandle {
    charges: EntityRef<Charge>,
    /// For the first hold of a charge, carried out in the caller's task (see `hold`).
    context: BillingContext,
    tables: Tables,
    provider: Arc<dyn PaymentProvider>,
    provider_timeout: Duration,
    reports: reconciliation_job::Reports,
    breaker: Arc<breaker::Breaker>,
    #[cfg(any(test, feature = "testing"))]
    outage: OutageSwitch,
}

impl std::fmt::Debug for BillingHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingHandle").finish_non_exhaustive()
    }
}

/// Starts billing on its store with `provider` (normally [`SandboxProvider::open`] on the same
/// store), under `parent`.
pub async fn start(
    store: Store,
    provider: Arc<dyn PaymentProvider>,
    clock: SharedClock,
    config: &Config,
    parent: Option<ActorCell>,
) -> Result<BillingHandle, ractor::SpawnErr> {
    let tables =
        Tables::open(&store).map_err(|error| ractor::SpawnErr::StartupFailed(error.into()))?;
    #[cfg(any(test, feature = "testing"))]
    let outage = OutageSwitch::default();
    #[cfg(any(test, feature = "testing"))]
    let provider: Arc<dyn PaymentProvider> = Arc::new(outage::Outage {
        provider,
        switch: outage.clone(),
    });
    let breaker = breaker::Breaker::new(clock.clone());
    let provider: Arc<dyn PaymentProvider> =
        Arc::new(metered::Metered(Arc::new(breaker::Guarded {
            provider,
            breaker: breaker.clone(),
        })));
    let provider_timeout = Duration::from_secs(config.billing.provider_timeout_s.max(1));
    crate::retention::start(
        retention::ProviderPurge(provider.clone()),
        clock.clone(),
        parent.clone(),
    )
    .await?;
    let reports = reconciliation_job::Reports::open(&tables.store)
        .map_err(|error| ractor::SpawnErr::StartupFailed(error.into()))?;
    let context = BillingContext {
        tables: tables.clone(),
        provider: provider.clone(),
        clock: clock.clone(),
        provider_timeout,
    };
    let charges = start_entities::<Charge>(
        context.clone(),
        SupervisorConfig::from_config(config),
        parent.clone(),
    )
    .await?
    .with_timeout(ASK_TIMEOUT + provider_timeout * PROVIDER_CALLS_PER_ASK);
    let billing = BillingHandle {
        charges,
        context,
        tables,
        provider,
        provider_timeout,
        reports,
        breaker,
        #[cfg(any(test, feature = "testing"))]
        outage,
    };
    reconciliation_job::start(billing.clone(), clock, parent).await?;
    Ok(billing)
}

impl BillingHandle {
    /// Holds `amount_cents` for the reservation. A second hold for the same reservation
    /// returns the first one's outcome (never a second hold); a refused hold is recorded
    /// (`HoldDeclined`) and answered with `Declined` or `InsufficientFunds`.
    pub async fn hold(&self, request: HoldRequest) -> Result<ChargeSummary, BillingError> {
        if request.amount_cents <= 0 {
            return Err(BillingError::InvalidAmount);
        }
        let id = request.reservation_id;
        // A charge's first hold needs no actor: until it is stored nothing else can reach the
        // charge (its reservation is not written yet, and the one actor booking it, the car's,
        // waits for this answer), so it runs in the caller's task, sparing an actor's
        // activation and two hand-offs on every booking, and an idle actor per booking kept
        // until its idle timeout (21,539 of them after one benchmark run). A hold for a charge
        // that exists (a retried booking) goes through the charge's actor like every other
        // operation.
        if self.tables.charges.get(&id)?.is_none() && !self.charges.is_active(&id) {
            return Charge::new(id).hold(request, &self.context).await;
        }
        self.charges
            .call_or_create(id, |reply| ChargeMsg::Hold {
                request: request.clone(),
                reply,
            })
            .await?
    }

    /// Settles a completed rental or a no-show: captures `min(total, held)` from the holds in
    /// the order they were placed (the rest of each is released, an unused one voided) and
    /// charges any excess directly on the card; a total of 0 voids every hold.
    /// Settling a settled charge returns it unchanged.
    pub async fn settle(
        &self,
        reservation_id: ReservationId,
        total_cents: i64,
    ) -> Result<ChargeSummary, BillingError> {
        self.charges
            .call(reservation_id, |reply| ChargeMsg::Settle {
                total_cents,
                reply,
            })
            .await?
    }

    /// Gives the hold back (cancellation before the start). Voiding a voided (or declined)
    /// charge returns it unchanged; a captured one is `AlreadyResolved`.
    pub async fn void(&self, reservation_id: ReservationId) -> Result<ChargeSummary, BillingError> {
        self.charges
            .call(reservation_id, |reply| ChargeMsg::Void { reply })
            .await?
    }

    /// Refunds `amount_cents` from what was captured and charged (captured first). Each call
    /// is a new refund, except the retry of one a crash left unfinished (same amount).
    pub async fn refund(
        &self,
        reservation_id: ReservationId,
        amount_cents: i64,
    ) -> Result<ChargeSummary, BillingError> {
        let order = RefundOrder {
            amount_cents,
            reason: None,
            idempotency_key: None,
        };
        self.refund_order(reservation_id, order).await
    }

    /// Refunds as `order` says, within what was captured and charged and not yet refunded:
    /// its reason is written on the refund's ledger entry, and with an idempotency key the
    /// same order again answers the charge without a second refund (another order with the
    /// same key is `IdempotencyMismatch`).
    pub async fn refund_order(
        &self,
        reservation_id: ReservationId,
        order: RefundOrder,
    ) -> Result<ChargeSummary, BillingError> {
        self.charges
            .call(reservation_id, |reply| ChargeMsg::Refund {
                order: order.clone(),
                reply,
            })
            .await?
    }

    /// Charges the customer's card again for what it refused beyond the hold of
    /// `reservation_id` (the customer pays their outstanding balance). Answers
    /// `SettlementIncomplete` if it is refused again.
    pub async fn collect_outstanding(
        &self,
        reservation_id: ReservationId,
        card_token: String,
    ) -> Result<ChargeSummary, BillingError> {
        self.charges
            .call(reservation_id, |reply| ChargeMsg::Collect {
                card_token: card_token.clone(),
                reply,
            })
            .await?
    }

    /// Applies an event the payment provider reported (a webhook) to the charge it is about,
    /// found by the provider's reference, through the charge's actor. Deduplicated by the
    /// provider's event id: a replayed event is `Duplicate` and changes nothing.
    pub async fn apply_provider_event(
        &self,
        notice: ProviderNotice,
    ) -> Result<EventOutcome, BillingError> {
        let key = (notice.provider.clone(), notice.event_id.clone());
        if self.tables.provider_events.get(&key)?.is_some() {
            return Ok(EventOutcome::Duplicate);
        }
        let reference = notice.event.reference().0.clone();
        let charge = self.tables.by_provider_ref.get(&reference)?;
        let outcome = match charge {
            None => EventOutcome::UnknownPayment,
            Some(id) => {
                let changed = self
                    .charges
                    .call(id, |reply| ChargeMsg::ProviderEvent {
                        notice: notice.clone(),
                        reply,
                    })
                    .await??;
                if changed {
                    tracing::info!(reservation = %id, provider = %notice.provider, event = %notice.event_id, "provider event applied");
                    EventOutcome::Applied
                } else {
                    EventOutcome::Unchanged
                }
            }
        };
        self.remember_event(key, charge).await?;
        Ok(outcome)
    }

    /// Applies a notification that names a payment without its state (Mercado Pago's): the
    /// payment is read from the provider (within the provider timeout) and what its state says
    /// ([`events_of`]) is applied to the charge that has it, through the charge's actor.
    /// Deduplicated by `event_id`, the notification's id; a payment no charge of ours names
    /// is `UnknownPayment` without asking the provider. A provider that cannot be reached is
    /// an error and the notification is not remembered, so the provider's redelivery applies
    /// it.
    pub async fn apply_payment_notification(
        &self,
        provider: &str,
        event_id: &str,
        reference: &str,
    ) -> Result<EventOutcome, BillingError> {
        let key = (provider.to_owned(), event_id.to_owned());
        if self.tables.provider_events.get(&key)?.is_some() {
            return Ok(EventOutcome::Duplicate);
        }
        let Some(id) = self.tables.by_provider_ref.get(&reference.to_owned())? else {
            self.remember_event(key, None).await?;
            return Ok(EventOutcome::UnknownPayment);
        };
        let call = self.provider.payment(reference);
        let state = match tokio::time::timeout(self.provider_timeout, call).await {
            Ok(result) => result.map_err(BillingError::Provider)?,
            Err(_) => {
                return Err(BillingError::Provider(PaymentError::Unavailable(
                    "the provider timed out".into(),
                )));
            }
        };
        let Some(state) = state else {
            // Ours by the ledger, unknown to the provider: reconciliation reports that.
            tracing::warn!(reservation = %id, provider, reference, "a notified payment is unknown to the provider");
            self.remember_event(key, Some(id)).await?;
            return Ok(EventOutcome::Unchanged);
        };
        let mut changed = false;
        for event in events_of(&state) {
            let notice = ProviderNotice {
                provider: provider.to_owned(),
                event_id: event_id.to_owned(),
                event,
            };
            changed |= self
                .charges
                .call(id, |reply| ChargeMsg::ProviderEvent {
                    notice: notice.clone(),
                    reply,
                })
                .await??;
        }
        self.remember_event(key, Some(id)).await?;
        if changed {
            tracing::info!(reservation = %id, provider, event = event_id, "provider notification applied");
            Ok(EventOutcome::Applied)
        } else {
            Ok(EventOutcome::Unchanged)
        }
    }

    /// Records a provider notification that is not applied (a kind this service does not act
    /// on, or one whose details need the provider's API); `Duplicate` if it was received
    /// before, else `Ignored`.
    pub async fn record_provider_notification(
        &self,
        provider: &str,
        event_id: &str,
    ) -> Result<EventOutcome, BillingError> {
        let key = (provider.to_owned(), event_id.to_owned());
        if self.tables.provider_events.get(&key)?.is_some() {
            return Ok(EventOutcome::Duplicate);
        }
        self.remember_event(key, None).await?;
        Ok(EventOutcome::Ignored)
    }

    async fn remember_event(
        &self,
        key: (String, String),
        reservation_id: Option<ReservationId>,
    ) -> Result<(), BillingError> {
        let processed = events::ProcessedEvent {
            at: self.context.clock.now(),
            reservation_id,
        };
        self.tables.provider_events.insert(&key, &processed)?;
        self.tables.store.commit().await?;
        Ok(())
    }

    /// The charges whose hold is neither captured nor voided nor declined (read from an
    /// index kept with every charge write, so this does not walk the ledger).
    pub fn unresolved(&self) -> Result<Vec<ReservationId>, BillingError> {
        let ids = self
            .tables
            .unresolved
            .iter()
            .map(|entry| entry.map(|(id, ())| id))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids)
    }

    /// The reservation's charge, if it has one (read from the store).
    pub async fn summary(
        &self,
        reservation_id: ReservationId,
    ) -> Result<Option<ChargeSummary>, BillingError> {
        let record = self.tables.load(reservation_id)?;
        Ok(record.as_ref().map(settlement::summary))
    }

    /// The reservation's ledger, oldest entry first; empty when it has no charge.
    pub async fn ledger(
        &self,
        reservation_id: ReservationId,
    ) -> Result<Vec<LedgerEntry>, BillingError> {
        let record = self.tables.load(reservation_id)?;
        Ok(record.map(|record| record.entries).unwrap_or_default())
    }

    /// Reads every charge and checks the ledger invariants: the simulator's audit. Walks the
    /// whole store: for tests and operators, not request paths.
    pub async fn audit(&self) -> Result<BillingAudit, BillingError> {
        let mut audit = BillingAudit {
            charges: 0,
            unresolved_holds: Vec::new(),
            violations: Vec::new(),
            events: Default::default(),
            incidents: Default::default(),
        };
        for header in self.tables.charges.iter() {
            let (id, _) = header?;
            let Some(record) = self.tables.load(id)? else {
                continue;
            };
            audit.charges += 1;
            for event in &record.header.events {
                *audit
                    .events
                    .entry(event.kind.as_str().to_owned())
                    .or_default() += 1;
                if event.kind.is_incident() {
                    *audit
                        .incidents
                        .entry(event.kind.as_str().to_owned())
                        .or_default() += 1;
                }
            }
            let summary = settlement::summary(&record);
            if matches!(summary.status, ChargeStatus::Held | ChargeStatus::Pending) {
                audit.unresolved_holds.push(id);
            }
            audit.violations.extend(
                invariants::check(&record.entries)
                    .into_iter()
                    .map(|problem| format!("charge {id}: {problem}")),
            );
        }
        Ok(audit)
    }

    /// Counters of the charges' actors, for metrics.
    pub fn stats(&self) -> crate::entity::EntityStats {
        self.charges.stats()
    }

    /// Where the circuit breaker around the payment provider stands (metrics, readiness).
    pub fn provider_circuit(&self) -> CircuitState {
        self.breaker.state()
    }

    /// The switch that takes the payment provider down and up again, for tests.
    #[cfg(any(test, feature = "testing"))]
    pub fn provider_outage(&self) -> &OutageSwitch {
        &self.outage
    }

    /// Whether the service's supervisor runs (readiness).
    pub fn ping(&self) -> Result<(), AskError> {
        self.charges.ping()
    }
}

#[cfg(test)]
mod tests;
