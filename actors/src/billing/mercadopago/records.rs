//! Reading payments back from Mercado Pago: one payment's state (`GET /v1/payments/{id}`),
//! which its notifications do not carry, and the payments created in a window
//! (`GET /v1/payments/search`) for reconciliation.
//!
//! A payment's amounts in the port's terms: authorized is its `transaction_amount`; captured
//! is the same once `captured` is true and the money was taken (`approved`, and the states an
//! approved payment moves on to: `refunded`, `charged_back`, `in_mediation`); refunded is
//! `transaction_amount_refunded`; a `cancelled` payment is a voided hold. A capture for less
//! than the reserve sets the payment's `transaction_amount` to what was taken, and the payment
//! keeps no other amount of the reserve, so such a payment reads as authorized for what was
//! captured (and reconciliation names it).
//!
//! Sources (Mercado Pago Developers): the API reference of "Get payment" and "Search
//! payments" (`/developers/en/reference/payments/…`), and "Get payment status" (Checkout API,
//! response handling) for the statuses.

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::super::provider::{PaymentError, PaymentState, ProviderPayment, ProviderRef};
use super::answers::{Id, decode_error};
use super::client::ClientError;
use super::{MercadoPagoProvider, money, path_id};

/// Payments asked for per page of a search.
const PAGE: usize = 100;

/// The most payments a window may hold: Mercado Pago's search does not page past an offset
/// of 10,000, so a longer list could not be read whole and is refused rather than cut.
const MOST: usize = 10_000;

/// A payment as read back, as far as the port needs it.
#[derive(Debug, Deserialize)]
pub(super) struct PaymentRecord {
    id: Id,
    #[serde(default)]
    status: String,
    #[serde(default)]
    status_detail: String,
    date_created: Option<String>,
    transaction_amount: Option<Value>,
    transaction_amount_refunded: Option<Value>,
    #[serde(default)]
    captured: bool,
}

#[derive(Debug, Deserialize)]
struct Paging {
    total: usize,
}

#[derive(Debug, Deserialize)]
struct SearchPage {
    paging: Paging,
    #[serde(default)]
    results: Vec<PaymentRecord>,
}

fn cents(value: Option<&Value>) -> Result<i64, PaymentError> {
    match value {
        None | Some(Value::Null) => Ok(0),
        Some(value) => money::from_json(value)
            .ok_or_else(|| decode_error("an amount that is not a whole number of centavos")),
    }
}

impl PaymentRecord {
    /// The payment in the port's terms (see the module doc).
    pub(super) fn state(&self) -> Result<PaymentState, PaymentError> {
        let reference = super::answers::payment_ref(&self.id)?.0;
        let created_at = self
            .date_created
            .as_deref()
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|at| at.with_timezone(&Utc))
            .ok_or_else(|| decode_error("a payment without a readable date_created"))?;
        let authorized = cents(self.transaction_amount.as_ref())?;
        let disputed = matches!(self.status.as_str(), "charged_back" | "in_mediation")
            || self.status_detail.contains("chargeback");
        let taken = matches!(self.status.as_str(), "approved" | "refunded") || disputed;
        Ok(PaymentState {
            payment: ProviderPayment {
                reference,
                created_at,
                authorized_cents: authorized,
                captured_cents: if self.captured && taken {
                    authorized
                } else {
                    0
                },
                refunded_cents: cents(self.transaction_amount_refunded.as_ref())?,
                voided: self.status == "cancelled",
            },
            disputed,
            detail: (!self.status_detail.is_empty()).then(|| self.status_detail.clone()),
        })
    }
}

/// A time as the search's `begin_date` and `end_date` take it (ISO 8601 with milliseconds, in
/// UTC).
fn search_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl MercadoPagoProvider {
    /// The payment `reference`; `None` if Mercado Pago has none by that id.
    pub(super) async fn read_payment(
        &self,
        reference: &str,
    ) -> Result<Option<PaymentState>, PaymentError> {
        let reference = ProviderRef(reference.to_owned());
        let id = path_id(&reference)?;
        let read: Result<PaymentRecord, ClientError> = self
            .client
            .call(Method::GET, &format!("/v1/payments/{id}"), None, None)
            .await;
        match read {
            Ok(record) => record.state().map(Some),
            Err(ClientError::Status { status: 404, .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// The payments created in `[from, to)`, oldest first, page by page.
    pub(super) async fn list_payments(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ProviderPayment>, PaymentError> {
        let mut listed = Vec::new();
        loop {
            let path = format!(
                "/v1/payments/search?sort=date_created&criteria=asc&range=date_created\
                 &begin_date={}&end_date={}&limit={PAGE}&offset={}",
                search_time(from),
                search_time(to),
                listed.len()
            );
            let page: SearchPage = self.client.call(Method::GET, &path, None, None).await?;
            if page.paging.total > MOST {
                return Err(PaymentError::InvalidRequest {
                    reason: format!(
                        "{} payments in the window, more than Mercado Pago's search pages through",
                        page.paging.total
                    ),
                });
            }
            let count = page.results.len();
            for record in &page.results {
                let payment = record.state()?.payment;
                // The search's end is inclusive; the port's window is not.
                if payment.created_at < to {
                    listed.push(payment);
                }
            }
            if count == 0 || listed.len() >= page.paging.total || count < PAGE {
                return Ok(listed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> PaymentState {
        serde_json::from_value::<PaymentRecord>(value)
            .expect("a payment")
            .state()
            .expect("readable")
    }

    #[test]
    fn a_payments_state_maps_onto_the_ports_amounts() {
        let base = |status: &str, detail: &str, captured: bool, refunded: f64| {
            json!({"id": 1_300_000_010_u64, "status": status, "status_detail": detail,
                "date_created": "2026-12-01T09:10:06.000-04:00", "transaction_amount": 60.0,
                "transaction_amount_refunded": refunded, "captured": captured})
        };
        let held = record(base("authorized", "pending_capture", false, 0.0));
        assert_eq!(held.payment.reference, "1300000010");
        assert_eq!(
            held.payment.created_at.to_rfc3339(),
            "2026-12-01T13:10:06+00:00"
        );
        assert_eq!(
            (held.payment.authorized_cents, held.payment.captured_cents),
            (6_000, 0)
        );
        let refunded = record(base("approved", "partially_refunded", true, 12.5));
        assert_eq!(
            (
                refunded.payment.captured_cents,
                refunded.payment.refunded_cents
            ),
            (6_000, 1_250)
        );
        assert!(!refunded.disputed && !refunded.payment.voided);
        let whole = record(base("refunded", "refunded", true, 60.0));
        assert_eq!(whole.payment.captured_cents, 6_000);
        let cancelled = record(base("cancelled", "expired", false, 0.0));
        assert!(cancelled.payment.voided);
        assert_eq!(cancelled.detail.as_deref(), Some("expired"));
        assert!(record(base("charged_back", "settled", true, 0.0)).disputed);
        assert!(record(base("in_mediation", "", true, 0.0)).disputed);
        // An amount with a fraction of a centavo is not guessed at.
        let mut odd = base("approved", "accredited", true, 0.0);
        odd["transaction_amount"] = json!(60.005);
        assert!(
            serde_json::from_value::<PaymentRecord>(odd)
                .expect("a payment")
                .state()
                .is_err()
        );
    }

    #[test]
    fn search_times_are_iso_8601_in_utc_with_milliseconds() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T00:00:00-03:00")
            .expect("a time")
            .with_timezone(&Utc);
        assert_eq!(search_time(at), "2026-12-01T03:00:00.000Z");
    }
}
