//! A fake of Mercado Pago's API for tests, written from the public API reference (Payments,
//! Customers, Cards, Card tokens, Refunds): it checks what it is sent (the access token, an
//! `X-Idempotency-Key` on every `POST` and `PUT`, the documented fields and their JSON types), answers
//! with the documented shapes and statuses, keeps payments and their states in memory,
//! answers a repeated idempotency key with the first answer (no second effect), and can be told
//! to fail: a 5xx before any work, a delay (for timeouts), or a 5xx after the work is done.
//!
//! Test cards behave as Mercado Pago's do in its test environment, by the cardholder's name:
//! `APRO` approved, `FUND` insufficient amount, `OTHE` other reason, `CALL` call for
//! authorization, `CONT` pending. The app's SDK is played by [`FakeMercadoPago::app_token`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

mod endpoints;

/// The access token the fake accepts (`Authorization: Bearer <this>`).
pub const ACCESS_TOKEN: &str = "TEST-1234567890123456-120126-fakeaccesstoken-000000000";

/// How a test card answers, by its holder's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// `APRO`: approved.
    Apro,
    /// `FUND`: rejected, `cc_rejected_insufficient_amount`.
    Fund,
    /// `OTHE`: rejected, `cc_rejected_other_reason`.
    Othe,
    /// `CALL`: rejected, `cc_rejected_call_for_authorize`.
    Call,
    /// `CONT`: pending (`in_process`), or rejected in binary mode.
    Cont,
}

/// A failure the fake is told to give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer 500 without doing anything.
    ServerError,
    /// Wait this long, then do the work and answer.
    Delay(Duration),
    /// Do the work (and remember its answer under the idempotency key), then answer 500.
    FailAfterWork,
}

/// A payment as the fake keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePayment {
    /// Mercado Pago's id.
    pub id: u64,
    /// `authorized`, `approved`, `rejected`, `cancelled`, `refunded`, `in_process`.
    pub status: String,
    /// Its detail (`pending_capture`, `accredited`, `cc_rejected_…`).
    pub status_detail: String,
    /// The amount reserved, or taken once captured, in centavos.
    pub amount_cents: i64,
    /// Whether the money was taken.
    pub captured: bool,
    /// What was refunded, in centavos.
    pub refunded_cents: i64,
    /// The payer's customer id.
    pub customer_id: Option<String>,
    /// When it was created (the fake's `date_created`, the real clock's time).
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The method.
    pub method: String,
    /// The path and query.
    pub path: String,
    /// The `X-Idempotency-Key`, if any.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone)]
struct Card {
    holder: Holder,
    first_six: &'static str,
    last_four: &'static str,
    exp_month: u32,
    exp_year: i32,
    method: &'static str,
}

#[derive(Debug)]
struct Token {
    card: Card,
    used: bool,
    /// The saved card it was made from, for tokens made on the server.
    saved: Option<(String, String)>,
}

#[derive(Debug)]
struct Customer {
    email: String,
    cards: BTreeMap<String, Card>,
}

#[derive(Default)]
struct Fake {
    next_id: u64,
    tokens: HashMap<String, Token>,
    customers: BTreeMap<String, Customer>,
    payments: BTreeMap<u64, FakePayment>,
    remembered: HashMap<(String, String, String), (StatusCode, Value)>,
    faults: VecDeque<(String, Fault)>,
    received: Vec<Received>,
}

type Shared = Arc<Mutex<Fake>>;
type Answer = (StatusCode, Value);

/// The fake server, on a port of 127.0.0.1; it stops when dropped.
pub struct FakeMercadoPago {
    address: SocketAddr,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeMercadoPago {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeMercadoPago {
    /// Starts a fake on a free port.
    pub async fn start() -> FakeMercadoPago {
        let state: Shared = Arc::new(Mutex::new(Fake {
            next_id: 1_300_000_001,
            ..Fake::default()
        }));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("a free port for the fake");
        let address = listener.local_addr().expect("the fake's address");
        let app = Router::new().fallback(handle).with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeMercadoPago {
            address,
            state,
            server,
        }
    }

    /// The API root to configure (`billing.mercadopago_api_base`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A single-use card token, as the app's SDK makes one (a test Mastercard, 5031 43…6351,
    /// expiring 11/2030, of `holder`).
    pub fn app_token(&self, holder: Holder) -> String {
        let mut fake = self.lock();
        let id = format!("{:032x}", fake.next());
        let card = Card {
            holder,
            first_six: "503143",
            last_four: "6351",
            exp_month: 11,
            exp_year: 2030,
            method: "master",
        };
        fake.tokens.insert(
            id.clone(),
            Token {
                card,
                used: false,
                saved: None,
            },
        );
        id
    }

    /// Gives `fault` to the next request whose path starts with `path_prefix`.
    pub fn fail_next(&self, path_prefix: &str, fault: Fault) {
        self.lock()
            .faults
            .push_back((path_prefix.to_owned(), fault));
    }

    /// The payments, oldest first.
    pub fn payments(&self) -> Vec<FakePayment> {
        self.lock().payments.values().cloned().collect()
    }

    /// Refunds `cents` of payment `id` as the seller would in Mercado Pago's dashboard (no
    /// call of ours); `false` if the payment is not refundable by that much.
    pub fn refund_in_dashboard(&self, id: u64, cents: i64) -> bool {
        let mut fake = self.lock();
        let Some(payment) = fake.payments.get_mut(&id) else {
            return false;
        };
        if payment.status != "approved" || cents <= 0 {
            return false;
        }
        if cents > payment.amount_cents - payment.refunded_cents {
            return false;
        }
        endpoints::refund_payment(payment, cents);
        true
    }

    /// Cancels the reserve `id` as Mercado Pago does when it lapses uncaptured (status
    /// `cancelled`, detail `expired`); `false` if it is not a reserve.
    pub fn expire_reserve(&self, id: u64) -> bool {
        let mut fake = self.lock();
        match fake.payments.get_mut(&id) {
            Some(payment) if payment.status == "authorized" => {
                payment.status = "cancelled".into();
                payment.status_detail = "expired".into();
                true
            }
            _ => false,
        }
    }

    /// Marks the captured payment `id` charged back by the cardholder; `false` if it was not
    /// captured.
    pub fn charge_back(&self, id: u64) -> bool {
        let mut fake = self.lock();
        match fake.payments.get_mut(&id) {
            Some(payment) if payment.captured => {
                payment.status = "charged_back".into();
                payment.status_detail = "reimbursed".into();
                true
            }
            _ => false,
        }
    }

    /// The requests received, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// How many cards the customers hold in all.
    pub fn saved_cards(&self) -> usize {
        self.lock()
            .customers
            .values()
            .map(|customer| customer.cards.len())
            .sum()
    }

    /// How many customers there are.
    pub fn customers(&self) -> usize {
        self.lock().customers.len()
    }

    /// Whether the token was spent.
    pub fn token_used(&self, token: &str) -> bool {
        self.lock()
            .tokens
            .get(token)
            .is_some_and(|token| token.used)
    }

    fn lock(&self) -> MutexGuard<'_, Fake> {
        lock(&self.state)
    }
}

fn lock(state: &Shared) -> MutexGuard<'_, Fake> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fault = {
        let mut fake = lock(&state);
        let found = fake
            .faults
            .iter()
            .position(|(prefix, _)| uri.path().starts_with(prefix.as_str()));
        found
            .and_then(|at| fake.faults.remove(at))
            .map(|(_, fault)| fault)
    };
    match fault {
        Some(Fault::ServerError) => return internal_error(),
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        _ => {}
    }
    let (status, answer) = lock(&state).serve(&method, &uri, &headers, &body);
    if fault == Some(Fault::FailAfterWork) {
        return internal_error();
    }
    (status, axum::Json(answer)).into_response()
}

fn internal_error() -> Response {
    let body =
        json!({"message": "internal_error", "error": "internal_error", "status": 500, "cause": []});
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

fn bad(message: &str) -> Answer {
    error(StatusCode::BAD_REQUEST, message)
}

fn error(status: StatusCode, message: &str) -> Answer {
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::UNAUTHORIZED => "unauthorized",
        _ => "bad_request",
    };
    (
        status,
        json!({"message": message, "error": code, "status": status.as_u16(), "cause": []}),
    )
}

impl Fake {
    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn serve(&mut self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Answer {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let key = header("x-idempotency-key");
        self.received.push(Received {
            method: method.to_string(),
            path: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
            idempotency_key: key.clone(),
        });
        if header("authorization").as_deref() != Some(&format!("Bearer {ACCESS_TOKEN}")) {
            return error(StatusCode::UNAUTHORIZED, "invalid access token");
        }
        // Reads and deletes are idempotent of themselves; every other write needs a key.
        if *method == Method::GET || *method == Method::DELETE {
            return self.route(method, uri, &Map::new());
        }
        let Some(key) = key.filter(|key| !key.is_empty()) else {
            return bad("the X-Idempotency-Key header is required");
        };
        let remembered = (method.to_string(), uri.path().to_owned(), key);
        if let Some(answer) = self.remembered.get(&remembered) {
            return answer.clone();
        }
        if !header("content-type").is_some_and(|value| value.starts_with("application/json")) {
            return bad("the body must be application/json");
        }
        let fields = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(fields)) => fields,
            _ => return bad("the body must be a JSON object"),
        };
        let answer = self.route(method, uri, &fields);
        self.remembered.insert(remembered, answer.clone());
        answer
    }
}
