//! Stripe's failures in the port's words. Stripe answers a failed request with an HTTP status
//! and an `error` object (`type`, `code`, `decline_code`, `message`, `param`); the mapping reads
//! the codes rather than the type, because what a decline means is in `code` and
//! `decline_code` (and localstripe sends its card errors with the type `invalid_request_error`).

use serde::Deserialize;

use crate::billing::provider::PaymentError;

/// Said to the customer when the issuer wants them present (3-D Secure) for an off-session
/// payment: the app has to confirm a payment with them, which a hold at booking cannot do.
pub(crate) const NEEDS_CUSTOMER: &str =
    "the card requires the customer to authenticate the payment in the app";

/// Stripe's `error` object, as far as the mapping reads it.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct StripeError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    param: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    error: StripeError,
}

impl StripeError {
    fn message_or(&self, fallback: &str) -> String {
        self.message
            .clone()
            .filter(|message| !message.is_empty())
            .unwrap_or_else(|| fallback.to_owned())
    }
}

/// The port's error for a non-2xx answer of status `status` with body `body`.
pub(crate) fn from_response(status: u16, body: &str) -> PaymentError {
    let error = serde_json::from_str::<Envelope>(body)
        .map(|envelope| envelope.error)
        .unwrap_or_default();
    // 409: a request with the same idempotency key is still being processed; 429: rate
    // limited. Both are Stripe's "retry later", and a retry with the same key is safe.
    if status >= 500 || status == 409 || status == 429 {
        return PaymentError::Unavailable(format!(
            "Stripe answered {status}: {}",
            error.message_or("no message")
        ));
    }
    let code = error.code.as_deref().unwrap_or_default();
    let decline_code = error.decline_code.as_deref().unwrap_or_default();
    match (code, decline_code) {
        (_, "insufficient_funds") | ("insufficient_funds", _) => PaymentError::InsufficientFunds,
        ("authentication_required", _) | (_, "authentication_required") => PaymentError::Declined {
            reason: NEEDS_CUSTOMER.into(),
        },
        ("expired_card", _) | (_, "expired_card") => PaymentError::Declined {
            reason: "the card has expired".into(),
        },
        // Stripe's "an error occurred while processing the card": transient, retry later.
        ("processing_error", _) => {
            PaymentError::Unavailable(error.message_or("the card could not be processed"))
        }
        ("resource_missing", _) => PaymentError::UnknownToken,
        _ if error.param.as_deref() == Some("amount_to_capture") => PaymentError::ExceedsHold,
        ("card_declined" | "incorrect_cvc" | "incorrect_number" | "invalid_cvc", _) => {
            PaymentError::Declined {
                reason: error.message_or("the card was declined"),
            }
        }
        _ if error.kind.as_deref() == Some("card_error") || status == 402 => {
            PaymentError::Declined {
                reason: error.message_or("the card was declined"),
            }
        }
        _ if status == 401 || status == 403 => PaymentError::InvalidRequest {
            reason: "Stripe refused the secret key (billing.stripe_secret_key)".into(),
        },
        _ if status == 404 => PaymentError::UnknownToken,
        _ => PaymentError::InvalidRequest {
            reason: format!(
                "Stripe answered {status}: {}",
                error.message_or("no message")
            ),
        },
    }
}

/// The port's error for a request that got no answer: not sent, timed out, cut off. Whether
/// Stripe acted is unknown, which the idempotency key makes safe to retry.
pub(crate) fn from_transport(error: &reqwest::Error) -> PaymentError {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not be reached"
    } else {
        "failed"
    };
    PaymentError::Unavailable(format!("Stripe {what}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declined(reason: &str) -> PaymentError {
        PaymentError::Declined {
            reason: reason.into(),
        }
    }

    // Bodies as Stripe's API reference documents them ("Errors", "Error codes", "Decline codes").

    #[test]
    fn a_generic_decline_is_declined_with_stripes_message() {
        let body = r#"{"error": {"type": "card_error", "code": "card_declined",
            "decline_code": "generic_decline", "message": "Your card was declined.",
            "charge": "ch_1", "doc_url": "https://stripe.com/docs/error-codes/card-declined"}}"#;
        assert_eq!(
            from_response(402, body),
            declined("Your card was declined.")
        );
    }

    #[test]
    fn insufficient_funds_is_its_own_error() {
        let body = r#"{"error": {"type": "card_error", "code": "card_declined",
            "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}}"#;
        assert_eq!(from_response(402, body), PaymentError::InsufficientFunds);
    }

    #[test]
    fn an_expired_card_is_declined_as_expired() {
        let body = r#"{"error": {"type": "card_error", "code": "expired_card",
            "message": "Your card has expired.", "param": "exp_month"}}"#;
        assert_eq!(from_response(402, body), declined("the card has expired"));
    }

    #[test]
    fn authentication_required_says_the_customer_must_be_present() {
        let as_code = r#"{"error": {"type": "card_error", "code": "authentication_required",
            "message": "Your card was declined. This transaction requires authentication."}}"#;
        let as_decline = r#"{"error": {"type": "card_error", "code": "card_declined",
            "decline_code": "authentication_required", "message": "Your card was declined."}}"#;
        assert_eq!(from_response(402, as_code), declined(NEEDS_CUSTOMER));
        assert_eq!(from_response(402, as_decline), declined(NEEDS_CUSTOMER));
    }

    #[test]
    fn a_missing_object_is_an_unknown_token() {
        let body = r#"{"error": {"type": "invalid_request_error", "code": "resource_missing",
            "message": "No such PaymentMethod: 'pm_123'", "param": "payment_method"}}"#;
        assert_eq!(from_response(400, body), PaymentError::UnknownToken);
        assert_eq!(from_response(404, "{}"), PaymentError::UnknownToken);
    }

    #[test]
    fn a_capture_above_the_intent_exceeds_the_hold() {
        let body = r#"{"error": {"type": "invalid_request_error", "code": "amount_too_large",
            "message": "Amount to capture must be less than or equal to the amount.",
            "param": "amount_to_capture"}}"#;
        assert_eq!(from_response(400, body), PaymentError::ExceedsHold);
    }

    #[test]
    fn other_client_errors_are_invalid_requests() {
        let body = r#"{"error": {"type": "invalid_request_error",
            "code": "payment_intent_unexpected_state",
            "message": "This PaymentIntent could not be captured because it has a status of canceled."}}"#;
        assert!(matches!(
            from_response(400, body),
            PaymentError::InvalidRequest { reason } if reason.contains("status of canceled")
        ));
        let reused = r#"{"error": {"type": "idempotency_error",
            "message": "Keys for idempotent requests can only be used with the same parameters they were first used with."}}"#;
        assert!(matches!(
            from_response(400, reused),
            PaymentError::InvalidRequest { .. }
        ));
        let key = r#"{"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_****"}}"#;
        assert!(matches!(
            from_response(401, key),
            PaymentError::InvalidRequest { reason } if !reason.contains("sk_test")
        ));
    }

    #[test]
    fn server_errors_conflicts_and_rate_limits_are_retryable() {
        let api = r#"{"error": {"type": "api_error", "message": "An unknown error occurred"}}"#;
        for status in [500, 502, 503, 504, 409, 429] {
            assert!(
                matches!(from_response(status, api), PaymentError::Unavailable(_)),
                "{status}"
            );
        }
        assert!(matches!(
            from_response(502, "<html>bad gateway</html>"),
            PaymentError::Unavailable(_)
        ));
        let processing = r#"{"error": {"type": "card_error", "code": "processing_error",
            "message": "An error occurred while processing your card. Try again in a little bit."}}"#;
        assert!(matches!(
            from_response(402, processing),
            PaymentError::Unavailable(_)
        ));
    }

    #[test]
    fn a_body_that_is_not_stripes_still_maps_by_status() {
        assert_eq!(
            from_response(402, "not json"),
            declined("the card was declined")
        );
        assert!(matches!(
            from_response(400, ""),
            PaymentError::InvalidRequest { .. }
        ));
    }

    #[tokio::test]
    async fn a_refused_connection_is_unavailable() {
        // A port just freed: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let error = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .expect_err("nothing listens");
        assert!(matches!(
            from_transport(&error),
            PaymentError::Unavailable(reason) if reason.contains("could not be reached")
        ));
    }
}
