//! A customer's e-mail is queued addressed to the customer, not to an address: the address (and
//! which one, for a change being confirmed) is asked from the customers service when the e-mail
//! leaves. The queue lives in sled, which keeps earlier versions of a deleted value in its files
//! until it rewrites them; holding no address there means an erasure leaves none behind, the
//! guarantee the customers service keeps for its own data with crypto-shredding.

use crate::ids::CustomerId;

const CONFIRMED: &str = "customer:";
const BEING_CONFIRMED: &str = "customer-new:";

/// The stored recipient of an e-mail to `customer` (at the address waiting for confirmation
/// when `new_address`).
pub(crate) fn recipient(customer: CustomerId, new_address: bool) -> String {
    let prefix = if new_address {
        BEING_CONFIRMED
    } else {
        CONFIRMED
    };
    format!("{prefix}{customer}")
}

/// The customer a stored recipient names, and whether it is the address being confirmed;
/// `None` for a literal address.
pub(crate) fn customer_of(to: &str) -> Option<(CustomerId, bool)> {
    if let Some(id) = to.strip_prefix(BEING_CONFIRMED) {
        return id.parse().ok().map(|id| (id, true));
    }
    to.strip_prefix(CONFIRMED)
        .and_then(|id| id.parse().ok())
        .map(|id| (id, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recipient_names_the_customer_and_which_address_and_an_address_is_left_alone() {
        let customer = CustomerId::new();
        assert_eq!(
            customer_of(&recipient(customer, false)),
            Some((customer, false))
        );
        assert_eq!(
            customer_of(&recipient(customer, true)),
            Some((customer, true))
        );
        assert_eq!(customer_of("ana@example.com"), None);
        assert_eq!(customer_of("customer:not-an-id"), None);
    }
}
