//! What Mercado Pago's API answers, read as far as the adapter needs it, and the checks every id
//! from it passes before it is used in a path or stored in a token.

use serde::Deserialize;

use super::super::provider::{PaymentError, ProviderRef};
use super::card::is_identifier;
use super::client::ClientError;
use super::path_id;

pub(super) fn payment_ref(id: &Id) -> Result<ProviderRef, PaymentError> {
    let reference = ProviderRef(id.to_string());
    path_id(&reference).map_err(|_| decode_error("a payment id that is not a number"))?;
    Ok(reference)
}

pub(super) fn checked_id(id: Id) -> Result<String, PaymentError> {
    let id = id.to_string();
    if is_identifier(&id) {
        Ok(id)
    } else {
        Err(decode_error("an id with unexpected characters"))
    }
}

pub(super) fn decode_error(what: &str) -> PaymentError {
    PaymentError::from(ClientError::Decode(what.to_owned()))
}

/// An id Mercado Pago answers as a number (payments, refunds) or as text (customers, cards).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Id {
    Number(u64),
    Text(String),
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Id::Number(number) => write!(f, "{number}"),
            Id::Text(text) => f.write_str(text),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Identified {
    pub(super) id: Id,
}

#[derive(Debug, Deserialize)]
pub(super) struct Search {
    #[serde(default)]
    pub(super) results: Vec<Identified>,
}

#[derive(Debug, Deserialize)]
pub(super) struct PaymentMethod {
    pub(super) id: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct SavedCardAnswer {
    pub(super) id: Id,
    pub(super) last_four_digits: String,
    pub(super) expiration_month: u32,
    pub(super) expiration_year: i32,
    pub(super) payment_method: PaymentMethod,
}

#[derive(Debug, Deserialize)]
pub(super) struct Payment {
    pub(super) id: Id,
    pub(super) status: String,
    #[serde(default)]
    pub(super) status_detail: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct Refund {
    #[serde(default)]
    pub(super) status: String,
}
