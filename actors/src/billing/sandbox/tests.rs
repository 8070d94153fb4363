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
        ..storage::StorageConfig::default()
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

#[tokio::test]
async fn keys_are_forgotten_a_day_after_the_call_and_older_keys_get_a_time() {
    use chrono::TimeDelta;

    use crate::clock::{Clock, ManualClock};

    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let clock = ManualClock::new(crate::testing::t0());
    let sandbox = SandboxProvider::open(&store)
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    let token = sandbox
        .tokenize(card("4111111111111111"), "c1")
        .await
        .unwrap();
    sandbox
        .authorize_hold(&token.token, 1_000, "h1")
        .await
        .unwrap();
    // A key stored before the time index existed: its entry is missing.
    clock.advance(TimeDelta::hours(12));
    sandbox.charge(&token.token, 500, "s1").await.unwrap();
    let stamped = (clock.now(), "s1".to_owned());
    sandbox.remembered_by_time.remove(&stamped).unwrap();

    clock.advance(TimeDelta::hours(12));
    assert_eq!(sandbox.purge_keys(clock.now(), 10).await.unwrap(), 0);
    assert!(
        sandbox
            .remembered_by_time
            .contains(&(clock.now(), "s1".to_owned()))
            .unwrap(),
        "stamped when first seen by the purge"
    );
    clock.advance(TimeDelta::seconds(1));
    assert_eq!(sandbox.purge_keys(clock.now(), 1).await.unwrap(), 1);
    assert_eq!(sandbox.purge_keys(clock.now(), 1).await.unwrap(), 1);
    assert_eq!(sandbox.purge_keys(clock.now(), 1).await.unwrap(), 0);
    assert!(sandbox.remembered.get(&"c1".to_owned()).unwrap().is_none());
    assert!(sandbox.remembered.get(&"s1".to_owned()).unwrap().is_some());
    // The purged key is free: a new call, not the remembered answer.
    let again = sandbox
        .tokenize(card("4111111111111111"), "c1")
        .await
        .unwrap();
    assert_ne!(again.token, token.token);

    clock.advance(TimeDelta::hours(24) + TimeDelta::seconds(1));
    assert_eq!(sandbox.purge_expired(10).await.unwrap(), 2);
}

#[test]
fn a_key_expires_strictly_after_a_day() {
    let at = crate::testing::t0();
    assert!(!is_expired(at, at + KEY_TTL));
    assert!(is_expired(
        at,
        at + KEY_TTL + chrono::TimeDelta::nanoseconds(1)
    ));
}

#[tokio::test]
async fn forgotten_cards_leave_no_brand_last_four_or_expiry_behind() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = SandboxProvider::open(&store(dir.path())).unwrap();
    let kept = sandbox
        .tokenize(card("5555555555554444"), "c0")
        .await
        .unwrap();
    let token = sandbox
        .tokenize(card("4111111111111111"), "c1")
        .await
        .unwrap();
    let hold = sandbox
        .authorize_hold(&token.token, 1_000, "h1")
        .await
        .unwrap();
    sandbox.capture(&hold, 800, "k1").await.unwrap();

    let changed = sandbox
        .forget_cards(std::slice::from_ref(&token.token))
        .await
        .unwrap();
    // The card, its payment, and the two calls naming it (tokenize, authorize).
    assert_eq!(changed, 4);
    assert!(sandbox.cards.get(&token.token).unwrap().is_none());
    let payment = sandbox.payments.get(&hold.0).unwrap().unwrap();
    assert_eq!((payment.token.as_str(), payment.captured), ("", 800));
    for entry in sandbox.remembered.iter() {
        let (key, remembered) = entry.unwrap();
        assert!(!remembered.request.contains(&token.token), "{key}");
        assert!(!remembered.request.contains("1111"), "{key}");
        assert!(
            !matches!(&remembered.outcome, Outcome::Token { last4, .. } if last4 == "1111"),
            "{key}"
        );
    }
    assert!(
        sandbox.cards.get(&kept.token).unwrap().is_some(),
        "other cards stay"
    );
    assert_eq!(
        sandbox
            .forget_cards(std::slice::from_ref(&token.token))
            .await
            .unwrap(),
        0,
        "idempotent"
    );
}

#[tokio::test]
async fn debug_output_never_shows_a_card_token() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = SandboxProvider::open(&store(dir.path())).unwrap();
    let token = sandbox
        .tokenize(card("4111111111111111"), "c1")
        .await
        .unwrap();
    let hold = sandbox
        .authorize_hold(&token.token, 1_000, "h1")
        .await
        .unwrap();
    let payment = sandbox.payments.get(&hold.0).unwrap().unwrap();
    let remembered: Vec<_> = sandbox
        .remembered
        .iter()
        .map(|entry| entry.unwrap().1)
        .collect();
    let request = crate::billing::HoldRequest {
        reservation_id: crate::ids::ReservationId::new(),
        customer_id: crate::ids::CustomerId::new(),
        card_token: token.token.clone(),
        amount_cents: 1_000,
    };
    let step = super::super::settlement::Step::Authorize {
        number: 1,
        token: token.token.clone(),
        amount_cents: 1_000,
    };
    for text in [
        format!("{token:?}"),
        format!("{payment:?}"),
        format!("{remembered:?}"),
        format!("{request:?}"),
        format!("{step:?}"),
    ] {
        assert!(!text.contains(&token.token), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
}
