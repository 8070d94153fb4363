//! The whole application on 127.0.0.1:0 with a temporary data directory and an admin account,
//! its car units scripted in this process (or, as in production, connecting over the WebSocket
//! channel); and the HTTP helpers every test module uses.
//!
//! Customers' documents and cars' plates are `actors::testing`'s samples, so the API tests
//! register exactly what the rules accept, with no check-digit algorithm of their own.

use std::net::SocketAddr;
use std::sync::Arc;

use actors::clock::{ManualClock, SharedClock};
use actors::events::EventData;
use actors::locks::{InProcessUnits, UnitLink};
use actors::testing::{EventRecorder, PASSWORD, samples};
use actors::{Config, RentalSystem};
use gateway::server::{RunningServer, ServerOptions};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

pub(crate) use actors::testing::cards::{DECLINED, VISA};

pub(crate) const ADMIN_EMAIL: &str = "admin@ev-rental.test";
pub(crate) const ADMIN_PASSWORD: &str = "admin-pass-2026";

/// A running application, and a client with the admin's access token.
pub(crate) struct TestApp {
    pub address: SocketAddr,
    /// The OsmAnd listener's address, when the test configured `fleet.osmand_bind`.
    pub osmand_address: Option<SocketAddr>,
    pub client: reqwest::Client,
    pub admin_token: String,
    data_dir: TempDir,
    /// The scripted units; `None` when the units connect over the WebSocket channel.
    units: Option<InProcessUnits>,
    server: RunningServer,
    /// Every domain event relayed, where the confirmation codes e-mailed are read from.
    events: EventRecorder,
}

/// An answer: status, headers and the body parsed as JSON (Null when empty or not JSON).
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// Reads a response whole.
    pub(crate) async fn read(response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Asserts the status, showing the body when it differs.
    pub(crate) fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            self.body
        );
        self.body
    }

    /// Asserts an `application/problem+json` error of `status`.
    pub(crate) fn expect_problem(self, status: u16) -> Value {
        let content_type = self
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            content_type, "application/problem+json",
            "status {} body {}",
            self.status, self.body
        );
        assert_eq!(self.body["status"], status, "{}", self.body);
        self.expect(status)
    }
}

impl TestApp {
    /// The app with scripted units, which obey until told otherwise.
    pub(crate) async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// [`TestApp::spawn`] with the configuration changed by `adjust`.
    pub(crate) async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::start(adjust, Some(InProcessUnits::new())).await
    }

    /// The app as in production: car units connect over the WebSocket command channel.
    pub(crate) async fn spawn_ws(adjust: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::start(adjust, None).await
    }

    /// [`TestApp::spawn`] on a services' clock that stands at the wall clock's now and moves
    /// only when the test advances it (access tokens are checked against the wall clock, so
    /// they stay valid).
    pub(crate) async fn spawn_with_manual_clock() -> (TestApp, ManualClock) {
        let clock = ManualClock::new(chrono::Utc::now());
        let shared: SharedClock = Arc::new(clock.clone());
        let app = TestApp::start_on(|_| {}, Some(InProcessUnits::new()), Some(shared)).await;
        (app, clock)
    }

    async fn start(adjust: impl FnOnce(&mut Config), units: Option<InProcessUnits>) -> TestApp {
        TestApp::start_on(adjust, units, None).await
    }

    async fn start_on(
        adjust: impl FnOnce(&mut Config),
        units: Option<InProcessUnits>,
        clock: Option<SharedClock>,
    ) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default();
        config.server.bind = "127.0.0.1:0".parse().expect("address");
        config.storage.data_dir = data_dir.path().to_owned();
        config.storage.cache_capacity_mb = 8;
        config.auth.admin_email = ADMIN_EMAIL.into();
        config.auth.admin_password = ADMIN_PASSWORD.into();
        config.fleet.command_timeout_s = 2;
        // Every test registers its customers from 127.0.0.1; the limit has tests of its own.
        config.server.register_per_ip_per_min = 10_000;
        adjust(&mut config);
        let link = match &units {
            Some(units) => UnitLink::InProcess(units.clone()),
            None => UnitLink::remote(),
        };
        let mut options = ServerOptions::for_config(&config, link);
        if let Some(clock) = clock {
            options.clock = clock;
        }
        let server = RunningServer::start(config, options)
            .await
            .expect("app starts");
        let events = EventRecorder::default();
        server
            .system()
            .services()
            .events
            .subscribe(Arc::new(events.clone()));
        let mut app = TestApp {
            address: server.address,
            osmand_address: server.osmand_address,
            client: reqwest::Client::new(),
            admin_token: String::new(),
            data_dir,
            units,
            server,
            events,
        };
        let login = app
            .call(
                Method::POST,
                "/v1/auth/token",
                None,
                Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
            )
            .await;
        // With `auth.require_admin_totp` the administrator has no token until it sets up
        // two-factor authentication: such tests log in themselves.
        if login.status != StatusCode::FORBIDDEN {
            app.admin_token = login.expect(200)["access_token"]
                .as_str()
                .expect("admin token")
                .to_owned();
        }
        app
    }

    /// A URL on the OsmAnd listener (the test must have bound it).
    pub(crate) fn osmand_url(&self, path_and_query: &str) -> String {
        let address = self.osmand_address.expect("the OsmAnd listener is bound");
        format!("http://{address}{path_and_query}")
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    pub(crate) fn system(&self) -> &Arc<RentalSystem> {
        self.server.system()
    }

    /// The scripted car units (they obey by default; tests make them silent, refusing or
    /// offline).
    pub(crate) fn units(&self) -> &InProcessUnits {
        self.units
            .as_ref()
            .expect("this app's units connect over the WebSocket channel")
    }

    /// Returns once a command to `vehicle` waits for its unit (an unlock or lock under way),
    /// so that a test acts during that wait rather than after a guessed delay.
    pub(crate) async fn until_a_command_waits(&self, vehicle: &str) {
        let locks = self.system().services().locks.clone();
        let car = vehicle.parse().expect("a vehicle id");
        actors::testing::eventually("a command waiting for its unit", || {
            let locks = locks.clone();
            async move {
                locks
                    .pending_commands(car)
                    .await
                    .is_ok_and(|pending| !pending.is_empty())
            }
        })
        .await;
    }

    /// Any request, with an optional bearer token and JSON body.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Answer::read(request.send().await.expect("request sent")).await
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub(crate) async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Registers customer number `n` with `card`, logs in and confirms the e-mail address with
    /// the code the registration sent: (customer id, access token).
    pub(crate) async fn customer(&self, n: u32, card: &str) -> (String, String) {
        self.customer_with(customer_body(n, card), &email(n)).await
    }

    /// Registers `body`, logs in as `email` and confirms the address as
    /// [`TestApp::customer`] does.
    pub(crate) async fn customer_with(&self, body: Value, email: &str) -> (String, String) {
        let created = self
            .call(Method::POST, "/v1/customers", None, Some(body))
            .await
            .expect(201);
        let id = created["id"].as_str().expect("id").to_owned();
        let token = self.login(email).await;
        self.confirm(&id, &token).await;
        (id, token)
    }

    /// An access token of the customer `email` (whose password is [`PASSWORD`]).
    pub(crate) async fn login(&self, email: &str) -> String {
        let tokens = self
            .call(
                Method::POST,
                "/v1/auth/token",
                None,
                Some(json!({"email": email, "password": PASSWORD})),
            )
            .await
            .expect(200);
        tokens["access_token"].as_str().expect("token").to_owned()
    }

    /// Confirms the address waiting for confirmation of customer `id` with the latest code
    /// sent (read from the relayed events, as the customer reads the e-mail); nothing when no
    /// code was sent (confirmation off).
    pub(crate) async fn confirm(&self, id: &str, token: &str) {
        if let Some(code) = self.confirmation_code(id).await {
            self.post(
                "/v1/customers/me/email-confirmation",
                token,
                json!({ "code": code }),
            )
            .await
            .expect(200);
        }
    }

    /// Confirms the address of the customer whose access token is `token` (see
    /// [`TestApp::confirm`]).
    pub(crate) async fn confirm_me(&self, token: &str) {
        let me = self.get("/v1/customers/me", token).await.expect(200);
        self.confirm(me["id"].as_str().expect("id"), token).await;
    }

    /// The latest confirmation code sent to customer `id`, if any (relays what is committed).
    pub(crate) async fn confirmation_code(&self, id: &str) -> Option<String> {
        self.system()
            .services()
            .events
            .relay_now()
            .await
            .expect("the events are relayed");
        self.events
            .all()
            .into_iter()
            .rev()
            .filter(|event| {
                event.subjects.customer_id.map(|c| c.to_string()).as_deref() == Some(id)
            })
            .find_map(|event| match event.data {
                EventData::ConfirmationRequested { code, .. } => Some(code),
                _ => None,
            })
    }

    /// Registers car number `n` at `rate` centavos an hour: (vehicle id, device token).
    pub(crate) async fn vehicle(&self, n: u32, rate: i64) -> (String, String) {
        let created = self
            .post(
                "/v1/vehicles",
                &self.admin_token,
                json!({"plate": plate(n), "model": "BYD Dolphin", "year": 2025, "hourly_rate_cents": rate}),
            )
            .await
            .expect(201);
        (
            created["id"].as_str().expect("id").to_owned(),
            created["device_token"]
                .as_str()
                .expect("device token")
                .to_owned(),
        )
    }

    /// Stops the app the way SIGTERM does; its data stays for the test to look at.
    pub(crate) async fn stop(self) -> TempDir {
        self.server.stop().await.expect("clean stop");
        self.data_dir
    }
}

/// The e-mail (login) of customer `n`.
pub(crate) fn email(n: u32) -> String {
    samples::email(u64::from(n))
}

/// The CPF of customer `n`.
pub(crate) fn cpf(n: u32) -> String {
    samples::cpf(200_000_000 + u64::from(n))
}

/// The plate of car `n`, a Mercosul plate of its own.
pub(crate) fn plate(n: u32) -> String {
    samples::plate(u64::from(n))
}

/// The registration body of customer `n`: documents and e-mail of their own, paying with
/// `card`.
pub(crate) fn customer_body(n: u32, card: &str) -> Value {
    let number = u64::from(n);
    json!({
        "name": "Maria da Silva",
        "cpf": cpf(n),
        "cnh": samples::cnh(300_000_000 + number),
        "email": email(n),
        "phone": "+55 48 99999-1234",
        "password": PASSWORD,
        "card": {"number": card, "exp_month": 12, "exp_year": 2030, "cvc": "123", "holder_name": "MARIA DA SILVA"}
    })
}

/// An RFC 3339 time `minutes` from now.
pub(crate) fn in_minutes(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::minutes(minutes)).to_rfc3339()
}

/// Asserts that the API's document has each `(path, method)` operation with each of its
/// statuses among the responses; answers the document for further checks.
pub(crate) fn assert_documented(operations: &[(&str, &str, &[&str])]) -> Value {
    let document = serde_json::to_value(gateway::routes::ops::document()).expect("document");
    for (path, method, statuses) in operations {
        let operation = &document["paths"][path][method];
        assert!(operation.is_object(), "{method} {path}");
        for status in *statuses {
            assert!(
                operation["responses"][status].is_object(),
                "{method} {path} {status}"
            );
        }
    }
    document
}
