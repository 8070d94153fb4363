//! The customers routes' wire types: what a registration and a profile change may carry, and
//! how a customer is shown. Every `Debug` leaves secrets and documents out.

use std::fmt;

use actors::customers::{CardInput, Customer as CustomerView, CustomerStatus, PaymentCard};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::redact::{self, Redacted};

// The patterns state the shape the customers service accepts (surrounding white space is
// trimmed); check digits, the Luhn sum, a card not yet expired and a mobile area code are
// checked beyond them and answered 422.

/// A card as entered. The number and CVC go to the payment processor and are never stored.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "number": "4111 1111 1111 1111", "exp_month": 12, "exp_year": 2030, "cvc": "123",
    "holder_name": "MARIA DA SILVA"
}))]
pub struct CardBody {
    /// The card number: 12 to 19 digits passing the Luhn check, in groups separated by single
    /// spaces or hyphens.
    #[schema(
        pattern = r"^[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[0-9]+([ -][0-9]+)*[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub number: String,
    /// Expiry month, 1 to 12.
    #[schema(minimum = 1, maximum = 12)]
    #[serde(deserialize_with = "crate::extract::whole::integer")]
    pub exp_month: u32,
    /// Expiry year, four digits; with the month, not in the past.
    #[schema(minimum = 1000, maximum = 9999)]
    #[serde(deserialize_with = "crate::extract::whole::integer")]
    pub exp_year: i32,
    /// The security code: 3 digits, 4 for American Express.
    #[schema(
        pattern = r"^[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[0-9]{3,4}[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub cvc: String,
    /// The name on the card, as embossed (letters, digits and spaces).
    pub holder_name: String,
}

impl fmt::Debug for CardBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardBody")
            .field("number", &Redacted)
            .field("exp_month", &self.exp_month)
            .field("exp_year", &self.exp_year)
            .field("cvc", &Redacted)
            .field("holder_name", &Redacted)
            .finish()
    }
}

impl From<CardBody> for CardInput {
    fn from(card: CardBody) -> Self {
        CardInput {
            number: card.number,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            cvc: card.cvc,
            holder_name: card.holder_name,
        }
    }
}

/// A card tokenized by the app with the payment provider's SDK: a Stripe PaymentMethod id
/// (`pm_…`) or a Mercado Pago card token. The number never reaches this server.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "pm_1QdWyz2eZvKYlo2C"}))]
pub struct CardTokenBody {
    /// The provider's token of the card.
    #[schema(min_length = 1, max_length = 255, pattern = r"^[A-Za-z0-9_.:-]+$")]
    pub token: String,
}

/// The card rentals are paid with: with Stripe or Mercado Pago, the token the app got from
/// the provider's SDK; with the sandbox provider, the card's details.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum CardSource {
    /// A token from the provider's SDK.
    Token(CardTokenBody),
    /// The card as typed (the sandbox provider only).
    Details(CardBody),
}

impl fmt::Debug for CardSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardSource::Token(_) => f.write_str("Token(<redacted>)"),
            CardSource::Details(card) => card.fmt(f),
        }
    }
}

impl From<CardSource> for PaymentCard {
    fn from(card: CardSource) -> Self {
        match card {
            CardSource::Token(body) => PaymentCard::Token(body.token),
            CardSource::Details(card) => PaymentCard::Details(card.into()),
        }
    }
}

/// A registration.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Maria da Silva", "cpf": "529.982.247-25", "cnh": "79143829831",
    "email": "maria@example.com", "phone": "+55 48 99999-1234", "password": "s3nha-segura",
    "card": {"number": "4111 1111 1111 1111", "exp_month": 12, "exp_year": 2030, "cvc": "123",
              "holder_name": "MARIA DA SILVA"}
}))]
pub struct Registration {
    /// Full name: 2 to 120 letters, spaces, apostrophes, hyphens and dots.
    pub name: String,
    /// CPF, with or without its punctuation; its check digits must match.
    #[schema(
        pattern = r"^[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]{2}[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub cpf: String,
    /// Driving licence (CNH) number: 11 digits, the last two check digits.
    #[schema(
        pattern = r"^[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[0-9]{11}[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub cnh: String,
    /// E-mail, also the login; at most 254 characters.
    pub email: String,
    /// Brazilian mobile number: area code and 9 digits starting with 9, `+55` optional.
    pub phone: String,
    /// 8 to 128 characters, not one repeated character, with a letter and a digit.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// The card rentals are charged to.
    pub card: CardSource,
    /// The language of the e-mails sent to the customer: `pt-BR` (when absent) or `en`.
    #[schema(example = "pt-BR")]
    pub locale: Option<String>,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("name", &self.name)
            .field("cpf", &Redacted)
            .field("cnh", &Redacted)
            .field("email", &self.email)
            .field("phone", &Redacted)
            .field("password", &Redacted)
            .field("card", &self.card)
            .field("locale", &self.locale)
            .finish()
    }
}

/// The changes a customer may make to their profile; any other field is refused (400). Each
/// field follows the rule of the same field of a registration.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "+55 48 98888-4321"}))]
pub struct ProfileChanges {
    /// Full name.
    pub name: Option<String>,
    /// E-mail (also the login). With e-mail confirmation on, the new address gets a code and
    /// becomes the login and the contact only once the code is confirmed
    /// (`POST /v1/customers/me/email-confirmation`); until then the old one stays.
    pub email: Option<String>,
    /// Mobile number.
    pub phone: Option<String>,
    /// A new card.
    pub card: Option<CardSource>,
    /// A new password. Every other session of the account ends; access tokens already
    /// issued elsewhere stop working when they expire (`expires_in`, 15 minutes by default).
    #[schema(min_length = 8, max_length = 128)]
    pub password: Option<String>,
    /// The password in use: required with `email` or `password`.
    #[schema(max_length = 128)]
    pub current_password: Option<String>,
    /// The language of the e-mails: `pt-BR` or `en`.
    pub locale: Option<String>,
}

// By hand, and non-exhaustive: a field added later stays out of the output until someone
// decides it is not a secret.
impl fmt::Debug for ProfileChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileChanges")
            .field("name", &self.name)
            .field("email", &self.email)
            .field("phone", &redact::optional(&self.phone))
            .field("card", &self.card)
            .field("password", &redact::optional(&self.password))
            .field(
                "current_password",
                &redact::optional(&self.current_password),
            )
            .field("locale", &self.locale)
            .finish()
    }
}

/// The card on file.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardDto {
    /// `visa`, `mastercard`, `amex`, `elo`, `hipercard`, `diners` or `other`.
    pub brand: String,
    /// The last four digits.
    pub last4: String,
    /// Expiry month.
    pub exp_month: u32,
    /// Expiry year.
    pub exp_year: i32,
}

/// A customer. CPF and CNH are masked; after erasure the personal fields are absent.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDto {
    /// Id.
    #[schema(format = Uuid)]
    pub id: String,
    /// Full name.
    pub name: String,
    /// Masked CPF.
    pub cpf: Option<String>,
    /// Masked CNH.
    pub cnh: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Mobile number in E.164.
    pub phone: Option<String>,
    /// The card on file.
    pub card: Option<CardDto>,
    /// `pending_confirmation` (registered, the e-mail not confirmed yet: it may not book),
    /// `active` or `erased`.
    #[schema(value_type = String, example = "active")]
    pub status: &'static str,
    /// The language of the e-mails: `pt-BR` or `en`.
    #[schema(value_type = String, example = "pt-BR")]
    pub locale: &'static str,
    /// Whether a changed e-mail address waits for its confirmation code (the address shown
    /// stays the login until then).
    pub email_change_pending: bool,
    /// What the customer owes from rentals whose cost the card refused beyond the hold, in
    /// centavos. While it is above 0, bookings answer 402 `outstanding-balance`.
    pub outstanding_cents: i64,
    /// Registered at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

impl From<CustomerView> for CustomerDto {
    fn from(customer: CustomerView) -> Self {
        CustomerDto {
            id: customer.id.to_string(),
            name: customer.name,
            cpf: customer.cpf,
            cnh: customer.cnh,
            email: customer.email,
            phone: customer.phone,
            card: customer.card.map(|card| CardDto {
                brand: card.brand,
                last4: card.last4,
                exp_month: card.exp_month,
                exp_year: card.exp_year,
            }),
            status: match customer.status {
                CustomerStatus::PendingConfirmation => "pending_confirmation",
                CustomerStatus::Active => "active",
                CustomerStatus::Erased => "erased",
            },
            locale: customer.locale.as_str(),
            email_change_pending: customer.email_change_pending,
            outstanding_cents: customer.outstanding_cents,
            created_at: customer.created_at,
            updated_at: customer.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> CardBody {
        CardBody {
            number: "4111 1111 1111 1111".into(),
            exp_month: 12,
            exp_year: 2030,
            cvc: "987".into(),
            holder_name: "MARIA DA SILVA".into(),
        }
    }

    #[test]
    fn debug_output_never_shows_card_data_passwords_or_documents() {
        let registration = Registration {
            name: "Maria da Silva".into(),
            cpf: "529.982.247-25".into(),
            cnh: "79143829831".into(),
            email: "maria@example.com".into(),
            phone: "+55 48 99999-1234".into(),
            password: "s3nha-secreta-42".into(),
            card: CardSource::Details(card()),
            locale: None,
        };
        let changes = ProfileChanges {
            name: None,
            email: None,
            phone: Some("+55 48 98888-4321".into()),
            card: Some(CardSource::Details(card())),
            password: Some("outra-s3nha-99".into()),
            current_password: Some("s3nha-secreta-42".into()),
            locale: None,
        };
        for shown in [format!("{registration:?}"), format!("{changes:?}")] {
            for secret in [
                "4111",
                "987",
                "MARIA DA SILVA",
                "s3nha-secreta-42",
                "outra-s3nha-99",
                "529.982.247-25",
                "79143829831",
                "99999-1234",
                "98888-4321",
            ] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
            assert!(shown.contains("<redacted>"), "{shown}");
        }
    }
}
