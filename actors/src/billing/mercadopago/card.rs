//! What our token of a Mercado Pago card says, and the card's brand.
//!
//! The token billing charges by (kept by the customers service with the customer) is
//! `mp:<customer id>:<card id>:<payment method id>`: everything a payment on the saved card
//! needs, so the adapter keeps no table of its own and a token survives a restart wherever
//! the customer's record does. The Mercado Pago customer is also found again by its e-mail
//! (see `payer_email`), so a second card of the same customer lands on the same customer.

use crate::domain::CardBrand;

const PREFIX: &str = "mp";

/// A card saved on a Mercado Pago customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SavedCard {
    /// Mercado Pago's customer id.
    pub(crate) customer_id: String,
    /// Mercado Pago's id of the card on that customer.
    pub(crate) card_id: String,
    /// The card's payment method (`visa`, `master`, `elo`…), which a payment must name.
    pub(crate) payment_method_id: String,
}

impl SavedCard {
    /// Our token for the card.
    pub(crate) fn encode(&self) -> String {
        format!(
            "{PREFIX}:{}:{}:{}",
            self.customer_id, self.card_id, self.payment_method_id
        )
    }

    /// The card of a token, if it is one of ours. Each part must be a plain identifier: they
    /// end up in URL paths, so nothing that could change the path is let through.
    pub(crate) fn decode(token: &str) -> Option<SavedCard> {
        let mut parts = token.split(':');
        let (Some(PREFIX), Some(customer), Some(card), Some(method), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        [customer, card, method]
            .iter()
            .all(|part| is_identifier(part))
            .then(|| SavedCard {
                customer_id: customer.to_owned(),
                card_id: card.to_owned(),
                payment_method_id: method.to_owned(),
            })
    }
}

/// Whether `text` is a non-empty identifier of letters, digits, `-` and `_` (Mercado Pago's
/// ids are digits, or digits and letters with a `-`).
pub(crate) fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The brand of a Mercado Pago payment method id (`debvisa` is a Visa debit card).
pub(crate) fn brand(payment_method_id: &str) -> CardBrand {
    match payment_method_id {
        "visa" | "debvisa" => CardBrand::Visa,
        "master" | "debmaster" => CardBrand::Mastercard,
        "amex" => CardBrand::Amex,
        "elo" | "debelo" => CardBrand::Elo,
        "hipercard" => CardBrand::Hipercard,
        "diners" => CardBrand::Diners,
        _ => CardBrand::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> SavedCard {
        SavedCard {
            customer_id: "1234567-AbCdEf".into(),
            card_id: "9876543210".into(),
            payment_method_id: "master".into(),
        }
    }

    #[test]
    fn a_token_reads_back_as_its_card() {
        assert_eq!(SavedCard::decode(&card().encode()), Some(card()));
    }

    #[test]
    fn tokens_of_other_providers_or_with_path_characters_are_not_ours() {
        for token in [
            "tok_3f9a",
            "mp:1:2",
            "mp:1:2:visa:extra",
            "stripe:1:2:visa",
            "mp:1/../x:2:visa",
            "mp::2:visa",
            "mp:1:2?capture=true:visa",
        ] {
            assert_eq!(SavedCard::decode(token), None, "{token}");
        }
    }

    #[test]
    fn payment_methods_name_their_brand() {
        assert_eq!(brand("master"), CardBrand::Mastercard);
        assert_eq!(brand("debvisa"), CardBrand::Visa);
        assert_eq!(brand("elo"), CardBrand::Elo);
        assert_eq!(brand("pix"), CardBrand::Other);
    }
}
