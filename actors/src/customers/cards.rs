//! The card on file: checked against what the payment provider takes, then registered with
//! it (tokenized from its details by the sandbox, or attached from the app's token).

use super::error::CustomersError;
use super::model::StoredCard;
use super::{CustomersHandle, rules};
use crate::ids::CustomerId;

impl CustomersHandle {
    /// Refuses a card of the kind the payment provider does not take: details with a real
    /// provider (the app must tokenize them with the provider's SDK), a token with the sandbox.
    pub(super) fn check_card_kind(&self, card: &rules::ValidCard) -> Result<(), CustomersError> {
        let refusal = match (card, self.billing.takes_card_details()) {
            (rules::ValidCard::Details(_), false) => Some((
                "card.number",
                "this payment provider takes no card numbers: tokenize the card in the app \
                 with the provider's SDK and send card.token",
            )),
            (rules::ValidCard::Token(_), true) => Some((
                "card.token",
                "the sandbox payment provider takes the card's details, not a token",
            )),
            _ => None,
        };
        match refusal {
            Some((field, reason)) => {
                Err(CustomersError::Invalid(vec![crate::domain::InvalidField {
                    field,
                    reason: reason.into(),
                }]))
            }
            None => Ok(()),
        }
    }

    /// Registers a validated card with the provider for customer `id`; only what may be shown
    /// is kept beside the token.
    pub(super) async fn tokenize(
        &self,
        id: CustomerId,
        card: rules::ValidCard,
        idempotency_key: String,
    ) -> Result<StoredCard, CustomersError> {
        let token = match card {
            rules::ValidCard::Details(card) => {
                self.billing.tokenize_card(card, idempotency_key).await?
            }
            rules::ValidCard::Token(token) => {
                self.billing
                    .register_card(id, token, idempotency_key)
                    .await?
            }
        };
        Ok(StoredCard {
            token: token.token,
            brand: token.brand.as_str().to_owned(),
            last4: token.last4,
            exp_month: token.exp_month,
            exp_year: token.exp_year,
        })
    }
}
