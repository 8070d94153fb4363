//! Every call to the payment provider counted and timed, whichever provider it is: a decorator
//! around the port, so adapters stay free of metrics and none can forget them.

use std::sync::Arc;
use std::time::Instant;

use super::provider::{
    CardDetails, CardToken, PaymentError, PaymentProvider, PaymentState, ProviderPayment,
    ProviderRef,
};
use crate::ids::CustomerId;
use crate::ports::BoxFuture;

/// `provider`, measured.
pub(crate) struct Metered(pub(crate) Arc<dyn PaymentProvider>);

/// Records the call when it ends; a call whose future is dropped before it ends (the caller's
/// timeout) is recorded as `abandoned`.
struct Call {
    operation: &'static str,
    started: Instant,
    result: Option<&'static str>,
}

impl Call {
    fn start(operation: &'static str) -> Call {
        Call {
            operation,
            started: Instant::now(),
            result: None,
        }
    }

    fn end<T>(mut self, outcome: Result<T, PaymentError>) -> Result<T, PaymentError> {
        self.result = Some(match &outcome {
            Ok(_) => "ok",
            Err(PaymentError::Declined { .. }) => "declined",
            Err(PaymentError::InsufficientFunds) => "insufficient_funds",
            Err(PaymentError::UnknownToken) => "unknown_token",
            Err(PaymentError::ExceedsHold | PaymentError::InvalidRequest { .. }) => "invalid",
            Err(PaymentError::Unavailable(_)) => "unavailable",
        });
        outcome
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        let result = self.result.unwrap_or("abandoned");
        crate::metrics::payment_call(self.operation, result, self.started.elapsed());
    }
}

/// `call`, counted and timed as `operation`.
fn measured<'a, T: Send + 'a>(
    operation: &'static str,
    call: BoxFuture<'a, Result<T, PaymentError>>,
) -> BoxFuture<'a, Result<T, PaymentError>> {
    Box::pin(async move {
        let timer = Call::start(operation);
        timer.end(call.await)
    })
}

impl PaymentProvider for Metered {
    fn shares_store(&self) -> bool {
        self.0.shares_store()
    }

    fn takes_card_details(&self) -> bool {
        self.0.takes_card_details()
    }

    fn tokenize<'a>(
        &'a self,
        card: CardDetails,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<CardToken, PaymentError>> {
        measured("tokenize", self.0.tokenize(card, idempotency_key))
    }

    fn payment<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Option<PaymentState>, PaymentError>> {
        measured("payment", self.0.payment(reference))
    }

    fn payments_between<'a>(
        &'a self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, Result<Option<Vec<ProviderPayment>>, PaymentError>> {
        measured("payments_between", self.0.payments_between(from, to))
    }

    fn register_card<'a>(
        &'a self,
        customer: CustomerId,
        card_token: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<CardToken, PaymentError>> {
        measured(
            "register_card",
            self.0.register_card(customer, card_token, idempotency_key),
        )
    }

    fn authorize_hold<'a>(
        &'a self,
        token: &'a str,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<ProviderRef, PaymentError>> {
        measured(
            "authorize_hold",
            self.0.authorize_hold(token, amount_cents, idempotency_key),
        )
    }

    fn capture<'a>(
        &'a self,
        hold: &'a ProviderRef,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        measured(
            "capture",
            self.0.capture(hold, amount_cents, idempotency_key),
        )
    }

    fn void<'a>(
        &'a self,
        hold: &'a ProviderRef,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        measured("void", self.0.void(hold, idempotency_key))
    }

    fn charge<'a>(
        &'a self,
        token: &'a str,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<ProviderRef, PaymentError>> {
        measured(
            "charge",
            self.0.charge(token, amount_cents, idempotency_key),
        )
    }

    fn refund<'a>(
        &'a self,
        payment: &'a ProviderRef,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        measured(
            "refund",
            self.0.refund(payment, amount_cents, idempotency_key),
        )
    }

    fn forget_cards<'a>(
        &'a self,
        tokens: &'a [String],
    ) -> BoxFuture<'a, Result<u64, PaymentError>> {
        measured("forget_cards", self.0.forget_cards(tokens))
    }

    fn purge_expired(&self, batch: usize) -> BoxFuture<'_, Result<usize, PaymentError>> {
        self.0.purge_expired(batch)
    }
}
