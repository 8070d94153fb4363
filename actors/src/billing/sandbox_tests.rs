//! The sandbox processor on its own: tokens, test cards, idempotency keys, payment states.

use super::*;
use crate::domain::{CardExpiry, CardNumber, Cvc};

fn card(number: &str) -> CardDetails {
    let number = CardNumber::parse(number).unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    CardDetails {
        cvc: Cvc::parse("123", number.brand()).unwrap(),
        number,
        expiry: CardExpiry::new(12, 2030, today).unwrap(),
        holder_name: "Ana Souza".into(),
    }
}

fn store(dir: &std::path::Path) -> Store {
    let config = storage::StorageConfig {
        data_dir: dir.to_owned(),
        cache_capacity_mb: 4,
        flush_every_ms: 50,
        commit_window_us: 1_000,
    };
    Store::open(&config, "billing").unwrap()
}

#[tokio::test]
async fn cards_are_tokenized_then_approved_or_declined_at_authorization() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = SandboxProvider::open(&store(dir.path())).unwrap();
    let good = sandbox
        .tokenize(card("4111111111111111"), "c1")
        .await
        .unwrap();
    assert_eq!((good.last4.as_str(), good.brand.as_str()), ("1111", "visa"));
    assert!(!good.token.contains("4111111111111111"));
    let again = sandbox
        .tokenize(card("4111111111111111"), "c1")
        .await
        .unwrap();
    assert_eq!(again, good, "same key, same token");
    let other = sandbox
        .tokenize(card("4111111111111111"), "c2")
        .await
        .unwrap();
    assert_ne!(other.token, good.token, "tokens are random");

    let declined = sandbox.tokenize(card(DECLINED_CARD), "c3").await.unwrap();
    let poor = sandbox
        .tokenize(card(INSUFFICIENT_FUNDS_CARD), "c4")
        .await
        .unwrap();
    assert!(matches!(
        sandbox.authorize_hold(&declined.token, 100, "h1").await,
        Err(PaymentError::Declined { .. })
    ));
    assert_eq!(
        sandbox.authorize_hold(&poor.token, 100, "h2").await,
        Err(PaymentError::InsufficientFunds)
    );
    assert_eq!(
        sandbox.authorize_hold("tok_nope", 100, "h3").await,
        Err(PaymentError::UnknownToken)
    );

    let hold = sandbox
        .authorize_hold(&good.token, 10_000, "h4")
        .await
        .unwrap();
    assert_eq!(
        sandbox.authorize_hold(&good.token, 10_000, "h4").await,
        Ok(hold.clone())
    );
    assert!(matches!(
        sandbox.authorize_hold(&good.token, 9_000, "h4").await,
        Err(PaymentError::InvalidRequest { .. })
    ));
    assert_eq!(
        sandbox.capture(&hold, 10_001, "k1").await,
        Err(PaymentError::ExceedsHold)
    );
    sandbox.capture(&hold, 4_000, "k2").await.unwrap();
    sandbox.capture(&hold, 4_000, "k2").await.unwrap();
    assert!(
        sandbox.void(&hold, "k3").await.is_err(),
        "a captured hold cannot be voided"
    );
    sandbox.refund(&hold, 4_000, "k4").await.unwrap();
    assert!(
        sandbox.refund(&hold, 1, "k5").await.is_err(),
        "nothing left to refund"
    );
}
