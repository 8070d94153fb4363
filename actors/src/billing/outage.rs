//! A provider outage at the flip of a switch, for tests: while the switch is on, every call
//! answers `Unavailable` without reaching the provider, as a provider that is down (a 5xx, a
//! timeout) would. Placed innermost, under the circuit breaker and the metrics, so both see
//! the outage as they would a real one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::provider::{
    CardDetails, CardToken, PaymentError, PaymentProvider, PaymentState, ProviderPayment,
    ProviderRef,
};
use crate::ids::CustomerId;
use crate::ports::BoxFuture;

/// Turns the provider's outage on and off; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct OutageSwitch {
    down: Arc<AtomicBool>,
    refused: Arc<AtomicU64>,
}

impl OutageSwitch {
    /// From now on the provider is down (`true`) or answering again (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// How many calls the outage refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }

    fn check(&self) -> Result<(), PaymentError> {
        if self.down.load(Ordering::SeqCst) {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(PaymentError::Unavailable(
                "503 Service Unavailable (injected outage)".into(),
            ));
        }
        Ok(())
    }
}

/// `provider`, down while `switch` says so.
pub(crate) struct Outage {
    pub(crate) provider: Arc<dyn PaymentProvider>,
    pub(crate) switch: OutageSwitch,
}

fn unless_down<'a, T: Send + 'a>(
    switch: &'a OutageSwitch,
    call: impl FnOnce() -> BoxFuture<'a, Result<T, PaymentError>> + Send + 'a,
) -> BoxFuture<'a, Result<T, PaymentError>> {
    match switch.check() {
        Ok(()) => call(),
        Err(error) => Box::pin(async move { Err(error) }),
    }
}

impl PaymentProvider for Outage {
    fn shares_store(&self) -> bool {
        self.provider.shares_store()
    }

    fn takes_card_details(&self) -> bool {
        self.provider.takes_card_details()
    }

    fn tokenize<'a>(
        &'a self,
        card: CardDetails,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<CardToken, PaymentError>> {
        unless_down(&self.switch, move || {
            self.provider.tokenize(card, idempotency_key)
        })
    }

    fn register_card<'a>(
        &'a self,
        customer: CustomerId,
        card_token: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<CardToken, PaymentError>> {
        unless_down(&self.switch, move || {
            self.provider
                .register_card(customer, card_token, idempotency_key)
        })
    }

    fn authorize_hold<'a>(
        &'a self,
        token: &'a str,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<ProviderRef, PaymentError>> {
        unless_down(&self.switch, move || {
            self.provider
                .authorize_hold(token, amount_cents, idempotency_key)
        })
    }

    fn capture<'a>(
        &'a self,
        hold: &'a ProviderRef,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        unless_down(&self.switch, move || {
            self.provider.capture(hold, amount_cents, idempotency_key)
        })
    }

    fn void<'a>(
        &'a self,
        hold: &'a ProviderRef,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        unless_down(&self.switch, move || {
            self.provider.void(hold, idempotency_key)
        })
    }

    fn charge<'a>(
        &'a self,
        token: &'a str,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<ProviderRef, PaymentError>> {
        unless_down(&self.switch, move || {
            self.provider.charge(token, amount_cents, idempotency_key)
        })
    }

    fn refund<'a>(
        &'a self,
        payment: &'a ProviderRef,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        unless_down(&self.switch, move || {
            self.provider.refund(payment, amount_cents, idempotency_key)
        })
    }

    fn forget_cards<'a>(
        &'a self,
        tokens: &'a [String],
    ) -> BoxFuture<'a, Result<u64, PaymentError>> {
        unless_down(&self.switch, move || self.provider.forget_cards(tokens))
    }

    fn payment<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Option<PaymentState>, PaymentError>> {
        unless_down(&self.switch, move || self.provider.payment(reference))
    }

    fn payments_between<'a>(
        &'a self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, Result<Option<Vec<ProviderPayment>>, PaymentError>> {
        unless_down(&self.switch, move || {
            self.provider.payments_between(from, to)
        })
    }

    fn purge_expired(&self, batch: usize) -> BoxFuture<'_, Result<usize, PaymentError>> {
        self.provider.purge_expired(batch)
    }
}
