//! The payment providers' webhooks: `POST /v1/billing/webhooks/stripe` and
//! `POST /v1/billing/webhooks/mercadopago`.
//!
//! The raw body is read as bytes and the signature verified before anything of it is parsed
//! (`actors::billing::signatures`): a missing or unreadable signature is 400, a wrong or stale
//! one 401. A verified notification is answered 200 at once with what it came to; the charge's
//! actor applies it to the ledger (found by the provider's reference), and a replayed event
//! (same provider event id) is acknowledged without changing anything.

use actors::ErrorKind;
use actors::billing::signatures::{self, SignatureError};
use actors::billing::{EventOutcome, ProviderEvent, ProviderNotice, ProviderRef};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

/// This resource's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stripe_webhook))
        .routes(routes!(mercadopago_webhook))
}

/// The acknowledgement of a verified notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    /// Always `true`.
    pub received: bool,
    /// What it came to: `applied` (the charge's ledger changed), `unchanged` (it already said
    /// so), `duplicate` (this event was received before), `unknown_payment` (no charge of
    /// ours), `ignored` (recorded, not acted on).
    #[schema(example = "applied")]
    pub outcome: &'static str,
}

fn ack(outcome: EventOutcome) -> ApiJson<WebhookAck> {
    ApiJson(WebhookAck {
        received: true,
        outcome: outcome.as_str(),
    })
}

fn signature_error(error: SignatureError) -> ApiError {
    match error {
        // A signature that cannot be read proves no more than a wrong one: 401 for both.
        SignatureError::Malformed(_)
        | SignatureError::NoSecret
        | SignatureError::Stale
        | SignatureError::Mismatch => ApiError::of(ErrorKind::Unauthenticated, error.to_string()),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// A Stripe event, as far as it is read here.
#[derive(Debug, Deserialize)]
struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: StripeData,
}

#[derive(Debug, Deserialize)]
struct StripeData {
    object: Value,
}

/// What a Stripe event says, in billing's terms; `None` for the kinds not acted on.
fn stripe_event(event: &StripeEvent) -> Option<ProviderEvent> {
    let object = &event.data.object;
    let text = |field: &str| object.get(field).and_then(Value::as_str).map(str::to_owned);
    let cents = |field: &str| object.get(field).and_then(Value::as_i64);
    match event.kind.as_str() {
        // Cancelled by us, by Stripe when the authorization expired (7 days), or from the
        // dashboard: only a hold our ledger still shows open changes.
        "payment_intent.canceled" => Some(ProviderEvent::HoldCancelled {
            hold: ProviderRef(text("id")?),
            reason: text("cancellation_reason"),
        }),
        // Sent for every refund, ours included, with the total refunded from the charge:
        // only what exceeds our ledger is recorded.
        "charge.refunded" => Some(ProviderEvent::Refunded {
            payment: ProviderRef(text("payment_intent").or_else(|| text("id"))?),
            refunded_cents: cents("amount_refunded")?,
        }),
        "charge.dispute.created" => Some(ProviderEvent::DisputeOpened {
            payment: ProviderRef(text("payment_intent").or_else(|| text("charge"))?),
            dispute_id: text("id")?,
            amount_cents: cents("amount").unwrap_or_default(),
            reason: text("reason").unwrap_or_else(|| "unspecified".to_owned()),
        }),
        _ => None,
    }
}

/// Stripe's events: `payment_intent.canceled` (a hold cancelled or expired at Stripe),
/// `charge.refunded` (a refund, recorded when our ledger lacks it), `charge.dispute.created`
/// (recorded, and an incident in the audit). Other kinds are acknowledged and recorded only.
#[utoipa::path(
    post,
    path = "/v1/billing/webhooks/stripe",
    tag = "billing",
    operation_id = "receive_stripe_webhook",
    params(
        ("Stripe-Signature" = String, Header,
            description = "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\" with billing.stripe_webhook_secret>`; several v1 allowed; t within 5 minutes of the server's clock"),
    ),
    request_body(content = Object, content_type = "application/json",
        description = "A Stripe event, exactly as Stripe sent it (the signature covers the raw bytes)"),
    responses(
        (status = 200, description = "Verified and processed (a replay is acknowledged and changes nothing)", body = WebhookAck),
        (status = 400, description = "A verified body that is not a Stripe event", body = Problem),
        (status = 401, description = "No signature, an unreadable one, one that does not match, one more than 5 minutes away, or no secret configured (`unauthenticated`)", body = Problem),
    )
)]
pub async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<ApiJson<WebhookAck>, ApiError> {
    let signature = header(&headers, "stripe-signature").ok_or_else(|| {
        ApiError::of(
            ErrorKind::Unauthenticated,
            "the Stripe-Signature header is missing",
        )
    })?;
    signatures::verify_stripe(
        signature,
        &body,
        &state.config.billing.stripe_webhook_secret,
        state.system.clock().now(),
    )
    .map_err(signature_error)?;
    let event: StripeEvent = serde_json::from_slice(&body)
        .map_err(|error| ApiError::bad_request(format!("not a Stripe event: {error}")))?;
    let billing = &state.services.billing;
    let outcome = match stripe_event(&event) {
        Some(provider_event) => {
            let notice = ProviderNotice {
                provider: "stripe".to_owned(),
                event_id: event.id,
                event: provider_event,
            };
            billing.apply_provider_event(notice).await?
        }
        None => {
            billing
                .record_provider_notification("stripe", &event.id)
                .await?
        }
    };
    Ok(ack(outcome))
}

/// The query string of a Mercado Pago notification.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MercadoPagoQuery {
    /// The resource notified (a payment id); part of the signed manifest.
    #[serde(rename = "data.id")]
    #[param(rename = "data.id")]
    pub data_id: Option<String>,
    /// The notification's topic (`payment`, …).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// The topic, as Mercado Pago's older notifications (IPN) name it (`payment`, …).
    pub topic: Option<String>,
}

/// A Mercado Pago notification's body, as far as it is read here.
#[derive(Debug, Default, Deserialize)]
struct MercadoPagoNotification {
    id: Option<Value>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Mercado Pago's notifications. They name a payment (`type=payment`, `data.id`) without its
/// state, which only the provider's API tells: for a payment, billing reads it from Mercado
/// Pago and applies what it says (cancelled: the hold cancelled; refunds beyond our ledger:
/// recorded; a chargeback: a dispute), deduplicated by the notification's id. Other topics are
/// recorded and acknowledged. The payment id is taken from the query's `data.id` only, the
/// part the signature covers. When Mercado Pago cannot be asked for the payment the answer is
/// 503 and the notification is not remembered, so Mercado Pago's redelivery applies it.
#[utoipa::path(
    post,
    path = "/v1/billing/webhooks/mercadopago",
    tag = "billing",
    operation_id = "receive_mercadopago_webhook",
    params(
        MercadoPagoQuery,
        ("x-signature" = String, Header,
            description = "`ts=<unix seconds>,v1=<hex HMAC-SHA256 of \"id:<data.id>;request-id:<x-request-id>;ts:<ts>;\" with billing.mercadopago_webhook_secret>`; ts within 5 minutes of the server's clock"),
        ("x-request-id" = Option<String>, Header, description = "Mercado Pago's id of the delivery; part of the signed manifest"),
    ),
    request_body(content = Object, content_type = "application/json",
        description = "A Mercado Pago notification, exactly as sent"),
    responses(
        (status = 200, description = "Verified and recorded (a replay is acknowledged and changes nothing)", body = WebhookAck),
        (status = 400, description = "A bad query string, or a verified body that is not JSON", body = Problem),
        (status = 401, description = "No signature, an unreadable one, one that does not match, one more than 5 minutes away, or no secret configured (`unauthenticated`)", body = Problem),
    )
)]
pub async fn mercadopago_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<MercadoPagoQuery>,
    body: Bytes,
) -> Result<ApiJson<WebhookAck>, ApiError> {
    let signature = header(&headers, "x-signature").ok_or_else(|| {
        ApiError::of(
            ErrorKind::Unauthenticated,
            "the x-signature header is missing",
        )
    })?;
    let request_id = header(&headers, "x-request-id");
    signatures::verify_mercadopago(
        signature,
        query.data_id.as_deref(),
        request_id,
        &state.config.billing.mercadopago_webhook_secret,
        state.system.clock().now(),
    )
    .map_err(signature_error)?;
    let notification: MercadoPagoNotification = serde_json::from_slice(&body)
        .map_err(|error| ApiError::bad_request(format!("not a notification: {error}")))?;
    let event_id = match notification.id {
        Some(Value::String(id)) => id,
        Some(Value::Number(id)) => id.to_string(),
        _ => match (request_id, &query.data_id) {
            (Some(request_id), _) => request_id.to_owned(),
            (None, Some(data_id)) => format!(
                "{}:{data_id}",
                query.kind.as_deref().unwrap_or("notification")
            ),
            (None, None) => return Err(ApiError::bad_request("the notification names nothing")),
        },
    };
    let kind = query
        .kind
        .as_deref()
        .or(query.topic.as_deref())
        .or(notification.kind.as_deref());
    let billing = &state.services.billing;
    let outcome = match (kind, &query.data_id) {
        (Some("payment"), Some(payment)) => {
            billing
                .apply_payment_notification("mercadopago", &event_id, payment)
                .await?
        }
        _ => {
            billing
                .record_provider_notification("mercadopago", &event_id)
                .await?
        }
    };
    Ok(ack(outcome))
}
