//! Mercado Pago's payment `status` and `status_detail` as the port's outcomes.
//!
//! The values and their meaning are those of Mercado Pago's "payment creation results" table
//! (Checkout API, response handling): a created payment is answered `201` whatever the issuer
//! said, and the refusal is in `status: "rejected"` with the reason in `status_detail`.

use super::super::provider::PaymentError;

/// The status a request expects on success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected {
    /// A payment created with `capture: false`: the amount is reserved.
    Authorized,
    /// A payment created or captured with `capture: true`.
    Approved,
    /// A reserve given back.
    Cancelled,
}

impl Expected {
    fn status(self) -> &'static str {
        match self {
            Expected::Authorized => "authorized",
            Expected::Approved => "approved",
            Expected::Cancelled => "cancelled",
        }
    }
}

/// Whether a payment answered with `status` and `status_detail` did what was expected, and
/// the port's error if it did not.
pub(crate) fn check(status: &str, detail: &str, expected: Expected) -> Result<(), PaymentError> {
    if status == expected.status() {
        return Ok(());
    }
    match status {
        "rejected" => Err(rejection(detail)),
        // Neither approved nor refused yet (a manual review, a contingency): a rental cannot
        // start on a payment that may still be refused, so it counts as declined, and the
        // adapter cancels it (see `MercadoPagoProvider::pay`).
        "in_process" | "pending" => Err(PaymentError::Declined {
            reason: format!("the payment is under review by Mercado Pago ({detail})"),
        }),
        other => Err(PaymentError::InvalidRequest {
            reason: format!(
                "Mercado Pago answered status {other} ({detail}), expected {}",
                expected.status()
            ),
        }),
    }
}

/// The port's error for a rejection's `status_detail`.
pub(crate) fn rejection(detail: &str) -> PaymentError {
    let reason = match detail {
        "cc_rejected_insufficient_amount" => return PaymentError::InsufficientFunds,
        "cc_rejected_bad_filled_card_number" => "the card number is wrong",
        "cc_rejected_bad_filled_date" => "the expiry date is wrong",
        "cc_rejected_bad_filled_security_code" => "the security code is wrong",
        "cc_rejected_bad_filled_other" => "the card's details are wrong",
        "cc_rejected_blacklist" => "the card cannot be used",
        "cc_rejected_call_for_authorize" => {
            "the issuer asks the cardholder to authorize the payment with them"
        }
        "cc_rejected_card_disabled" => {
            "the card is not active: the cardholder must call the issuer"
        }
        "cc_rejected_card_error" => "the card could not be processed",
        "cc_rejected_duplicated_payment" => "a payment of the same amount was just made",
        "cc_rejected_high_risk" => "refused by Mercado Pago's fraud prevention",
        "cc_rejected_invalid_installments" => "the card does not accept these installments",
        "cc_rejected_max_attempts" => "too many attempts with this card",
        "cc_rejected_3ds_mandatory" => "the issuer requires 3-D Secure authentication",
        "cc_rejected_other_reason" => "the issuer refused the payment",
        other => {
            return PaymentError::Declined {
                reason: format!("refused by Mercado Pago ({other})"),
            };
        }
    };
    PaymentError::Declined {
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_status_is_success() {
        assert_eq!(
            check("authorized", "pending_capture", Expected::Authorized),
            Ok(())
        );
        assert_eq!(check("approved", "accredited", Expected::Approved), Ok(()));
        assert_eq!(
            check("cancelled", "by_collector", Expected::Cancelled),
            Ok(())
        );
    }

    #[test]
    fn insufficient_amount_is_insufficient_funds_and_other_rejections_declines() {
        assert_eq!(
            check(
                "rejected",
                "cc_rejected_insufficient_amount",
                Expected::Authorized
            ),
            Err(PaymentError::InsufficientFunds)
        );
        for detail in [
            "cc_rejected_bad_filled_card_number",
            "cc_rejected_call_for_authorize",
            "cc_rejected_card_disabled",
            "cc_rejected_other_reason",
            "cc_rejected_high_risk",
            "something_new",
        ] {
            let Err(PaymentError::Declined { reason }) =
                check("rejected", detail, Expected::Approved)
            else {
                panic!("{detail} is not a decline");
            };
            assert!(!reason.is_empty() && !reason.starts_with("cc_"), "{reason}");
        }
    }

    #[test]
    fn a_payment_under_review_is_declined_and_a_surprising_status_is_invalid() {
        assert!(matches!(
            check("in_process", "pending_contingency", Expected::Authorized),
            Err(PaymentError::Declined { .. })
        ));
        // An approved payment where a reserve was asked would have taken the money.
        assert!(matches!(
            check("approved", "accredited", Expected::Authorized),
            Err(PaymentError::InvalidRequest { .. })
        ));
    }
}
