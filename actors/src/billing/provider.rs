//! The port to the card processor, shaped like a real acquirer's adapter (Cielo, Stone, Stripe):
//! tokenize once, then authorize, capture, void, sell and refund by reference, every call
//! carrying an idempotency key so that a retry after a timeout or a crash never moves money
//! twice.

use serde::{Deserialize, Serialize};

use crate::domain::{CardBrand, CardExpiry, CardNumber, Cvc};
use crate::ids::CustomerId;
use crate::ports::BoxFuture;

/// A card as typed by the customer, validated; it lives only for the tokenization call (its
/// `Debug` shows neither the number nor the CVC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardDetails {
    /// The card number.
    pub number: CardNumber,
    /// The expiry printed on the card.
    pub expiry: CardExpiry,
    /// The security code.
    pub cvc: Cvc,
    /// The name printed on the card.
    pub holder_name: String,
}

/// What the processor gives back for a card: a token to charge it by, and what may be shown.
/// Its `Debug` does not show the token.
#[derive(Clone, PartialEq, Eq)]
pub struct CardToken {
    /// The processor's opaque token (random, never derived from the number).
    pub token: String,
    /// The card scheme.
    pub brand: CardBrand,
    /// The last four digits.
    pub last4: String,
    /// Expiry month, 1 to 12.
    pub exp_month: u32,
    /// Four-digit expiry year.
    pub exp_year: i32,
}

impl std::fmt::Debug for CardToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardToken")
            .field("token", &"<redacted>")
            .field("brand", &self.brand)
            .field("last4", &self.last4)
            .field("exp_month", &self.exp_month)
            .field("exp_year", &self.exp_year)
            .finish()
    }
}

/// The processor's reference of a hold or a payment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProviderRef(pub String);

/// Why the processor did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PaymentError {
    /// The issuer refused.
    #[error("declined: {reason}")]
    Declined {
        /// The issuer's reason.
        reason: String,
    },
    /// Not enough funds or limit.
    #[error("insufficient funds")]
    InsufficientFunds,
    /// The token (or the hold or payment reference) is unknown.
    #[error("unknown token or reference")]
    UnknownToken,
    /// A capture asks for more than the hold.
    #[error("the amount exceeds the hold")]
    ExceedsHold,
    /// The request does not fit the payment's state (capture of a voided hold, refund above
    /// what was paid, an idempotency key reused with other parameters).
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: String,
    },
    /// The processor could not be reached or failed; safe to retry with the same key.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// One payment as the processor records it, for reconciliation with the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderPayment {
    /// The processor's reference (what the ledger keeps as `provider_ref`).
    pub reference: String,
    /// When the processor created it.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The amount authorized (a hold) or sold, in centavos.
    pub authorized_cents: i64,
    /// The amount taken.
    pub captured_cents: i64,
    /// The amount returned.
    pub refunded_cents: i64,
    /// Whether the authorization was given back whole.
    pub voided: bool,
}

/// One payment's state as the processor tells it when asked about it (after a notification
/// that names the payment without saying what changed, as Mercado Pago's do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentState {
    /// Its amounts, as reconciliation reads them.
    pub payment: ProviderPayment,
    /// Whether the cardholder disputed it (a chargeback, a mediation).
    pub disputed: bool,
    /// The processor's word on its state (Mercado Pago's `status_detail`), kept as the reason
    /// of what is recorded from it.
    pub detail: Option<String>,
}

/// A card processor adapter. Object-safe (methods return boxed futures) so that the system can
/// choose the adapter from the configuration. For every method, calling again with the same
/// idempotency key returns the first call's result without acting again.
pub trait PaymentProvider: Send + Sync + 'static {
    /// Whether the provider keeps its records in the billing store itself (the sandbox). Then
    /// an operation's intent need not be made durable before the call: the call's records and
    /// the ledger entry that follows are flushed together, so a crash loses both or neither.
    /// A real processor remembers a call on its side, so the intent must be on our disk first.
    fn shares_store(&self) -> bool {
        false
    }

    /// Whether the provider takes raw card details ([`PaymentProvider::tokenize`]). Only the
    /// sandbox does: with a real provider the card number never reaches this server, the app
    /// tokenizes it with the provider's SDK and sends the token
    /// ([`PaymentProvider::register_card`]).
    fn takes_card_details(&self) -> bool {
        false
    }

    /// Exchanges card details for a token; succeeds for any valid card (issuers decline at
    /// authorization, not here). Only where [`PaymentProvider::takes_card_details`].
    fn tokenize<'a>(
        &'a self,
        card: CardDetails,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<CardToken, PaymentError>>;

    /// Makes a card the app tokenized with the provider's SDK (`card_token`: a Stripe
    /// PaymentMethod id, a Mercado Pago card token) chargeable off-session for `customer` (at
    /// Stripe: attached to the customer's Stripe Customer), and answers the token holds are
    /// placed with and what may be shown of the card, from the provider's records.
    fn register_card<'a>(
        &'a self,
        customer: CustomerId,
        card_token: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<CardToken, PaymentError>> {
        let _ = (customer, card_token, idempotency_key);
        Box::pin(async {
            Err(PaymentError::InvalidRequest {
                reason: "this provider takes the card's details, not a token".into(),
            })
        })
    }

    /// Reserves `amount_cents` on the card.
    fn authorize_hold<'a>(
        &'a self,
        token: &'a str,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<ProviderRef, PaymentError>>;

    /// Takes up to the held amount; the rest of the hold is released.
    fn capture<'a>(
        &'a self,
        hold: &'a ProviderRef,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>>;

    /// Gives the whole hold back.
    fn void<'a>(
        &'a self,
        hold: &'a ProviderRef,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>>;

    /// A direct sale on the card (amounts beyond a hold).
    fn charge<'a>(
        &'a self,
        token: &'a str,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<ProviderRef, PaymentError>>;

    /// Returns money from a captured hold or a sale.
    fn refund<'a>(
        &'a self,
        payment: &'a ProviderRef,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>>;

    /// Forgets the cards of `tokens` (a customer's erasure): whatever the processor keeps of
    /// them (brand, last four digits, expiry, holder) and their link to past payments, whose
    /// amounts stay. Idempotent, durable before it answers; how many records changed.
    fn forget_cards<'a>(&'a self, tokens: &'a [String])
    -> BoxFuture<'a, Result<u64, PaymentError>>;

    /// The payments the processor created in `[from, to)`, for reconciliation; `None` when the
    /// adapter cannot list them (then reconciliation says so instead of guessing).
    fn payments_between<'a>(
        &'a self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, Result<Option<Vec<ProviderPayment>>, PaymentError>> {
        let _ = (from, to);
        Box::pin(async { Ok(None) })
    }

    /// The state of the payment `reference` at the processor, `None` when it has no such
    /// payment; by default `None`, for an adapter whose webhooks carry the state themselves
    /// (Stripe's events) and so never need to ask.
    fn payment<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Option<PaymentState>, PaymentError>> {
        let _ = reference;
        Box::pin(async { Ok(None) })
    }

    /// Forgets at most `batch` idempotency keys past the processor's retention; how many. A
    /// real processor purges its own keys, so by default there is nothing to do here.
    fn purge_expired(&self, batch: usize) -> BoxFuture<'_, Result<usize, PaymentError>> {
        let _ = batch;
        Box::pin(async { Ok(0) })
    }
}

/// The brand for its [`CardBrand::as_str`] name (stored records keep brands as text, since
/// `CardBrand` has no serde form of its own).
pub(crate) fn brand_from_str(name: &str) -> CardBrand {
    [
        CardBrand::Visa,
        CardBrand::Mastercard,
        CardBrand::Amex,
        CardBrand::Elo,
        CardBrand::Hipercard,
        CardBrand::Diners,
    ]
    .into_iter()
    .find(|brand| brand.as_str() == name)
    .unwrap_or(CardBrand::Other)
}
