//! Cards with the processor: tokenized from their details (the sandbox) or registered from the
//! token the app got from the processor's SDK. Not entity operations: the processor's
//! idempotency key is what makes a retry safe.

use super::provider::{CardDetails, CardToken, PaymentError};
use super::{BillingError, BillingHandle};
use crate::ids::CustomerId;

impl BillingHandle {
    /// Exchanges a card for the processor's token. Not an entity operation: the processor's
    /// idempotency key (the customer's id at registration) is what makes a retry safe.
    pub async fn tokenize_card(
        &self,
        card: CardDetails,
        idempotency_key: String,
    ) -> Result<CardToken, BillingError> {
        let call = self.provider.tokenize(card, &idempotency_key);
        match tokio::time::timeout(self.provider_timeout, call).await {
            Ok(result) => result.map_err(BillingError::from),
            Err(_) => Err(BillingError::Provider(PaymentError::Unavailable(
                "the provider timed out".into(),
            ))),
        }
    }

    /// Whether cards are registered by their details (the sandbox) rather than by a token the
    /// app got from the provider's SDK.
    pub fn takes_card_details(&self) -> bool {
        self.provider.takes_card_details()
    }

    /// Registers a card the app tokenized with the provider's SDK for `customer`.
    pub async fn register_card(
        &self,
        customer: CustomerId,
        card_token: String,
        idempotency_key: String,
    ) -> Result<CardToken, BillingError> {
        let call = self
            .provider
            .register_card(customer, &card_token, &idempotency_key);
        match tokio::time::timeout(self.provider_timeout, call).await {
            Ok(result) => result.map_err(BillingError::from),
            Err(_) => Err(BillingError::Provider(PaymentError::Unavailable(
                "the provider timed out".into(),
            ))),
        }
    }
}
