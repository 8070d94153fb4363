//! A customer's erasure, as far as billing goes: financial records keep their amounts and
//! their reservation (a legal retention), but no longer the customer's id nor their card.
//!
//! Every charge header of the customer gets a pseudonym in place of the customer id and loses
//! its card token; the processor forgets the cards. The pseudonym is a random UUID (v4, so it
//! carries no time either), one per erasure call, shared by the charges that call changes:
//! the accounting can still group the person's charges, and nothing derives the pseudonym from
//! the customer id, so it cannot be reversed by trying known ids (a hash of the id could). A
//! retry after an interrupted call draws a second pseudonym for the charges the first one did
//! not reach; each charge is changed once, since a changed charge no longer names the customer.
//!
//! Billing keeps no index by customer (charges are keyed by reservation), so the charges are
//! found by a scan of the headers: erasure is rare, and this keeps every booking's write as it
//! is. Each charge is then changed through its own actor, its single writer, so an active
//! charge cannot write its old header back.

use super::error::BillingError;
use super::model::ChargeHeader;
use super::{BillingHandle, ChargeMsg};
use crate::ids::CustomerId;

/// The header with `customer` replaced by `pseudonym` and its card token removed, or `None`
/// when the header is not the customer's (another's, or already pseudonymised).
pub(crate) fn pseudonymised(
    header: &ChargeHeader,
    customer: CustomerId,
    pseudonym: CustomerId,
) -> Option<ChargeHeader> {
    (header.customer_id == customer).then(|| ChargeHeader {
        customer_id: pseudonym,
        card_token: String::new(),
        ..header.clone()
    })
}

impl BillingHandle {
    /// Removes the customer from billing (see the module documentation): each of their charge
    /// headers keeps its amounts and reservation, with a pseudonym for the customer id and no
    /// card token, and the processor forgets `card_tokens` and every token the charges named.
    /// Idempotent (a second call finds nothing to change and answers 0); durable before it
    /// answers; the number of records changed. Refused with `Unsettled` while a charge of the
    /// customer is still open (its settlement needs the card): the erasure retries later.
    pub async fn forget_customer(
        &self,
        customer: CustomerId,
        card_tokens: Vec<String>,
    ) -> Result<u64, BillingError> {
        let mut charges = Vec::new();
        let mut tokens = card_tokens;
        for entry in self.tables.charges.iter() {
            let (id, header) = entry?;
            if header.customer_id == customer {
                charges.push(id);
                tokens.push(header.card_token);
            }
        }
        tokens.sort_unstable();
        tokens.dedup();
        let pseudonym = CustomerId(uuid::Builder::from_random_bytes(rand::random()).into_uuid());
        let mut changed = 0u64;
        for id in charges {
            let forgotten = self
                .charges
                .call(id, |reply| ChargeMsg::Forget {
                    customer,
                    pseudonym,
                    reply,
                })
                .await??;
            changed += u64::from(forgotten);
        }
        let call = self.provider.forget_cards(&tokens);
        let forgotten = match tokio::time::timeout(self.provider_timeout, call).await {
            Ok(result) => result.map_err(BillingError::Provider)?,
            Err(_) => {
                return Err(BillingError::Provider(super::PaymentError::Unavailable(
                    "the provider timed out".into(),
                )));
            }
        };
        Ok(changed + forgotten)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::model::RefundRequest;
    use crate::ids::ReservationId;

    #[test]
    fn only_the_customers_headers_change_and_keep_their_amounts() {
        let customer = CustomerId::new();
        let pseudonym = CustomerId(uuid::Builder::from_random_bytes(rand::random()).into_uuid());
        let header = ChargeHeader {
            reservation_id: ReservationId::new(),
            customer_id: customer,
            card_token: "tok_1".into(),
            hold_cents: 6_000,
            decline: None,
            settle_total_cents: Some(5_000),
            extra_charge_refused: None,
            extra_charge_retries: 0,
            refund_requests: vec![RefundRequest {
                amount_cents: 500,
                reason: None,
                idempotency: None,
            }],
            events: Vec::new(),
            created_at: crate::testing::t0(),
            extra_holds: Vec::new(),
        };
        assert!(!format!("{header:?}").contains("tok_1"), "no token in logs");
        let changed = pseudonymised(&header, customer, pseudonym).unwrap();
        assert_eq!(changed.customer_id, pseudonym);
        assert_eq!(changed.card_token, "");
        assert_eq!(
            (
                changed.reservation_id,
                changed.hold_cents,
                changed.settle_total_cents,
                changed.refund_requests.clone()
            ),
            (
                header.reservation_id,
                6_000,
                Some(5_000),
                header.refund_requests.clone()
            )
        );
        assert_eq!(pseudonymised(&changed, customer, pseudonym), None, "once");
        assert_eq!(pseudonymised(&header, CustomerId::new(), pseudonym), None);
    }
}
