//! The Mercado Pago adapter of the [`PaymentProvider`] port, on the Payments, Customers,
//! Cards and Card tokens APIs (`https://api.mercadopago.com`, Checkout API / "Checkout
//! Transparente").
//!
//! - **Cards.** The app tokenizes the card with Mercado Pago's SDK (CardForm or the Card
//!   Payment Brick, with the account's public key) and sends the token: no card number reaches
//!   this server. [`PaymentProvider::register_card`] saves it on the Mercado Pago customer of
//!   our customer (`POST /v1/customers/{id}/cards` with the token), and brand, last four digits
//!   and expiry come from that answer.
//! - **Charging a saved card later.** Mercado Pago's card tokens are single-use (a token is
//!   spent by the first payment or card that uses it), so the token from the app cannot be
//!   charged again. A payment on a saved card is made, as Mercado Pago's "Automatic payments /
//!   recurring charges (card on file)" guide has sellers do for charges the customer is not
//!   present for, with a fresh token made on the server from the saved card
//!   (`POST /v1/card_tokens` with `card_id` and `customer_id`, authenticated by the access
//!   token, no security code), and the payment names the customer as payer
//!   (`payer: {type: "customer", id}`). So every hold and charge is two calls: a token, then
//!   the payment.
//! - **Which Mercado Pago customer.** Our token records the customer, the card and its
//!   payment method (see `card.rs`), so nothing is stored here. At registration the customer is
//!   found again by a pseudonymous e-mail derived from our customer id (`payer_email`:
//!   `GET /v1/customers/search?email=`), and created if absent: a customer's second card joins
//!   the first, and Mercado Pago learns no personal data from us beyond the card.
//! - **Hold, capture, void, charge, refund.** A hold is a payment with `capture: false`
//!   (status `authorized`); the capture is `PUT /v1/payments/{id}` with `capture: true` and
//!   the `transaction_amount` to take (less than the reserve releases the rest); the void is
//!   the same `PUT` with `status: "cancelled"`; a charge beyond the hold is a payment with
//!   `capture: true`; a refund is `POST /v1/payments/{id}/refunds` with the `amount`. Payments
//!   are sent with `binary_mode: true`, so that Mercado Pago decides at once (approved or
//!   rejected) instead of leaving a payment `in_process` a rental cannot wait for.
//! - **Idempotency.** Every write that creates or changes something carries
//!   `X-Idempotency-Key` derived from the port's key (the payment itself the key as is, the
//!   calls before it the key with a suffix), so a retry after a timeout gets the first call's
//!   answer and never a second payment. Deleting a saved card (an erasure) is idempotent of
//!   itself.
//! - **Reading back.** A notification names a payment without its state, so the state is read
//!   with `GET /v1/payments/{id}`; reconciliation lists a day's payments with
//!   `GET /v1/payments/search` (see `records.rs`).
//! - **Amounts** are integer centavos on our side and decimal reais at Mercado Pago; see
//!   `money.rs`. **Refusals** are mapped in `status.rs`, HTTP failures in `client.rs`, and the
//!   answers read (and their ids checked) in `answers.rs`.
//! - **A reserve lapses** if it is not captured within Mercado Pago's capture window (5 days
//!   from its creation in Brazil, by the capture guide): a booking made further ahead holds a
//!   reserve that may be gone when the rental ends.
//!
//! Sources (Mercado Pago Developers, Brazil): "Capture authorized payment" and "Reserve,
//! capture and cancel" (`/developers/en/docs/checkout-api/payment-management/…`), "Create
//! recurring charges" (`/developers/en/docs/automatic-payments/recurring-charges`), "Save cards"
//! (`/developers/en/docs/checkout-api-payments/how-tos/payment-approval/saved-cards`), and the
//! payment creation results table (`/developers/en/docs/checkout-api/response-handling/
//! collection-results`).

mod answers;
mod card;
mod client;
#[cfg(feature = "testing")]
pub mod fake;
mod money;
mod records;
mod status;
#[cfg(test)]
mod tests;

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::provider::{
    CardDetails, CardToken, PaymentError, PaymentProvider, PaymentState, ProviderPayment,
    ProviderRef,
};
use crate::config::BillingConfig;
use crate::ids::CustomerId;
use crate::ports::BoxFuture;
use answers::{
    Identified, Payment, Refund, SavedCardAnswer, Search, checked_id, decode_error, payment_ref,
};
use card::{SavedCard, is_identifier};
use client::{Client, ClientError};
use status::Expected;

/// The domain of the pseudonymous e-mails our customers have at Mercado Pago (reserved by
/// RFC 2606, so it can never reach anyone).
const PAYER_EMAIL_DOMAIN: &str = "customers.ev-rental.invalid";

/// The Mercado Pago adapter.
pub struct MercadoPagoProvider {
    client: Client,
}

impl std::fmt::Debug for MercadoPagoProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MercadoPagoProvider")
            .finish_non_exhaustive()
    }
}

impl MercadoPagoProvider {
    /// The adapter of the account of `access_token` at `api_base`, each call bounded by
    /// `timeout`.
    pub fn new(
        api_base: &str,
        access_token: &str,
        timeout: Duration,
    ) -> Result<MercadoPagoProvider, PaymentError> {
        let client = Client::new(api_base, access_token, timeout).map_err(PaymentError::from)?;
        Ok(MercadoPagoProvider { client })
    }

    /// The adapter the billing configuration describes.
    pub fn from_config(config: &BillingConfig) -> Result<MercadoPagoProvider, PaymentError> {
        MercadoPagoProvider::new(
            &config.mercadopago_api_base,
            &config.mercadopago_access_token,
            Duration::from_secs(config.provider_timeout_s.max(1)),
        )
    }

    /// The Mercado Pago customer of `customer`: found by its e-mail, or created.
    async fn customer_id(&self, customer: CustomerId, key: &str) -> Result<String, PaymentError> {
        let email = payer_email(customer);
        if let Some(id) = self.find_customer(&email).await? {
            return Ok(id);
        }
        let created: Result<Identified, ClientError> = self
            .client
            .call(
                Method::POST,
                "/v1/customers",
                Some(&json!({ "email": email, "description": "ev-rental customer" })),
                Some(&format!("{key}:customer")),
            )
            .await;
        match created {
            Ok(customer) => checked_id(customer.id),
            // Created meanwhile by a concurrent registration: it is there now.
            Err(ClientError::Status { status: 400, .. }) => self
                .find_customer(&email)
                .await?
                .ok_or_else(|| PaymentError::InvalidRequest {
                    reason: "Mercado Pago refused to create the customer".into(),
                }),
            Err(error) => Err(error.into()),
        }
    }

    async fn find_customer(&self, email: &str) -> Result<Option<String>, PaymentError> {
        let path = format!("/v1/customers/search?email={}", email.replace('@', "%40"));
        let found: Search = self.client.call(Method::GET, &path, None, None).await?;
        found
            .results
            .into_iter()
            .next()
            .map(|customer| checked_id(customer.id))
            .transpose()
    }

    /// A payment of `cents` on the saved card of `token`: a reserve (`capture: false`) or a
    /// sale.
    async fn pay(
        &self,
        token: &str,
        cents: i64,
        key: &str,
        capture: bool,
    ) -> Result<ProviderRef, PaymentError> {
        let card = SavedCard::decode(token).ok_or(PaymentError::UnknownToken)?;
        let amount = amount(cents)?;
        let one_use: Identified = self
            .client
            .call(
                Method::POST,
                "/v1/card_tokens",
                Some(&json!({ "card_id": card.card_id, "customer_id": card.customer_id })),
                Some(&format!("{key}:token")),
            )
            .await?;
        let mut body = json!({
            "transaction_amount": amount,
            "token": one_use.id.to_string(),
            "installments": 1,
            "payment_method_id": card.payment_method_id,
            "payer": { "type": "customer", "id": card.customer_id },
            "capture": capture,
            "binary_mode": true,
            "description": if capture { "ev-rental charge" } else { "ev-rental rental hold" },
        });
        if key.len() <= 64 {
            body["external_reference"] = Value::String(key.to_owned());
        }
        let payment: Payment = self
            .client
            .call(Method::POST, "/v1/payments", Some(&body), Some(key))
            .await?;
        let expected = if capture {
            Expected::Approved
        } else {
            Expected::Authorized
        };
        let reference = payment_ref(&payment.id)?;
        match status::check(&payment.status, &payment.status_detail, expected) {
            Ok(()) => Ok(reference),
            Err(refused) => {
                if matches!(payment.status.as_str(), "in_process" | "pending") {
                    // Refused for us, so it must not go through later: best effort, a failure
                    // leaves it to expire (a reserve lapses uncaptured) and is logged.
                    if let Err(error) = self.cancel(&reference, &format!("{key}:cancel")).await {
                        tracing::warn!(%error, "a Mercado Pago payment under review was not cancelled");
                    }
                }
                Err(refused)
            }
        }
    }

    async fn update(
        &self,
        payment: &ProviderRef,
        body: Value,
        key: &str,
        expected: Expected,
    ) -> Result<(), PaymentError> {
        let id = path_id(payment)?;
        let answer: Payment = self
            .client
            .call(
                Method::PUT,
                &format!("/v1/payments/{id}"),
                Some(&body),
                Some(key),
            )
            .await?;
        status::check(&answer.status, &answer.status_detail, expected)
    }

    async fn cancel(&self, payment: &ProviderRef, key: &str) -> Result<(), PaymentError> {
        self.update(
            payment,
            json!({ "status": "cancelled" }),
            key,
            Expected::Cancelled,
        )
        .await
    }

    async fn register(
        &self,
        customer: CustomerId,
        card_token: &str,
        key: &str,
    ) -> Result<CardToken, PaymentError> {
        let customer_id = self.customer_id(customer, key).await?;
        let saved: SavedCardAnswer = self
            .client
            .call(
                Method::POST,
                &format!("/v1/customers/{customer_id}/cards"),
                Some(&json!({ "token": card_token })),
                Some(&format!("{key}:card")),
            )
            .await?;
        let card_id = checked_id(saved.id)?;
        let method = saved.payment_method.id;
        if !is_identifier(&method) || !(1..=12).contains(&saved.expiration_month) {
            return Err(decode_error(
                "a saved card without a usable payment method or expiry",
            ));
        }
        Ok(CardToken {
            token: SavedCard {
                customer_id,
                card_id,
                payment_method_id: method.clone(),
            }
            .encode(),
            brand: card::brand(&method),
            last4: saved.last_four_digits,
            exp_month: saved.expiration_month,
            exp_year: saved.expiration_year,
        })
    }

    async fn forget(&self, tokens: &[String]) -> Result<u64, PaymentError> {
        let mut forgotten = 0;
        for card in tokens.iter().filter_map(|token| SavedCard::decode(token)) {
            let path = format!("/v1/customers/{}/cards/{}", card.customer_id, card.card_id);
            // No idempotency key: a delete is idempotent by itself (a repeat finds nothing and
            // answers 404), and a remembered answer would count the card as forgotten twice.
            match self
                .client
                .call::<Value>(Method::DELETE, &path, None, None)
                .await
            {
                Ok(_) => forgotten += 1,
                // Deleted before (a repeated erasure): nothing left to forget.
                Err(ClientError::Status { status: 404, .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(forgotten)
    }
}

/// The pseudonymous e-mail of our customer at Mercado Pago, which requires one per customer.
fn payer_email(customer: CustomerId) -> String {
    format!("{customer}@{PAYER_EMAIL_DOMAIN}")
}

fn amount(cents: i64) -> Result<Value, PaymentError> {
    money::to_json(cents).ok_or_else(|| PaymentError::InvalidRequest {
        reason: format!("{cents} centavos is not an amount Mercado Pago can be asked for"),
    })
}

/// The id of a payment in a path: Mercado Pago's payment ids are numbers.
fn path_id(payment: &ProviderRef) -> Result<&str, PaymentError> {
    let id = payment.0.as_str();
    if !id.is_empty() && id.len() <= 24 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id)
    } else {
        Err(PaymentError::UnknownToken)
    }
}

impl PaymentProvider for MercadoPagoProvider {
    fn tokenize<'a>(
        &'a self,
        _card: CardDetails,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<CardToken, PaymentError>> {
        Box::pin(async {
            Err(PaymentError::InvalidRequest {
                reason: "Mercado Pago takes a card token made by its SDK in the app, never \
                         the card's details"
                    .into(),
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
        Box::pin(self.pay(token, amount_cents, idempotency_key, false))
    }

    fn capture<'a>(
        &'a self,
        hold: &'a ProviderRef,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        Box::pin(async move {
            let body = json!({ "capture": true, "transaction_amount": amount(amount_cents)? });
            self.update(hold, body, idempotency_key, Expected::Approved)
                .await
        })
    }

    fn void<'a>(
        &'a self,
        hold: &'a ProviderRef,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        Box::pin(self.cancel(hold, idempotency_key))
    }

    fn charge<'a>(
        &'a self,
        token: &'a str,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<ProviderRef, PaymentError>> {
        Box::pin(self.pay(token, amount_cents, idempotency_key, true))
    }

    fn refund<'a>(
        &'a self,
        payment: &'a ProviderRef,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        Box::pin(async move {
            let id = path_id(payment)?;
            let refund: Refund = self
                .client
                .call(
                    Method::POST,
                    &format!("/v1/payments/{id}/refunds"),
                    Some(&json!({ "amount": amount(amount_cents)? })),
                    Some(idempotency_key),
                )
                .await?;
            // `in_process`: accepted, the issuer completes it later (Mercado Pago's refund
            // statuses); only a refusal is an error.
            match refund.status.as_str() {
                "approved" | "in_process" | "authorized" | "" => Ok(()),
                other => Err(PaymentError::InvalidRequest {
                    reason: format!("Mercado Pago answered the refund {other}"),
                }),
            }
        })
    }

    fn forget_cards<'a>(
        &'a self,
        tokens: &'a [String],
    ) -> BoxFuture<'a, Result<u64, PaymentError>> {
        Box::pin(self.forget(tokens))
    }

    fn payment<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Option<PaymentState>, PaymentError>> {
        Box::pin(self.read_payment(reference))
    }

    fn payments_between<'a>(
        &'a self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, Result<Option<Vec<ProviderPayment>>, PaymentError>> {
        Box::pin(async move { self.list_payments(from, to).await.map(Some) })
    }
}
