//! What customers receive from the API (raw input), store (records) and answer (views).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Locale;
use crate::ids::{CustomerId, ReservationId};

/// A card as typed in a form: raw, validated by the service.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct CardInput {
    /// The card number, digits optionally grouped.
    pub number: String,
    /// Expiry month, 1 to 12.
    pub exp_month: u32,
    /// Four-digit expiry year.
    pub exp_year: i32,
    /// The security code.
    pub cvc: String,
    /// The name printed on the card.
    pub holder_name: String,
}

impl fmt::Debug for CardInput {
    /// The number and the CVC never reach a log, even from a debug print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardInput")
            .field("number", &"<redacted>")
            .field("exp_month", &self.exp_month)
            .field("exp_year", &self.exp_year)
            .field("cvc", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A registration as sent by the client: every field raw.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct NewCustomer {
    /// Full name.
    pub name: String,
    /// CPF, printed form or digits.
    pub cpf: String,
    /// CNH registration number.
    pub cnh: String,
    /// E-mail, the login.
    pub email: String,
    /// Brazilian mobile number.
    pub phone: String,
    /// The chosen password.
    pub password: String,
    /// The card rentals are paid with.
    pub card: PaymentCard,
    /// The language of the messages sent to the customer (`pt-BR` when absent).
    pub locale: Option<String>,
}

/// The card of a registration or of a profile change (a JSON string is a token, an object
/// the details).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum PaymentCard {
    /// The card as typed: only the sandbox provider takes it.
    Details(CardInput),
    /// The token of a card the app tokenized with the payment provider's SDK (a Stripe
    /// PaymentMethod id, a Mercado Pago card token): the number never reaches this server.
    Token(String),
}

impl From<CardInput> for PaymentCard {
    fn from(card: CardInput) -> Self {
        PaymentCard::Details(card)
    }
}

impl fmt::Debug for PaymentCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PaymentCard::Details(card) => card.fmt(f),
            PaymentCard::Token(_) => f.write_str("Token(<redacted>)"),
        }
    }
}

impl fmt::Debug for NewCustomer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewCustomer")
            .field("email", &self.email)
            .field("card", &self.card)
            .finish_non_exhaustive()
    }
}

/// Changes to a profile; absent fields stay as they are.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CustomerPatch {
    /// A new name.
    pub name: Option<String>,
    /// A new e-mail (the login changes with it).
    pub email: Option<String>,
    /// A new mobile number.
    pub phone: Option<String>,
    /// A new card, tokenized in place of the old one.
    pub card: Option<PaymentCard>,
    /// A new password.
    pub password: Option<String>,
    /// A new language for messages.
    pub locale: Option<String>,
    /// The password in use: required to change the e-mail or the password, so that a stolen
    /// access token cannot take the account over.
    pub current_password: Option<String>,
}

impl fmt::Debug for CustomerPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerPatch")
            .field("name", &self.name)
            .field("email", &self.email)
            .field("phone", &self.phone)
            .field("card", &self.card)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("locale", &self.locale)
            .field(
                "current_password",
                &self.current_password.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Whether an account waits for its e-mail confirmation, is in use or was erased (LGPD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    /// Registered, but the address has not been confirmed: it may log in, not book.
    PendingConfirmation,
    /// In use.
    Active,
    /// Personal data removed; the id stays for the reservations and the ledger.
    Erased,
}

/// The card on file, as it may be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardView {
    /// The scheme (`visa`, `mastercard`, `elo`, …).
    pub brand: String,
    /// The last four digits.
    pub last4: String,
    /// Expiry month.
    pub exp_month: u32,
    /// Expiry year.
    pub exp_year: i32,
}

/// A customer as the API shows it: CPF and CNH masked, no password, no card token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Customer {
    /// The id (UUIDv7).
    pub id: CustomerId,
    /// The name ("erased customer" once erased).
    pub name: String,
    /// The CPF masked ("***.982.247-**"); absent once erased.
    pub cpf: Option<String>,
    /// The CNH masked ("*******9831"); absent once erased.
    pub cnh: Option<String>,
    /// The e-mail; absent once erased.
    pub email: Option<String>,
    /// The mobile number in E.164; absent once erased.
    pub phone: Option<String>,
    /// The card on file; absent once erased.
    pub card: Option<CardView>,
    /// Pending confirmation, active or erased.
    pub status: CustomerStatus,
    /// The language of the messages sent to the customer.
    pub locale: Locale,
    /// Whether a changed address waits for its confirmation (the old one stays the login
    /// meanwhile).
    pub email_change_pending: bool,
    /// What the customer owes from rentals whose cost the card refused beyond the hold;
    /// booking is refused until it is paid.
    pub outstanding_cents: i64,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One page of a list of this service, continuing after a CustomerId.
pub type Page<T> = crate::page::Page<T, CustomerId>;

/// The card as stored: the processor's token and what may be shown, never the number.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredCard {
    pub(crate) token: String,
    pub(crate) brand: String,
    pub(crate) last4: String,
    pub(crate) exp_month: u32,
    pub(crate) exp_year: i32,
}

/// An account's stored state. New variants go last: records are stored with bincode, which
/// numbers the variants in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StoredStatus {
    Active,
    Erased,
    /// Registered while `notify.require_email_confirmation` was on, not confirmed yet.
    PendingConfirmation,
}

/// A customer in memory, its personal fields in the clear (on disk they are sealed: see
/// `stored.rs`). Personal fields are `Option` because erasure removes them while the record
/// stays. No `Debug`, no `Serialize`: it holds documents, a password hash and a card token.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CustomerRecord {
    pub(crate) id: CustomerId,
    /// The vault slot of the customer's own key; `None` once erased.
    pub(crate) slot: Option<u64>,
    pub(crate) name: String,
    /// The 11 digits.
    pub(crate) cpf: Option<String>,
    /// The 11 digits.
    pub(crate) cnh: Option<String>,
    /// Lower case.
    pub(crate) email: Option<String>,
    /// E.164.
    pub(crate) phone: Option<String>,
    /// PHC string (argon2id).
    pub(crate) password_hash: Option<String>,
    pub(crate) card: Option<StoredCard>,
    pub(crate) status: StoredStatus,
    /// What the card refused, per reservation (the customer's outstanding balance). Written
    /// only by the customer's actor, so concurrent settlements and payments cannot lose an
    /// amount.
    pub(crate) outstanding: Vec<(ReservationId, i64)>,
    /// Kept in its own table (`customer_locales`), not in the sealed profile: records stored
    /// before it existed stay readable, and their customers read Portuguese.
    pub(crate) locale: Locale,
    /// Whether a changed address waits for confirmation (read from `confirmations`).
    pub(crate) email_change_pending: bool,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

impl CustomerRecord {
    /// The outstanding balance, in centavos.
    pub(crate) fn outstanding_cents(&self) -> i64 {
        self.outstanding.iter().map(|(_, cents)| cents).sum()
    }
}

/// A validated change, ready to store: the password already hashed, the card tokenized.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) card: Option<StoredCard>,
    pub(crate) password_hash: Option<String>,
    pub(crate) locale: Option<Locale>,
}
