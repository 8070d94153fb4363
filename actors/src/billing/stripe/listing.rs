//! The day's PaymentIntents, for reconciliation (`GET /v1/payment_intents` with a `created`
//! range, paged with `starting_after`, each intent's latest Charge expanded for its refunds).
//!
//! Stripe books the part of a hold that was not captured as refunded on the Charge (a partial
//! capture, or a cancelled authorization): the ledger calls that a release, not a refund, so it
//! is taken off `amount_refunded` here to compare like with like. Source: Stripe's API
//! reference, PaymentIntent (`amount`, `amount_received`, `status`, `latest_charge`) and Charge
//! (`amount_refunded`), API version 2024-06-20.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::StripeProvider;
use super::client::Form;
use crate::billing::provider::{PaymentError, ProviderPayment};

/// Intents per page: Stripe's largest.
const PAGE: u32 = 100;

/// Pages read at most in one listing: a day of a city's rentals is far below this many
/// intents, and a runaway listing must end.
const MAX_PAGES: usize = 1_000;

fn unreadable(what: &str) -> PaymentError {
    PaymentError::Unavailable(format!("Stripe's list of payments is unreadable: {what}"))
}

/// One listed intent as the ledger counts it.
pub(super) fn payment_of(intent: &Value) -> Result<ProviderPayment, PaymentError> {
    let reference = intent["id"]
        .as_str()
        .ok_or_else(|| unreadable("an intent without id"))?;
    let amount = intent["amount"]
        .as_i64()
        .ok_or_else(|| unreadable("an intent without amount"))?;
    let created = intent["created"]
        .as_i64()
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .ok_or_else(|| unreadable("an intent without creation time"))?;
    let status = intent["status"].as_str().unwrap_or_default();
    let captured = intent["amount_received"].as_i64().unwrap_or(0);
    let charge_refunded = intent["latest_charge"]["amount_refunded"]
        .as_i64()
        .unwrap_or(0);
    // What Stripe gave back of the authorization without it ever being taken.
    let released = match status {
        "succeeded" | "canceled" => amount - captured,
        _ => 0,
    };
    Ok(ProviderPayment {
        reference: reference.to_owned(),
        created_at: created,
        authorized_cents: amount,
        captured_cents: captured,
        refunded_cents: (charge_refunded - released).max(0),
        voided: status == "canceled",
    })
}

impl StripeProvider {
    /// Every PaymentIntent created in `[from, to)`.
    pub(super) async fn list_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ProviderPayment>, PaymentError> {
        let mut listed = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = Form::new()
                .field("limit", PAGE)
                .field("created[gte]", from.timestamp())
                .field("created[lt]", to.timestamp())
                .field("expand[]", "data.latest_charge");
            if let Some(last) = &after {
                query = query.field("starting_after", last);
            }
            let page = self.client.get("/v1/payment_intents", &query).await?;
            let intents = page["data"]
                .as_array()
                .ok_or_else(|| unreadable("no data"))?;
            for intent in intents {
                listed.push(payment_of(intent)?);
            }
            let more = page["has_more"].as_bool().unwrap_or(false);
            match intents.last().and_then(|intent| intent["id"].as_str()) {
                Some(last) if more => after = Some(last.to_owned()),
                _ => return Ok(listed),
            }
        }
        Err(unreadable("more pages than a day can have"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::extract::{Query, State};
    use axum::routing::get;
    use axum::{Json, Router};
    use serde_json::json;

    use super::*;
    use crate::config::BillingConfig;

    fn intent(id: &str, amount: i64, status: &str, received: i64, refunded: i64) -> Value {
        json!({
            "id": id, "object": "payment_intent", "amount": amount, "created": 1_796_000_000,
            "status": status, "amount_received": received, "currency": "brl",
            "latest_charge": {"id": format!("ch_{id}"), "object": "charge",
                              "amount_refunded": refunded}
        })
    }

    #[test]
    fn releases_are_not_refunds_and_cancels_are_voids() {
        let held = payment_of(&intent("pi_held", 6_000, "requires_capture", 0, 0)).unwrap();
        assert_eq!(
            (
                held.authorized_cents,
                held.captured_cents,
                held.refunded_cents
            ),
            (6_000, 0, 0)
        );
        // 4,000 of 6,000 captured, then 500 refunded: Stripe shows 2,500 refunded.
        let partial = payment_of(&intent("pi_partial", 6_000, "succeeded", 4_000, 2_500)).unwrap();
        assert_eq!(
            (partial.captured_cents, partial.refunded_cents),
            (4_000, 500)
        );
        let cancelled = payment_of(&intent("pi_void", 6_000, "canceled", 0, 6_000)).unwrap();
        assert!(cancelled.voided);
        assert_eq!(cancelled.refunded_cents, 0);
        assert!(payment_of(&json!({"object": "payment_intent"})).is_err());
    }

    #[tokio::test]
    async fn a_listing_follows_the_pages_with_the_range_and_the_expanded_charge() {
        type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;
        let seen: Seen = Arc::default();
        let app = Router::new()
            .route(
                "/v1/payment_intents",
                get(
                    |State(seen): State<Seen>,
                     Query(query): Query<Vec<(String, String)>>| async move {
                        let first = !query.iter().any(|(name, _)| name == "starting_after");
                        seen.lock().unwrap().push(query);
                        let (data, more) = if first {
                            (vec![intent("pi_2", 3_000, "succeeded", 3_000, 0)], true)
                        } else {
                            (vec![intent("pi_1", 6_000, "requires_capture", 0, 0)], false)
                        };
                        Json(json!({"object": "list", "data": data, "has_more": more}))
                    },
                ),
            )
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let dir = tempfile::tempdir().unwrap();
        let store = storage::Store::open(
            &storage::StorageConfig {
                data_dir: dir.path().to_owned(),
                ..storage::StorageConfig::default()
            },
            "billing",
        )
        .unwrap();
        let config = BillingConfig {
            stripe_api_base: format!("http://{address}"),
            stripe_secret_key: "sk_test_listing".into(),
            ..BillingConfig::default()
        };
        let stripe = StripeProvider::open(&store, &config).unwrap();
        let from = DateTime::from_timestamp(1_795_996_800, 0).unwrap();
        let to = DateTime::from_timestamp(1_796_083_200, 0).unwrap();

        let listed = stripe.list_between(from, to).await.unwrap();
        let references: Vec<_> = listed.iter().map(|p| p.reference.as_str()).collect();
        assert_eq!(references, ["pi_2", "pi_1"]);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        let has = |query: &[(String, String)], name: &str, value: &str| {
            query.iter().any(|(n, v)| n == name && v == value)
        };
        assert!(has(&seen[0], "created[gte]", "1795996800"), "{:?}", seen[0]);
        assert!(has(&seen[0], "created[lt]", "1796083200"));
        assert!(has(&seen[0], "expand[]", "data.latest_charge"));
        assert!(has(&seen[1], "starting_after", "pi_2"));
    }
}
