//! A circuit breaker around the payment provider: after [`FAILURES_TO_OPEN`] consecutive
//! `Unavailable` answers (timeouts and abandoned calls count too) it opens, and every call fails
//! fast with `Unavailable` instead of waiting out another timeout against a provider that is
//! down. After [`COOL_DOWN`] on the service clock one call is let through (half-open): its
//! success closes the circuit, its failure opens it for another cool-down. Any answer other
//! than `Unavailable` (a decline included) shows the provider is up.
//!
//! A decorator, like `metered.rs`, so every adapter gets it and none can forget it. Failing
//! fast is safe for the ledger: a refused call changed nothing at the provider, and the intent
//! stays stored for the retry with the same idempotency key.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

use super::provider::{
    CardDetails, CardToken, PaymentError, PaymentProvider, PaymentState, ProviderPayment,
    ProviderRef,
};
use crate::clock::SharedClock;
use crate::ids::CustomerId;
use crate::ports::BoxFuture;

/// Consecutive `Unavailable` answers that open the circuit.
pub const FAILURES_TO_OPEN: u32 = 5;
/// How long an open circuit refuses every call before it lets one through.
pub const COOL_DOWN: TimeDelta = TimeDelta::seconds(30);

/// Where the circuit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls go through.
    Closed,
    /// Calls fail fast until the cool-down ends.
    Open,
    /// The cool-down is over: the next call probes the provider.
    HalfOpen,
}

#[derive(Debug, Default)]
struct Counts {
    /// Consecutive `Unavailable` answers.
    failures: u32,
    /// Until when the circuit refuses calls; `None` while closed.
    open_until: Option<DateTime<Utc>>,
    /// Whether the half-open probe is in flight (others are refused meanwhile).
    probing: bool,
}

/// The breaker's state, shared by the decorator and whoever reports it (metrics, readiness).
#[derive(Debug)]
pub(crate) struct Breaker {
    clock: SharedClock,
    failures_to_open: u32,
    cool_down: TimeDelta,
    counts: Mutex<Counts>,
}

/// What the breaker let a call do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    Pass,
    Probe,
    Refused,
}

impl Breaker {
    pub(crate) fn new(clock: SharedClock) -> Arc<Breaker> {
        Breaker::with(clock, FAILURES_TO_OPEN, COOL_DOWN)
    }

    pub(crate) fn with(
        clock: SharedClock,
        failures_to_open: u32,
        cool_down: TimeDelta,
    ) -> Arc<Breaker> {
        crate::metrics::payment_circuit_open(false);
        Arc::new(Breaker {
            clock,
            failures_to_open: failures_to_open.max(1),
            cool_down,
            counts: Mutex::new(Counts::default()),
        })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        // A panic while holding this lock cannot leave the counts inconsistent (each update is
        // a few assignments), so a poisoned lock is used as it is.
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Where the circuit stands now.
    pub(crate) fn state(&self) -> CircuitState {
        let counts = self.counts();
        match counts.open_until {
            None => CircuitState::Closed,
            Some(until) if self.clock.now() < until => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }

    fn admit(&self) -> Admission {
        let mut counts = self.counts();
        match counts.open_until {
            None => Admission::Pass,
            Some(until) if self.clock.now() < until => Admission::Refused,
            Some(_) if counts.probing => Admission::Refused,
            Some(_) => {
                counts.probing = true;
                Admission::Probe
            }
        }
    }

    fn record(&self, admission: Admission, unavailable: bool) {
        let mut counts = self.counts();
        if admission == Admission::Probe {
            counts.probing = false;
        }
        if unavailable {
            counts.failures = counts.failures.saturating_add(1);
            let reopen = admission == Admission::Probe && counts.open_until.is_some();
            if reopen || counts.failures >= self.failures_to_open {
                if counts.open_until.is_none() {
                    tracing::warn!(
                        failures = counts.failures,
                        "payment provider unavailable: circuit open"
                    );
                }
                counts.open_until = Some(self.clock.now() + self.cool_down);
                crate::metrics::payment_circuit_open(true);
            }
        } else {
            if counts.open_until.is_some() {
                tracing::info!("payment provider answering again: circuit closed");
                crate::metrics::payment_circuit_open(false);
            }
            counts.failures = 0;
            counts.open_until = None;
        }
    }
}

/// A call let through; recorded as a failure if dropped before it ends (the caller's timeout).
struct Attempt<'a> {
    breaker: &'a Breaker,
    admission: Admission,
    done: bool,
}

impl Attempt<'_> {
    fn finish<T>(mut self, outcome: &Result<T, PaymentError>) {
        self.done = true;
        self.breaker.record(
            self.admission,
            matches!(outcome, Err(PaymentError::Unavailable(_))),
        );
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.record(self.admission, true);
        }
    }
}

/// `provider` behind `breaker`.
pub(crate) struct Guarded {
    pub(crate) provider: Arc<dyn PaymentProvider>,
    pub(crate) breaker: Arc<Breaker>,
}

/// `call`, made only if the circuit lets it through.
fn guarded<'a, T: Send + 'a>(
    breaker: &'a Breaker,
    call: impl FnOnce() -> BoxFuture<'a, Result<T, PaymentError>> + Send + 'a,
) -> BoxFuture<'a, Result<T, PaymentError>> {
    Box::pin(async move {
        let admission = breaker.admit();
        if admission == Admission::Refused {
            return Err(PaymentError::Unavailable(
                "the payment provider is down (circuit open)".into(),
            ));
        }
        let attempt = Attempt {
            breaker,
            admission,
            done: false,
        };
        let outcome = call().await;
        attempt.finish(&outcome);
        outcome
    })
}

impl PaymentProvider for Guarded {
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
        guarded(&self.breaker, move || {
            self.provider.tokenize(card, idempotency_key)
        })
    }

    fn register_card<'a>(
        &'a self,
        customer: CustomerId,
        card_token: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<CardToken, PaymentError>> {
        guarded(&self.breaker, move || {
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
        guarded(&self.breaker, move || {
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
        guarded(&self.breaker, move || {
            self.provider.capture(hold, amount_cents, idempotency_key)
        })
    }

    fn void<'a>(
        &'a self,
        hold: &'a ProviderRef,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        guarded(&self.breaker, move || {
            self.provider.void(hold, idempotency_key)
        })
    }

    fn charge<'a>(
        &'a self,
        token: &'a str,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<ProviderRef, PaymentError>> {
        guarded(&self.breaker, move || {
            self.provider.charge(token, amount_cents, idempotency_key)
        })
    }

    fn refund<'a>(
        &'a self,
        payment: &'a ProviderRef,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        guarded(&self.breaker, move || {
            self.provider.refund(payment, amount_cents, idempotency_key)
        })
    }

    fn forget_cards<'a>(
        &'a self,
        tokens: &'a [String],
    ) -> BoxFuture<'a, Result<u64, PaymentError>> {
        guarded(&self.breaker, move || self.provider.forget_cards(tokens))
    }

    fn payment<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Option<PaymentState>, PaymentError>> {
        guarded(&self.breaker, move || self.provider.payment(reference))
    }

    fn payments_between<'a>(
        &'a self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, Result<Option<Vec<ProviderPayment>>, PaymentError>> {
        guarded(&self.breaker, move || {
            self.provider.payments_between(from, to)
        })
    }

    fn purge_expired(&self, batch: usize) -> BoxFuture<'_, Result<usize, PaymentError>> {
        self.provider.purge_expired(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::testing::t0;

    fn breaker() -> (ManualClock, Arc<Breaker>) {
        let clock = ManualClock::new(t0());
        let breaker = Breaker::with(Arc::new(clock.clone()), 3, TimeDelta::seconds(30));
        (clock, breaker)
    }

    fn fail(breaker: &Breaker) {
        let admission = breaker.admit();
        assert_ne!(admission, Admission::Refused);
        breaker.record(admission, true);
    }

    #[test]
    fn opens_after_consecutive_failures_only() {
        let (_clock, breaker) = breaker();
        fail(&breaker);
        fail(&breaker);
        let admission = breaker.admit();
        breaker.record(admission, false);
        fail(&breaker);
        fail(&breaker);
        assert_eq!(
            breaker.state(),
            CircuitState::Closed,
            "a success resets the count"
        );
        fail(&breaker);
        assert_eq!(breaker.state(), CircuitState::Open);
        assert_eq!(breaker.admit(), Admission::Refused);
    }

    #[test]
    fn half_open_after_the_cool_down_lets_one_probe_through() {
        let (clock, breaker) = breaker();
        (0..3).for_each(|_| fail(&breaker));
        clock.advance(TimeDelta::seconds(29));
        assert_eq!(breaker.admit(), Admission::Refused);
        clock.advance(TimeDelta::seconds(1));
        assert_eq!(breaker.state(), CircuitState::HalfOpen);
        let probe = breaker.admit();
        assert_eq!(probe, Admission::Probe);
        assert_eq!(breaker.admit(), Admission::Refused, "one probe at a time");
        breaker.record(probe, false);
        assert_eq!(breaker.state(), CircuitState::Closed);
        assert_eq!(breaker.admit(), Admission::Pass);
    }

    #[test]
    fn a_failed_probe_opens_for_another_cool_down() {
        let (clock, breaker) = breaker();
        (0..3).for_each(|_| fail(&breaker));
        clock.advance(TimeDelta::seconds(30));
        let probe = breaker.admit();
        breaker.record(probe, true);
        assert_eq!(breaker.state(), CircuitState::Open);
        clock.advance(TimeDelta::seconds(29));
        assert_eq!(breaker.admit(), Admission::Refused);
        clock.advance(TimeDelta::seconds(1));
        assert_eq!(breaker.admit(), Admission::Probe);
    }

    #[test]
    fn an_abandoned_call_counts_as_a_failure() {
        let (_clock, breaker) = breaker();
        for _ in 0..3 {
            let admission = breaker.admit();
            drop(Attempt {
                breaker: &breaker,
                admission,
                done: false,
            });
        }
        assert_eq!(breaker.state(), CircuitState::Open);
    }

    #[tokio::test]
    async fn calls_fail_fast_while_open() {
        let (_clock, breaker) = breaker();
        let mut calls = 0;
        for _ in 0..5 {
            let outcome: Result<(), PaymentError> = guarded(&breaker, || {
                calls += 1;
                Box::pin(async { Err(PaymentError::Unavailable("down".into())) })
            })
            .await;
            assert!(matches!(outcome, Err(PaymentError::Unavailable(_))));
        }
        assert_eq!(
            calls, 3,
            "the calls after the circuit opened never reached the provider"
        );
    }
}
