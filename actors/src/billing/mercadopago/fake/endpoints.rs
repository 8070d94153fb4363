//! The fake's endpoints: each checks its request's fields as the API reference documents them
//! and answers with the documented shape.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode, Uri};
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::{Answer, Card, Customer, Fake, FakePayment, Holder, Token, bad, error};

fn not_found(message: &str) -> Answer {
    error(StatusCode::NOT_FOUND, message)
}

/// Reais as Mercado Pago writes them (a JSON number).
fn reais(cents: i64) -> Value {
    json!(cents as f64 / 100.0)
}

/// The centavos of a JSON number of reais with at most two decimals.
fn cents_of(value: Option<&Value>, field: &str) -> Result<i64, Answer> {
    let invalid = || {
        bad(&format!(
            "{field} must be a positive number with at most two decimals"
        ))
    };
    let Some(Value::Number(number)) = value else {
        return Err(invalid());
    };
    let text = number.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let fraction = fraction.trim_end_matches('0');
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 2
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    let whole: i64 = whole.parse().map_err(|_| invalid())?;
    let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    let cents = whole * 100 + fraction;
    if cents <= 0 {
        return Err(invalid());
    }
    Ok(cents)
}

fn text<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, Answer> {
    match body.get(field) {
        Some(Value::String(text)) if !text.is_empty() => Ok(text),
        _ => Err(bad(&format!("{field} is required and must be a string"))),
    }
}

fn flag(body: &Map<String, Value>, field: &str) -> Result<Option<bool>, Answer> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(*value)),
        Some(_) => Err(bad(&format!("{field} must be a boolean"))),
    }
}

fn card_json(id: &str, customer: &str, card: &Card) -> Value {
    json!({
        "id": id,
        "customer_id": customer,
        "first_six_digits": card.first_six,
        "last_four_digits": card.last_four,
        "expiration_month": card.exp_month,
        "expiration_year": card.exp_year,
        "payment_method": {"id": card.method, "name": "Mastercard", "payment_type_id": "credit_card"},
        "issuer": {"id": 24, "name": "Mastercard"},
        "cardholder": {"name": holder_name(card.holder)},
    })
}

fn holder_name(holder: Holder) -> &'static str {
    match holder {
        Holder::Apro => "APRO",
        Holder::Fund => "FUND",
        Holder::Othe => "OTHE",
        Holder::Call => "CALL",
        Holder::Cont => "CONT",
    }
}

fn payment_json(payment: &FakePayment) -> Value {
    json!({
        "id": payment.id,
        "status": payment.status,
        "status_detail": payment.status_detail,
        "transaction_amount": reais(payment.amount_cents),
        "transaction_amount_refunded": reais(payment.refunded_cents),
        "captured": payment.captured,
        "currency_id": "BRL",
        "installments": 1,
        "payer": {"type": "customer", "id": payment.customer_id},
        "date_created": local_time(payment.created_at),
    })
}

/// A time as Mercado Pago writes it: in the account's time zone (São Paulo, UTC-3, for a
/// Brazilian account), which readers must not take for UTC.
fn local_time(at: DateTime<Utc>) -> String {
    match FixedOffset::west_opt(3 * 3600) {
        Some(brt) => at
            .with_timezone(&brt)
            .to_rfc3339_opts(SecondsFormat::Millis, false),
        None => at.to_rfc3339_opts(SecondsFormat::Millis, false),
    }
}

/// Records a refund of `cents` on `payment` (checked by the caller).
pub(super) fn refund_payment(payment: &mut FakePayment, cents: i64) {
    payment.refunded_cents += cents;
    if payment.refunded_cents == payment.amount_cents {
        payment.status = "refunded".into();
        payment.status_detail = "refunded".into();
    } else {
        payment.status_detail = "partially_refunded".into();
    }
}

/// A search's time (`begin_date`, `end_date`): ISO 8601 with its offset, as the reference
/// documents `yyyy-MM-dd'T'HH:mm:ss.SSSZ`.
fn search_time(value: Option<&str>, field: &str) -> Result<DateTime<Utc>, Answer> {
    value
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| {
            bad(&format!(
                "{field} is required with range, as yyyy-MM-dd'T'HH:mm:ss.SSSZ"
            ))
        })
}

impl Fake {
    pub(super) fn route(
        &mut self,
        method: &Method,
        uri: &Uri,
        body: &Map<String, Value>,
    ) -> Answer {
        let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
        let result = match (method.as_str(), segments.as_slice()) {
            ("POST", ["v1", "customers"]) => self.create_customer(body),
            ("GET", ["v1", "customers", "search"]) => Ok(self.search(uri.query().unwrap_or(""))),
            ("POST", ["v1", "customers", customer, "cards"]) => self.save_card(customer, body),
            ("DELETE", ["v1", "customers", customer, "cards", card]) => {
                self.delete_card(customer, card)
            }
            ("POST", ["v1", "card_tokens"]) => self.card_token(body),
            ("POST", ["v1", "payments"]) => self.create_payment(body),
            ("GET", ["v1", "payments", "search"]) => self.search_payments(uri.query()),
            ("GET", ["v1", "payments", id]) => self
                .payment(id)
                .map(|payment| (StatusCode::OK, payment_json(payment))),
            ("PUT", ["v1", "payments", id]) => self.update_payment(id, body),
            ("POST", ["v1", "payments", id, "refunds"]) => self.refund(id, body),
            _ => Err(not_found("resource not found")),
        };
        result.unwrap_or_else(|answer| answer)
    }

    fn create_customer(&mut self, body: &Map<String, Value>) -> Result<Answer, Answer> {
        let email = text(body, "email")?;
        if !email.contains('@') {
            return Err(bad("invalid email"));
        }
        if self.customers.values().any(|c| c.email == email) {
            return Err(bad("the customer already exist"));
        }
        let id = format!("{}-fakeCustomer", self.next());
        self.customers.insert(
            id.clone(),
            Customer {
                email: email.to_owned(),
                cards: BTreeMap::new(),
            },
        );
        Ok((
            StatusCode::CREATED,
            json!({"id": id, "email": email, "cards": [], "live_mode": false}),
        ))
    }

    fn search(&self, query: &str) -> Answer {
        let email = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("email="))
            .map(|email| email.replace("%40", "@"));
        let results: Vec<Value> = self
            .customers
            .iter()
            .filter(|(_, customer)| Some(&customer.email) == email.as_ref())
            .map(|(id, customer)| json!({"id": id, "email": customer.email}))
            .collect();
        (
            StatusCode::OK,
            json!({"paging": {"limit": 10, "offset": 0, "total": results.len()}, "results": results}),
        )
    }

    fn save_card(&mut self, customer: &str, body: &Map<String, Value>) -> Result<Answer, Answer> {
        let token_id = text(body, "token")?.to_owned();
        if !self.customers.contains_key(customer) {
            return Err(not_found("customer not found"));
        }
        let card = match self.tokens.get_mut(&token_id) {
            Some(token) if !token.used => {
                token.used = true;
                token.card.clone()
            }
            _ => return Err(bad("Card Token not found")),
        };
        let id = self.next().to_string();
        let answer = card_json(&id, customer, &card);
        if let Some(customer) = self.customers.get_mut(customer) {
            customer.cards.insert(id, card);
        }
        Ok((StatusCode::CREATED, answer))
    }

    fn delete_card(&mut self, customer: &str, card: &str) -> Result<Answer, Answer> {
        let removed = self
            .customers
            .get_mut(customer)
            .and_then(|c| c.cards.remove(card))
            .ok_or_else(|| not_found("card not found"))?;
        Ok((StatusCode::OK, card_json(card, customer, &removed)))
    }

    fn card_token(&mut self, body: &Map<String, Value>) -> Result<Answer, Answer> {
        let card_id = text(body, "card_id")
            .map_err(|_| bad("card_id is required (the fake makes tokens of saved cards only)"))?;
        let customer_id = text(body, "customer_id")?;
        let card = self
            .customers
            .get(customer_id)
            .and_then(|customer| customer.cards.get(card_id))
            .cloned()
            .ok_or_else(|| not_found("card not found"))?;
        let id = format!("{:032x}", self.next());
        let answer = json!({
            "id": id,
            "card_id": card_id,
            "first_six_digits": card.first_six,
            "last_four_digits": card.last_four,
            "expiration_month": card.exp_month,
            "expiration_year": card.exp_year,
            "status": "active",
            "live_mode": false,
        });
        self.tokens.insert(
            id,
            Token {
                card,
                used: false,
                saved: Some((customer_id.to_owned(), card_id.to_owned())),
            },
        );
        Ok((StatusCode::CREATED, answer))
    }

    fn create_payment(&mut self, body: &Map<String, Value>) -> Result<Answer, Answer> {
        let cents = cents_of(body.get("transaction_amount"), "transaction_amount")?;
        let token_id = text(body, "token")?;
        match body.get("installments") {
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n >= 1) => {}
            _ => {
                return Err(bad(
                    "installments is required and must be a positive integer",
                ));
            }
        }
        let method = text(body, "payment_method_id")?;
        let Some(Value::Object(payer)) = body.get("payer") else {
            return Err(bad("payer is required"));
        };
        let payer_customer = match payer.get("type").and_then(Value::as_str) {
            Some("customer") => Some(text(payer, "id")?.to_owned()),
            _ => {
                text(payer, "email")?;
                None
            }
        };
        let capture = flag(body, "capture")?.unwrap_or(true);
        let binary = flag(body, "binary_mode")?.unwrap_or(false);
        let token = match self.tokens.get_mut(token_id) {
            Some(token) if !token.used => token,
            _ => return Err(bad("Card Token not found")),
        };
        if token.card.method != method {
            return Err(bad("payment_method_id does not match the card"));
        }
        if let (Some(payer), Some((owner, _))) = (&payer_customer, &token.saved)
            && payer != owner
        {
            return Err(bad("the payer is not the card's customer"));
        }
        token.used = true;
        let (status, detail) = match token.card.holder {
            Holder::Apro if capture => ("approved", "accredited"),
            Holder::Apro => ("authorized", "pending_capture"),
            Holder::Fund => ("rejected", "cc_rejected_insufficient_amount"),
            Holder::Othe => ("rejected", "cc_rejected_other_reason"),
            Holder::Call => ("rejected", "cc_rejected_call_for_authorize"),
            Holder::Cont if binary => ("rejected", "cc_rejected_other_reason"),
            Holder::Cont => ("in_process", "pending_contingency"),
        };
        let id = self.next();
        let payment = FakePayment {
            id,
            status: status.into(),
            status_detail: detail.into(),
            amount_cents: cents,
            captured: status == "approved",
            refunded_cents: 0,
            customer_id: payer_customer,
            created_at: Utc::now(),
        };
        let answer = payment_json(&payment);
        self.payments.insert(id, payment);
        Ok((StatusCode::CREATED, answer))
    }

    /// `GET /v1/payments/search`, with the parameters the reconciliation uses checked as the
    /// reference documents them: `sort` and `criteria`, `range=date_created` with both dates
    /// (inclusive), `limit` up to 1000 and `offset`.
    fn search_payments(&self, query: Option<&str>) -> Result<Answer, Answer> {
        let params: BTreeMap<&str, String> = query
            .unwrap_or("")
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(name, value)| (name, value.replace("%3A", ":").replace("%2B", "+")))
            .collect();
        let param = |name: &str| params.get(name).map(String::as_str);
        if !matches!(
            param("sort"),
            Some("date_created" | "date_approved" | "date_last_updated" | "id")
        ) {
            return Err(bad("Invalid sort value."));
        }
        let descending = match param("criteria") {
            Some("asc") => false,
            Some("desc") => true,
            _ => return Err(bad("Invalid criteria value.")),
        };
        let window = match param("range") {
            None => None,
            Some("date_created") => Some((
                search_time(param("begin_date"), "begin_date")?,
                search_time(param("end_date"), "end_date")?,
            )),
            Some(_) => return Err(bad("the fake searches by range=date_created only")),
        };
        let number = |name: &str, default: usize| match param(name) {
            None => Ok(default),
            Some(text) => text
                .parse::<usize>()
                .map_err(|_| bad(&format!("{name} must be a number"))),
        };
        let limit = number("limit", 30)?;
        let offset = number("offset", 0)?;
        if limit == 0 || limit > 1000 {
            return Err(bad("Number of rows exceeded the limits."));
        }
        let mut found: Vec<&FakePayment> = self
            .payments
            .values()
            .filter(|payment| {
                window.is_none_or(|(begin, end)| (begin..=end).contains(&payment.created_at))
            })
            .collect();
        found.sort_by_key(|payment| (payment.created_at, payment.id));
        if descending {
            found.reverse();
        }
        let results: Vec<Value> = found
            .iter()
            .skip(offset)
            .take(limit)
            .map(|payment| payment_json(payment))
            .collect();
        Ok((
            StatusCode::OK,
            json!({"paging": {"total": found.len(), "limit": limit, "offset": offset}, "results": results}),
        ))
    }

    fn payment(&mut self, id: &str) -> Result<&mut FakePayment, Answer> {
        id.parse::<u64>()
            .ok()
            .and_then(|id| self.payments.get_mut(&id))
            .ok_or_else(|| not_found("Payment not found"))
    }

    fn update_payment(&mut self, id: &str, body: &Map<String, Value>) -> Result<Answer, Answer> {
        let capture = flag(body, "capture")?;
        let cancel = match body.get("status") {
            None => false,
            Some(Value::String(status)) if status == "cancelled" => true,
            Some(_) => return Err(bad("status may only be cancelled")),
        };
        let amount = match body.get("transaction_amount") {
            None => None,
            value => Some(cents_of(value, "transaction_amount")?),
        };
        let payment = self.payment(id)?;
        match (capture, cancel) {
            (Some(true), false) => {
                if payment.status != "authorized" {
                    return Err(bad("the payment is not authorized"));
                }
                let amount = amount.unwrap_or(payment.amount_cents);
                if amount > payment.amount_cents {
                    return Err(bad("transaction_amount exceeds the authorized amount"));
                }
                payment.amount_cents = amount;
                payment.status = "approved".into();
                payment.status_detail = "accredited".into();
                payment.captured = true;
            }
            (None, true) => {
                if !matches!(
                    payment.status.as_str(),
                    "authorized" | "in_process" | "pending"
                ) {
                    return Err(bad("the payment cannot be cancelled"));
                }
                payment.status = "cancelled".into();
                payment.status_detail = "by_collector".into();
            }
            _ => return Err(bad("send either capture: true or status: cancelled")),
        }
        Ok((StatusCode::OK, payment_json(payment)))
    }

    fn refund(&mut self, id: &str, body: &Map<String, Value>) -> Result<Answer, Answer> {
        let amount = match body.get("amount") {
            None => None,
            value => Some(cents_of(value, "amount")?),
        };
        let refund_id = self.next();
        let payment = self.payment(id)?;
        if payment.status != "approved" {
            return Err(bad("Payment not in a refundable state"));
        }
        let left = payment.amount_cents - payment.refunded_cents;
        let amount = amount.unwrap_or(left);
        if amount > left {
            return Err(bad("Invalid refund amount"));
        }
        refund_payment(payment, amount);
        Ok((
            StatusCode::CREATED,
            json!({"id": refund_id, "payment_id": payment.id, "amount": reais(amount), "status": "approved"}),
        ))
    }
}
