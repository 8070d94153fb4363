//! The adapter against the fake Mercado Pago server (`fake.rs`).

use std::time::{Duration, Instant};

use super::card::SavedCard;
use super::fake::{ACCESS_TOKEN, FakeMercadoPago, Fault, Holder};
use super::*;
use crate::domain::CardBrand;

const TIMEOUT: Duration = Duration::from_secs(5);

async fn setup() -> (FakeMercadoPago, MercadoPagoProvider) {
    let fake = FakeMercadoPago::start().await;
    let provider =
        MercadoPagoProvider::new(&fake.base_url(), ACCESS_TOKEN, TIMEOUT).expect("a client");
    (fake, provider)
}

async fn card(fake: &FakeMercadoPago, provider: &MercadoPagoProvider, holder: Holder) -> String {
    let customer = CustomerId::new();
    provider
        .register_card(customer, &fake.app_token(holder), &customer.to_string())
        .await
        .expect("the card is registered")
        .token
}

#[tokio::test]
async fn a_registered_card_is_saved_on_the_customer_and_shown_as_mercado_pago_knows_it() {
    let (fake, provider) = setup().await;
    let customer = CustomerId::new();
    let app_token = fake.app_token(Holder::Apro);
    let card = provider
        .register_card(customer, &app_token, &customer.to_string())
        .await
        .expect("registered");
    assert_eq!(card.brand, CardBrand::Mastercard);
    assert_eq!(card.last4, "6351");
    assert_eq!((card.exp_month, card.exp_year), (11, 2030));
    assert!(fake.token_used(&app_token));
    let first = SavedCard::decode(&card.token).expect("our token");
    assert_eq!(first.payment_method_id, "master");

    // A second card of the same customer joins the same Mercado Pago customer.
    let second = provider
        .register_card(customer, &fake.app_token(Holder::Apro), "change-1")
        .await
        .expect("registered");
    let second = SavedCard::decode(&second.token).expect("our token");
    assert_eq!(second.customer_id, first.customer_id);
    assert_ne!(second.card_id, first.card_id);
    assert_eq!((fake.customers(), fake.saved_cards()), (1, 2));
}

#[tokio::test]
async fn a_spent_or_unknown_app_token_is_refused() {
    let (fake, provider) = setup().await;
    let app_token = fake.app_token(Holder::Apro);
    provider
        .register_card(CustomerId::new(), &app_token, "a")
        .await
        .expect("registered");
    let again = provider
        .register_card(CustomerId::new(), &app_token, "b")
        .await;
    assert!(
        matches!(again, Err(PaymentError::InvalidRequest { .. })),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_hold_is_an_authorized_payment_and_a_smaller_capture_takes_only_that() {
    let (fake, provider) = setup().await;
    let token = card(&fake, &provider, Holder::Apro).await;
    let hold = provider
        .authorize_hold(&token, 12_345, "r1:hold")
        .await
        .expect("held");
    let [payment] = fake.payments().try_into().expect("one payment");
    assert_eq!(hold.0, payment.id.to_string());
    assert_eq!(
        (
            payment.status.as_str(),
            payment.amount_cents,
            payment.captured
        ),
        ("authorized", 12_345, false)
    );

    provider
        .capture(&hold, 10_001, "r1:capture")
        .await
        .expect("captured");
    let [payment] = fake.payments().try_into().expect("one payment");
    assert_eq!(
        (
            payment.status.as_str(),
            payment.amount_cents,
            payment.captured
        ),
        ("approved", 10_001, true)
    );
}

#[tokio::test]
async fn a_capture_above_the_hold_or_of_an_unknown_payment_is_refused() {
    let (fake, provider) = setup().await;
    let token = card(&fake, &provider, Holder::Apro).await;
    let hold = provider
        .authorize_hold(&token, 5_000, "r1:hold")
        .await
        .expect("held");
    let above = provider.capture(&hold, 5_001, "r1:capture").await;
    assert!(
        matches!(above, Err(PaymentError::InvalidRequest { .. })),
        "{above:?}"
    );
    let unknown = provider
        .capture(&ProviderRef("42".into()), 100, "x:capture")
        .await;
    assert_eq!(unknown, Err(PaymentError::UnknownToken));
    let not_an_id = provider
        .capture(&ProviderRef("../customers".into()), 100, "y:capture")
        .await;
    assert_eq!(not_an_id, Err(PaymentError::UnknownToken));
}

#[tokio::test]
async fn a_void_cancels_the_hold() {
    let (fake, provider) = setup().await;
    let token = card(&fake, &provider, Holder::Apro).await;
    let hold = provider
        .authorize_hold(&token, 9_000, "r1:hold")
        .await
        .expect("held");
    provider.void(&hold, "r1:void").await.expect("voided");
    let [payment] = fake.payments().try_into().expect("one payment");
    assert_eq!(payment.status, "cancelled");
    let capture = provider.capture(&hold, 9_000, "r1:capture").await;
    assert!(
        matches!(capture, Err(PaymentError::InvalidRequest { .. })),
        "{capture:?}"
    );
}

#[tokio::test]
async fn a_charge_is_an_approved_payment_and_refunds_return_parts_of_it() {
    let (fake, provider) = setup().await;
    let token = card(&fake, &provider, Holder::Apro).await;
    let sale = provider
        .charge(&token, 4_990, "r1:charge")
        .await
        .expect("charged");
    provider
        .refund(&sale, 1_990, "r1:refund:1")
        .await
        .expect("refunded");
    let [payment] = fake.payments().try_into().expect("one payment");
    assert_eq!(
        (
            payment.status.as_str(),
            payment.captured,
            payment.refunded_cents
        ),
        ("approved", true, 1_990)
    );
    let above = provider.refund(&sale, 3_001, "r1:refund:2").await;
    assert!(
        matches!(above, Err(PaymentError::InvalidRequest { .. })),
        "{above:?}"
    );
    provider
        .refund(&sale, 3_000, "r1:refund:3")
        .await
        .expect("refunded");
    assert_eq!(fake.payments()[0].status, "refunded");
}

#[tokio::test]
async fn insufficient_amount_is_insufficient_funds() {
    let (fake, provider) = setup().await;
    let token = card(&fake, &provider, Holder::Fund).await;
    let hold = provider.authorize_hold(&token, 10_000, "r1:hold").await;
    assert_eq!(hold, Err(PaymentError::InsufficientFunds));
    assert_eq!(
        fake.payments()[0].status_detail,
        "cc_rejected_insufficient_amount"
    );
}

#[tokio::test]
async fn other_rejections_are_declines_with_a_reason() {
    let (fake, provider) = setup().await;
    for (holder, words) in [
        (Holder::Call, "authorize"),
        (Holder::Othe, "refused"),
        (Holder::Cont, "refused"),
    ] {
        let token = card(&fake, &provider, holder).await;
        let charge = provider.charge(&token, 2_500, &format!("{holder:?}")).await;
        let Err(PaymentError::Declined { reason }) = charge else {
            panic!("{holder:?}: {charge:?}");
        };
        assert!(reason.contains(words), "{holder:?}: {reason}");
    }
}

#[tokio::test]
async fn a_server_error_is_unavailable_and_the_retry_with_the_same_key_holds_once() {
    let (fake, provider) = setup().await;
    let token = card(&fake, &provider, Holder::Apro).await;
    fake.fail_next("/v1/payments", Fault::ServerError);
    let failed = provider.authorize_hold(&token, 7_000, "r1:hold").await;
    assert!(
        matches!(failed, Err(PaymentError::Unavailable(_))),
        "{failed:?}"
    );
    assert!(fake.payments().is_empty());
    provider
        .authorize_hold(&token, 7_000, "r1:hold")
        .await
        .expect("held on the retry");
    assert_eq!(fake.payments().len(), 1);
}

#[tokio::test]
async fn a_timeout_is_unavailable_within_the_provider_timeout() {
    let fake = FakeMercadoPago::start().await;
    let timeout = Duration::from_millis(300);
    let provider =
        MercadoPagoProvider::new(&fake.base_url(), ACCESS_TOKEN, timeout).expect("a client");
    let token = card(&fake, &provider, Holder::Apro).await;
    fake.fail_next("/v1/payments", Fault::Delay(Duration::from_secs(30)));
    let started = Instant::now();
    let hold = provider.authorize_hold(&token, 7_000, "r1:hold").await;
    assert!(
        matches!(hold, Err(PaymentError::Unavailable(_))),
        "{hold:?}"
    );
    // Generous: what matters is that the call gives up near its timeout, not after the
    // fake's 30 seconds.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_retry_after_a_failure_after_the_work_makes_one_payment_and_one_capture() {
    let (fake, provider) = setup().await;
    let token = card(&fake, &provider, Holder::Apro).await;
    fake.fail_next("/v1/payments", Fault::FailAfterWork);
    let failed = provider.authorize_hold(&token, 8_000, "r1:hold").await;
    assert!(
        matches!(failed, Err(PaymentError::Unavailable(_))),
        "{failed:?}"
    );
    let hold = provider
        .authorize_hold(&token, 8_000, "r1:hold")
        .await
        .expect("the retry answers the first payment");
    let [payment] = fake.payments().try_into().expect("one payment only");
    assert_eq!(hold.0, payment.id.to_string());

    fake.fail_next("/v1/payments/", Fault::FailAfterWork);
    let failed = provider.capture(&hold, 6_000, "r1:capture").await;
    assert!(
        matches!(failed, Err(PaymentError::Unavailable(_))),
        "{failed:?}"
    );
    provider
        .capture(&hold, 6_000, "r1:capture")
        .await
        .expect("the retry answers the first capture");
    let [payment] = fake.payments().try_into().expect("one payment only");
    assert_eq!(
        (payment.status.as_str(), payment.amount_cents),
        ("approved", 6_000)
    );
}

#[tokio::test]
async fn every_call_carries_the_access_token_and_every_write_a_key_from_ours() {
    let (fake, provider) = setup().await;
    let token = card(&fake, &provider, Holder::Apro).await;
    let hold = provider
        .authorize_hold(&token, 1_000, "r9:hold")
        .await
        .expect("held");
    provider.void(&hold, "r9:void").await.expect("voided");
    let received = fake.received();
    assert!(received.len() >= 6, "{received:?}");
    for request in &received {
        if request.method != "GET" {
            let key = request
                .idempotency_key
                .as_deref()
                .expect("a key on a write");
            assert!(!key.is_empty());
        }
    }
    let keys: Vec<_> = received
        .iter()
        .filter_map(|request| request.idempotency_key.as_deref())
        .collect();
    assert!(
        keys.contains(&"r9:hold") && keys.contains(&"r9:void"),
        "{keys:?}"
    );

    let wrong =
        MercadoPagoProvider::new(&fake.base_url(), "APP_USR-wrong", TIMEOUT).expect("a client");
    let refused = wrong.authorize_hold(&token, 1_000, "r10:hold").await;
    assert!(
        matches!(refused, Err(PaymentError::Unavailable(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn tokens_that_are_not_ours_are_unknown() {
    let (_fake, provider) = setup().await;
    let hold = provider.authorize_hold("tok_sandbox_1", 1_000, "k").await;
    assert_eq!(hold, Err(PaymentError::UnknownToken));
}

#[tokio::test]
async fn forgetting_a_card_deletes_it_at_mercado_pago_once() {
    let (fake, provider) = setup().await;
    let token = card(&fake, &provider, Holder::Apro).await;
    let tokens = vec![token.clone(), "tok_of_the_sandbox".to_owned()];
    assert_eq!(provider.forget_cards(&tokens).await, Ok(1));
    assert_eq!(fake.saved_cards(), 0);
    assert_eq!(provider.forget_cards(&tokens).await, Ok(0));
    let hold = provider.authorize_hold(&token, 1_000, "r1:hold").await;
    assert_eq!(hold, Err(PaymentError::UnknownToken));
}

#[tokio::test]
async fn a_card_number_is_never_taken() {
    let (_fake, provider) = setup().await;
    assert!(!provider.takes_card_details());
}

#[tokio::test]
async fn a_payment_is_read_back_with_its_refunds_and_an_unknown_one_is_none() {
    let (fake, provider) = setup().await;
    let token = card(&fake, &provider, Holder::Apro).await;
    let sale = provider.charge(&token, 4_000, "sale").await.expect("sold");
    let id: u64 = sale.0.parse().expect("a number");
    assert!(fake.refund_in_dashboard(id, 1_000));
    let state = provider
        .payment(&sale.0)
        .await
        .expect("read")
        .expect("known");
    assert_eq!(state.payment.reference, sale.0);
    assert_eq!(
        (
            state.payment.authorized_cents,
            state.payment.captured_cents,
            state.payment.refunded_cents,
            state.payment.voided
        ),
        (4_000, 4_000, 1_000, false)
    );
    assert!(!state.disputed);
    assert!(fake.charge_back(id));
    assert!(
        provider
            .payment(&sale.0)
            .await
            .expect("read")
            .expect("known")
            .disputed
    );
    assert_eq!(provider.payment("999").await, Ok(None));
    assert_eq!(
        provider.payment("not-a-number").await,
        Err(PaymentError::UnknownToken)
    );
}

#[tokio::test]
async fn payments_are_listed_by_creation_time_across_pages() {
    let (fake, provider) = setup().await;
    let token = card(&fake, &provider, Holder::Apro).await;
    let before = chrono::Utc::now() - chrono::TimeDelta::seconds(1);
    for n in 0..105 {
        provider
            .authorize_hold(&token, 100 + n, &format!("hold-{n}"))
            .await
            .expect("held");
    }
    let after = chrono::Utc::now() + chrono::TimeDelta::seconds(1);
    let listed = provider
        .payments_between(before, after)
        .await
        .expect("listed")
        .expect("a list");
    assert_eq!(listed.len(), 105);
    let amounts: Vec<i64> = listed.iter().map(|p| p.authorized_cents).collect();
    assert_eq!(amounts, (100..205).collect::<Vec<_>>());
    let searches = fake
        .received()
        .into_iter()
        .filter(|request| request.path.starts_with("/v1/payments/search?"))
        .count();
    assert_eq!(searches, 2);
    let earlier = provider
        .payments_between(before - chrono::TimeDelta::days(1), before)
        .await
        .expect("listed");
    assert_eq!(earlier, Some(Vec::new()));
}
