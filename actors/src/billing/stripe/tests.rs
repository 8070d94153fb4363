//! The adapter against a stub of Stripe that remembers idempotency keys as Stripe does and can
//! fail after doing the work: what a retry sends and how many effects it leaves. (The whole
//! rental against localstripe is in the gateway's API tests.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Form as AxumForm, Json, Router};
use serde_json::json;

use super::*;

/// One request the stub received.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    key: Option<String>,
    form: HashMap<String, String>,
}

#[derive(Default)]
struct Stub {
    seen: Vec<Seen>,
    /// Stripe's memory of keys: the answer given (or that would have been given) first.
    answers: HashMap<String, Value>,
    /// Objects created (customers and intents), the effects a retry must not repeat.
    created: Vec<String>,
    /// Fail (500) the first request of each key after doing its work.
    fail_first: bool,
}

type Shared = Arc<Mutex<Stub>>;

fn handle(
    stub: &Shared,
    path: String,
    headers: &HeaderMap,
    form: HashMap<String, String>,
) -> (StatusCode, Json<Value>) {
    let key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let mut stub = stub.lock().unwrap();
    stub.seen.push(Seen {
        path: path.clone(),
        key: key.clone(),
        form: form.clone(),
    });
    if let Some(answer) = key.as_ref().and_then(|key| stub.answers.get(key)) {
        return (StatusCode::OK, Json(answer.clone()));
    }
    let id = format!("obj_{}", stub.created.len() + 1);
    let answer = if path == "/v1/customers" {
        stub.created.push(format!("cus_{id}"));
        json!({"id": format!("cus_{id}"), "object": "customer"})
    } else if path.ends_with("/attach") {
        json!({"id": "pm_card", "object": "payment_method", "customer": form.get("customer"),
            "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2031}})
    } else {
        let status = if form.get("capture_method").map(String::as_str) == Some("manual") {
            "requires_capture"
        } else {
            "succeeded"
        };
        stub.created.push(format!("pi_{id}"));
        json!({"id": format!("pi_{id}"), "object": "payment_intent", "status": status})
    };
    if let Some(key) = key {
        stub.answers.insert(key, answer.clone());
    }
    if stub.fail_first {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"type": "api_error", "message": "An unknown error occurred"}})),
        );
    }
    (StatusCode::OK, Json(answer))
}

async fn serve(fail_first: bool) -> (Shared, String) {
    let stub: Shared = Arc::new(Mutex::new(Stub {
        fail_first,
        ..Stub::default()
    }));
    let app = Router::new()
        .route(
            "/v1/customers",
            post(
                |State(stub): State<Shared>,
                 headers: HeaderMap,
                 AxumForm(form): AxumForm<HashMap<String, String>>| async move {
                    handle(&stub, "/v1/customers".into(), &headers, form)
                },
            ),
        )
        .route(
            "/v1/payment_intents",
            post(
                |State(stub): State<Shared>,
                 headers: HeaderMap,
                 AxumForm(form): AxumForm<HashMap<String, String>>| async move {
                    handle(&stub, "/v1/payment_intents".into(), &headers, form)
                },
            ),
        )
        .route(
            "/v1/payment_methods/{id}/attach",
            post(
                |State(stub): State<Shared>,
                 Path(id): Path<String>,
                 headers: HeaderMap,
                 AxumForm(form): AxumForm<HashMap<String, String>>| async move {
                    handle(
                        &stub,
                        format!("/v1/payment_methods/{id}/attach"),
                        &headers,
                        form,
                    )
                },
            ),
        )
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (stub, format!("http://{address}"))
}

fn provider(dir: &std::path::Path, base: &str) -> StripeProvider {
    let config = storage::StorageConfig {
        data_dir: dir.to_owned(),
        cache_capacity_mb: 4,
        flush_every_ms: 50,
        commit_window_us: 1_000,
        ..storage::StorageConfig::default()
    };
    let store = Store::open(&config, "billing").unwrap();
    let billing = BillingConfig {
        provider: "stripe".into(),
        stripe_api_base: base.into(),
        stripe_secret_key: "sk_test_stub".into(),
        stripe_webhook_secret: "whsec_stub".into(),
        ..BillingConfig::default()
    };
    StripeProvider::open(&store, &billing).unwrap()
}

#[tokio::test]
async fn a_hold_retried_after_a_failure_sends_the_same_key_and_holds_once() {
    let (stub, base) = serve(true).await;
    let dir = tempfile::tempdir().unwrap();
    let stripe = provider(dir.path(), &base);

    let first = stripe.authorize_hold("cus_1:pm_1", 6_000, "r1:hold").await;
    assert!(
        matches!(first, Err(PaymentError::Unavailable(_))),
        "{first:?}"
    );
    let retried = stripe
        .authorize_hold("cus_1:pm_1", 6_000, "r1:hold")
        .await
        .unwrap();

    let stub = stub.lock().unwrap();
    assert_eq!(stub.created, ["pi_obj_1"], "one intent for two calls");
    assert_eq!(retried, ProviderRef("pi_obj_1".into()));
    let keys: Vec<_> = stub.seen.iter().map(|seen| seen.key.clone()).collect();
    assert_eq!(
        keys,
        [Some("r1:hold".to_owned()), Some("r1:hold".to_owned())]
    );
    let form = &stub.seen[0].form;
    for (name, value) in [
        ("amount", "6000"),
        ("currency", "brl"),
        ("capture_method", "manual"),
        ("confirm", "true"),
        ("off_session", "true"),
        ("customer", "cus_1"),
        ("payment_method", "pm_1"),
    ] {
        assert_eq!(form.get(name).map(String::as_str), Some(value), "{name}");
    }
}

#[tokio::test]
async fn a_charge_retried_after_a_failure_charges_once() {
    let (stub, base) = serve(true).await;
    let dir = tempfile::tempdir().unwrap();
    let stripe = provider(dir.path(), &base);

    assert!(
        stripe
            .charge("cus_1:pm_1", 2_500, "r1:extra")
            .await
            .is_err()
    );
    let charged = stripe
        .charge("cus_1:pm_1", 2_500, "r1:extra")
        .await
        .unwrap();
    let stub = stub.lock().unwrap();
    assert_eq!(stub.created, vec![charged.0]);
    assert_eq!(
        stub.seen[0].form.get("capture_method").map(String::as_str),
        Some("automatic")
    );
}

#[tokio::test]
async fn a_registration_retried_after_failures_makes_one_customer_and_later_cards_reuse_it() {
    let (stub, base) = serve(true).await;
    let dir = tempfile::tempdir().unwrap();
    let stripe = provider(dir.path(), &base);
    let customer = CustomerId::new();

    // The Customer is created, then the answer is lost; the retry (same key) finds it.
    let lost = stripe.register_card(customer, "pm_card", "reg").await;
    assert!(
        matches!(lost, Err(PaymentError::Unavailable(_))),
        "{lost:?}"
    );
    // Now the Customer is known; the attach is done but its answer lost.
    let lost = stripe.register_card(customer, "pm_card", "reg").await;
    assert!(
        matches!(lost, Err(PaymentError::Unavailable(_))),
        "{lost:?}"
    );
    let card = stripe
        .register_card(customer, "pm_card", "reg")
        .await
        .unwrap();
    assert_eq!(card.token, "cus_obj_1:pm_card");
    assert_eq!(
        (
            card.brand,
            card.last4.as_str(),
            card.exp_month,
            card.exp_year
        ),
        (crate::domain::CardBrand::Visa, "4242", 12, 2031)
    );
    // A card change later (another key) attaches to the same Customer without creating one.
    stub.lock().unwrap().fail_first = false;
    let changed = stripe
        .register_card(customer, "pm_card", "change")
        .await
        .unwrap();
    assert_eq!(changed.token, card.token);

    let stub = stub.lock().unwrap();
    assert_eq!(stub.created, ["cus_obj_1"], "one Stripe Customer");
    let creations: Vec<_> = stub
        .seen
        .iter()
        .filter(|seen| seen.path == "/v1/customers")
        .collect();
    assert_eq!(
        creations.len(),
        2,
        "the retry asked again, with the same key"
    );
    assert_eq!(creations[0].key, creations[1].key);
    assert_eq!(
        creations[0].form.get("metadata[customer_id]"),
        Some(&customer.to_string())
    );
    let attaches: Vec<_> = stub
        .seen
        .iter()
        .filter(|seen| seen.path.ends_with("/attach"))
        .map(|seen| (seen.key.clone(), seen.form.get("customer").cloned()))
        .collect();
    assert_eq!(
        attaches,
        [
            (Some("reg:attach".into()), Some("cus_obj_1".into())),
            (Some("reg:attach".into()), Some("cus_obj_1".into())),
            (Some("change:attach".into()), Some("cus_obj_1".into())),
        ]
    );
}

#[tokio::test]
async fn tokens_that_are_not_stripe_ids_never_reach_the_api() {
    let (stub, base) = serve(false).await;
    let dir = tempfile::tempdir().unwrap();
    let stripe = provider(dir.path(), &base);
    for token in ["", "pm_1", "cus_1:", "cus_1:../../v1/refunds", "cus_1:pm 1"] {
        assert_eq!(
            stripe.authorize_hold(token, 100, "k").await,
            Err(PaymentError::UnknownToken),
            "{token:?}"
        );
    }
    assert_eq!(
        stripe
            .register_card(CustomerId::new(), "pm_1/detach", "k")
            .await,
        Err(PaymentError::UnknownToken)
    );
    assert!(stub.lock().unwrap().seen.is_empty());
}
