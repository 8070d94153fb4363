//! The Stripe adapter of [`PaymentProvider`]: a Stripe Customer per customer, the app's
//! PaymentMethod attached to it for off-session use, holds as manually captured
//! PaymentIntents, charges beyond a hold as new PaymentIntents, refunds as Refund objects.
//!
//! - **Customers.** Each of our customers gets one Stripe Customer (with our id in
//!   `metadata[customer_id]`), created at the first card and reused for every later card. The
//!   mapping is kept in the billing store (`stripe_customers`) and made durable before the
//!   card is attached: Stripe keeps idempotency keys only 24 hours and a card change can come
//!   months later, so only our own record can tell that the Customer already exists. The
//!   creation's key is derived from our customer id, not from the call's key, so that two
//!   registrations racing, or a retry after a crash before the mapping was stored, find the
//!   same Customer.
//! - **Token.** The card token is `"<cus_…>:<pm_…>"`: a hold needs both the Customer and the
//!   PaymentMethod, and with both in the token a hold needs no lookup (the customers service
//!   keeps the token; the mapping is only for the next card).
//! - **Idempotency.** Every POST carries the port's key (a step of a multi-step call adds a
//!   suffix), so a retry after a timeout gets Stripe's first answer instead of a second
//!   payment.
//! - **Erasure** ([`PaymentProvider::forget_cards`]) detaches the PaymentMethods and deletes the
//!   Stripe Customer. Stripe still keeps, under its own retention duties, the payments made
//!   (PaymentIntents, charges and refunds with their amounts and the card's brand, last four
//!   digits, expiry and fingerprint) and a stub of the deleted Customer; our customer id in
//!   its metadata is a random identifier that no longer names anyone here.

mod client;
mod errors;
mod listing;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use storage::{StorageError, Store, Table};

use super::provider::{
    CardDetails, CardToken, PaymentError, PaymentProvider, ProviderPayment, ProviderRef,
    brand_from_str,
};
use crate::config::BillingConfig;
use crate::ids::CustomerId;
use crate::ports::BoxFuture;
use client::{Form, StripeClient, text};

/// The currency of every PaymentIntent (Stripe takes it lower-case).
const CURRENCY: &str = "brl";

/// Why the adapter could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum StripeSetupError {
    /// The billing store's table of Stripe Customers could not be opened.
    #[error("the billing store failed")]
    Storage(#[from] StorageError),
    /// The HTTP client could not be built (its TLS configuration).
    #[error("the HTTP client could not be built")]
    Client(#[from] reqwest::Error),
}

/// The Stripe adapter (see the module documentation).
#[derive(Debug, Clone)]
pub struct StripeProvider {
    client: StripeClient,
    store: Store,
    /// Our customer → their Stripe Customer (`cus_…`).
    customers: Table<CustomerId, String>,
}

impl StripeProvider {
    /// The adapter for the account of `config` (`stripe_api_base`, `stripe_secret_key`,
    /// `provider_timeout_s`), keeping its Customer mapping in the billing store `store`.
    pub fn open(store: &Store, config: &BillingConfig) -> Result<StripeProvider, StripeSetupError> {
        let timeout = Duration::from_secs(config.provider_timeout_s.max(1));
        Ok(StripeProvider {
            client: StripeClient::new(&config.stripe_api_base, &config.stripe_secret_key, timeout)?,
            store: store.clone(),
            customers: store.table("stripe_customers")?,
        })
    }

    /// The Stripe Customer of `customer`, created (and recorded durably) at its first card.
    async fn stripe_customer(&self, customer: CustomerId) -> Result<String, PaymentError> {
        if let Some(known) = self.customers.get(&customer).map_err(store_failed)? {
            return Ok(known);
        }
        let form = Form::new().field("metadata[customer_id]", customer);
        let created = self
            .client
            .post("/v1/customers", &form, &format!("customer:{customer}"))
            .await?;
        let id = text(&created, "id")?.to_owned();
        self.customers
            .insert(&customer, &id)
            .map_err(store_failed)?;
        self.store.commit().await.map_err(store_failed)?;
        Ok(id)
    }

    async fn register(
        &self,
        customer: CustomerId,
        payment_method: &str,
        idempotency_key: &str,
    ) -> Result<CardToken, PaymentError> {
        let payment_method = stripe_id(payment_method)?;
        let stripe_customer = self.stripe_customer(customer).await?;
        let attached = self
            .client
            .post(
                &format!("/v1/payment_methods/{payment_method}/attach"),
                &Form::new().field("customer", &stripe_customer),
                &format!("{idempotency_key}:attach"),
            )
            .await?;
        let card = &attached["card"];
        let (Some(last4), Some(exp_month), Some(exp_year)) = (
            card["last4"].as_str(),
            card["exp_month"]
                .as_u64()
                .and_then(|m| u32::try_from(m).ok()),
            card["exp_year"]
                .as_i64()
                .and_then(|y| i32::try_from(y).ok()),
        ) else {
            return Err(PaymentError::InvalidRequest {
                reason: "the PaymentMethod is not a card".into(),
            });
        };
        Ok(CardToken {
            token: format!("{stripe_customer}:{payment_method}"),
            brand: brand_from_str(card["brand"].as_str().unwrap_or_default()),
            last4: last4.to_owned(),
            exp_month,
            exp_year,
        })
    }

    /// A confirmed off-session PaymentIntent on the card of `token`: `manual` capture for a
    /// hold, `automatic` for a sale. Answers the intent once it is in `expected` state.
    async fn payment_intent(
        &self,
        token: &str,
        amount_cents: i64,
        capture_method: &str,
        expected: &str,
        idempotency_key: &str,
    ) -> Result<ProviderRef, PaymentError> {
        let (customer, payment_method) = parse_token(token)?;
        let form = Form::new()
            .field("amount", amount_cents)
            .field("currency", CURRENCY)
            .field("capture_method", capture_method)
            .field("confirm", true)
            .field("off_session", true)
            .field("customer", customer)
            .field("payment_method", payment_method)
            .field("payment_method_types[0]", "card")
            .field("metadata[operation]", idempotency_key);
        let intent = self
            .client
            .post("/v1/payment_intents", &form, idempotency_key)
            .await?;
        let id = text(&intent, "id")?;
        let status = text(&intent, "status")?;
        if status == expected {
            return Ok(ProviderRef(id.to_owned()));
        }
        Err(not_completed(&intent, status))
    }

    /// The card PaymentMethods attached to Stripe Customer `customer` (none if it is gone).
    async fn attached(&self, customer: &str) -> Result<Vec<String>, PaymentError> {
        let mut found = Vec::new();
        loop {
            let mut query = Form::new()
                .field("customer", customer)
                .field("type", "card")
                .field("limit", 100);
            if let Some(last) = found.last() {
                query = query.field("starting_after", last);
            }
            let page = match self.client.get("/v1/payment_methods", &query).await {
                Ok(page) => page,
                Err(PaymentError::UnknownToken) => return Ok(found),
                Err(other) => return Err(other),
            };
            let ids = page["data"].as_array().into_iter().flatten();
            let before = found.len();
            found.extend(ids.filter_map(|method| method["id"].as_str().map(str::to_owned)));
            if page["has_more"] != Value::Bool(true) || found.len() == before {
                return Ok(found);
            }
        }
    }

    async fn forget(&self, tokens: &[String]) -> Result<u64, PaymentError> {
        let mut changed = 0u64;
        let mut customers = BTreeSet::new();
        let mut payment_methods = BTreeSet::new();
        // Tokens of another provider (the sandbox's, before a switch) are not Stripe's to
        // forget.
        for (customer, payment_method) in tokens.iter().filter_map(|t| parse_token(t).ok()) {
            customers.insert(customer.to_owned());
            payment_methods.insert(payment_method.to_owned());
        }
        // The customer's earlier cards too: only the current one's token reaches here.
        for customer in &customers {
            payment_methods.extend(self.attached(customer).await?);
        }
        for payment_method in payment_methods.iter().map(String::as_str) {
            let payment_method = stripe_id(payment_method)?;
            let detached = self
                .client
                .post(
                    &format!("/v1/payment_methods/{payment_method}/detach"),
                    &Form::new(),
                    &format!("forget:{payment_method}"),
                )
                .await;
            changed += match detached {
                Ok(_) => 1,
                // Gone, or no longer attached (a retry after Stripe forgot the first key):
                // either way it is done. A wrong key would have failed the listing above.
                Err(PaymentError::UnknownToken | PaymentError::InvalidRequest { .. }) => 0,
                Err(other) => return Err(other),
            };
        }
        for customer in &customers {
            changed += gone_or_done(
                self.client
                    .delete(&format!("/v1/customers/{customer}"))
                    .await,
            )?;
        }
        let stale = self
            .customers
            .iter()
            .filter(|entry| {
                entry
                    .as_ref()
                    .map_or(true, |(_, stripe)| customers.contains(stripe))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(store_failed)?;
        for (ours, _) in &stale {
            self.customers.remove(ours).map_err(store_failed)?;
        }
        self.store.commit().await.map_err(store_failed)?;
        Ok(changed + stale.len() as u64)
    }
}

/// 1 for a change made, 0 for one already made (the object is gone).
fn gone_or_done(result: Result<Value, PaymentError>) -> Result<u64, PaymentError> {
    match result {
        Ok(_) => Ok(1),
        Err(PaymentError::UnknownToken) => Ok(0),
        Err(other) => Err(other),
    }
}

/// The error for an intent Stripe created but could not bring to the state asked.
fn not_completed(intent: &Value, status: &str) -> PaymentError {
    if status == "requires_action" {
        return PaymentError::Declined {
            reason: errors::NEEDS_CUSTOMER.into(),
        };
    }
    let reason = intent["last_payment_error"]["message"]
        .as_str()
        .map_or_else(|| format!("the payment is {status}"), str::to_owned);
    PaymentError::Declined { reason }
}

fn store_failed(error: StorageError) -> PaymentError {
    PaymentError::Unavailable(format!("the billing store failed: {error}"))
}

/// `id` if it can be put in a URL path as a Stripe object id (they are `prefix_` and letters
/// or digits): a token from the app must not reach another path of the API.
fn stripe_id(id: &str) -> Result<&str, PaymentError> {
    let valid = !id.is_empty()
        && id.len() <= 255
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(id)
    } else {
        Err(PaymentError::UnknownToken)
    }
}

/// The Stripe Customer and PaymentMethod of a card token.
fn parse_token(token: &str) -> Result<(&str, &str), PaymentError> {
    let (customer, payment_method) = token.split_once(':').ok_or(PaymentError::UnknownToken)?;
    Ok((stripe_id(customer)?, stripe_id(payment_method)?))
}

impl PaymentProvider for StripeProvider {
    fn tokenize<'a>(
        &'a self,
        _card: CardDetails,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<CardToken, PaymentError>> {
        Box::pin(async {
            Err(PaymentError::InvalidRequest {
                reason: "Stripe takes no card numbers here: the app creates a PaymentMethod".into(),
            })
        })
    }

    fn register_card<'a>(
        &'a self,
        customer: CustomerId,
        card_token: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<CardToken, PaymentError>> {
        Box::pin(self.register(customer, card_token, idempotency_key))
    }

    fn authorize_hold<'a>(
        &'a self,
        token: &'a str,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<ProviderRef, PaymentError>> {
        Box::pin(self.payment_intent(
            token,
            amount_cents,
            "manual",
            "requires_capture",
            idempotency_key,
        ))
    }

    fn capture<'a>(
        &'a self,
        hold: &'a ProviderRef,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        Box::pin(async move {
            let intent = stripe_id(&hold.0)?;
            let form = Form::new().field("amount_to_capture", amount_cents);
            self.client
                .post(
                    &format!("/v1/payment_intents/{intent}/capture"),
                    &form,
                    idempotency_key,
                )
                .await
                .map(drop)
        })
    }

    fn void<'a>(
        &'a self,
        hold: &'a ProviderRef,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        Box::pin(async move {
            let intent = stripe_id(&hold.0)?;
            self.client
                .post(
                    &format!("/v1/payment_intents/{intent}/cancel"),
                    &Form::new(),
                    idempotency_key,
                )
                .await
                .map(drop)
        })
    }

    fn charge<'a>(
        &'a self,
        token: &'a str,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<ProviderRef, PaymentError>> {
        Box::pin(self.payment_intent(
            token,
            amount_cents,
            "automatic",
            "succeeded",
            idempotency_key,
        ))
    }

    fn refund<'a>(
        &'a self,
        payment: &'a ProviderRef,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        Box::pin(async move {
            // The operation goes in metadata: Stripe's own `reason` takes only its three
            // values (and localstripe refuses it altogether).
            let form = Form::new()
                .field("payment_intent", stripe_id(&payment.0)?)
                .field("amount", amount_cents)
                .field("metadata[operation]", idempotency_key);
            self.client
                .post("/v1/refunds", &form, idempotency_key)
                .await
                .map(drop)
        })
    }

    fn payments_between<'a>(
        &'a self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, Result<Option<Vec<ProviderPayment>>, PaymentError>> {
        Box::pin(async move { self.list_between(from, to).await.map(Some) })
    }

    fn forget_cards<'a>(
        &'a self,
        tokens: &'a [String],
    ) -> BoxFuture<'a, Result<u64, PaymentError>> {
        Box::pin(self.forget(tokens))
    }
}
