//! Spawns the whole application on 127.0.0.1:0 with a temporary data directory, an admin
//! account, and simulated car units; plus small HTTP helpers.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use actors::Config;
use actors::locks::{InProcessUnits, UnitLink};
use actors::system::RentalSystem;
use gateway::server::{RunningServer, ServerOptions};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

pub const ADMIN_EMAIL: &str = "admin@ev-rental.test";
pub const ADMIN_PASSWORD: &str = "admin-pass-2026";
pub const VISA: &str = "4111111111111111";
pub const DECLINED: &str = "4000000000000002";

pub struct TestApp {
    pub address: SocketAddr,
    pub data_dir: TempDir,
    pub client: reqwest::Client,
    pub admin_token: String,
    units: Option<InProcessUnits>,
    server: RunningServer,
}

/// An answer: status, headers and the body parsed as JSON (Null when empty or not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// Asserts the status, showing the body when it differs.
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            self.body
        );
        self.body
    }

    /// Asserts an `application/problem+json` error of `status`.
    pub fn expect_problem(self, status: u16) -> Value {
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
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::spawn_with_units(adjust, true).await
    }

    /// The app as in production: car units connect over the WebSocket command channel.
    pub async fn spawn_ws(adjust: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::spawn_with_units(adjust, false).await
    }

    async fn spawn_with_units(adjust: impl FnOnce(&mut Config), simulated_units: bool) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::default();
        config.server.bind = "127.0.0.1:0".parse().expect("address");
        config.storage.data_dir = data_dir.path().to_owned();
        config.storage.cache_capacity_mb = 8;
        config.auth.admin_email = ADMIN_EMAIL.into();
        config.auth.admin_password = ADMIN_PASSWORD.into();
        config.fleet.command_timeout_s = 2;
        adjust(&mut config);
        let units = simulated_units.then(InProcessUnits::new);
        let link = match &units {
            Some(units) => UnitLink::InProcess(units.clone()),
            None => UnitLink::remote(),
        };
        let options = ServerOptions::for_config(&config, link);
        let server = RunningServer::start(config, options)
            .await
            .expect("app starts");
        let mut app = TestApp {
            address: server.address,
            data_dir,
            client: reqwest::Client::new(),
            admin_token: String::new(),
            units,
            server,
        };
        let tokens = app
            .call(
                Method::POST,
                "/v1/auth/token",
                None,
                Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
            )
            .await
            .expect(200);
        app.admin_token = tokens["access_token"]
            .as_str()
            .expect("admin token")
            .to_owned();
        app
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    pub fn system(&self) -> &Arc<RentalSystem> {
        self.server.system()
    }

    /// The simulated car units (obey by default; tests can make them silent or offline).
    pub fn units(&self) -> &InProcessUnits {
        self.units
            .as_ref()
            .expect("this app's units connect over the WebSocket channel")
    }

    /// Any request, with an optional bearer token and JSON body.
    pub async fn call(
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
        let response = request.send().await.expect("request sent");
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

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Registers customer number `n` with `card` and logs in: (customer id, access token).
    pub async fn customer(&self, n: u32, card: &str) -> (String, String) {
        let created = self
            .call(
                Method::POST,
                "/v1/customers",
                None,
                Some(customer_body(n, card)),
            )
            .await
            .expect(201);
        let tokens = self
            .call(
                Method::POST,
                "/v1/auth/token",
                None,
                Some(json!({"email": email(n), "password": "s3nha-segura"})),
            )
            .await
            .expect(200);
        (
            created["id"].as_str().expect("id").to_owned(),
            tokens["access_token"].as_str().expect("token").to_owned(),
        )
    }

    /// Registers car number `n` at `rate` centavos an hour: (vehicle id, device token).
    pub async fn vehicle(&self, n: u32, rate: i64) -> (String, String) {
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

    /// Stops the app the way SIGTERM does.
    pub async fn stop(self) -> TempDir {
        self.server.stop().await.expect("clean stop");
        self.data_dir
    }
}

pub fn email(n: u32) -> String {
    format!("cliente{n}@example.com")
}

/// A Mercosul plate unique to `n` (n < 26 * 10 * 100).
pub fn plate(n: u32) -> String {
    let letter = char::from(b'A' + (n / 1000 % 26) as u8);
    format!(
        "EV{letter}{}{}{:02}",
        n / 100 % 10,
        char::from(b'A' + (n % 26) as u8),
        n % 100
    )
}

/// A registration body for customer `n`, with a valid CPF derived from `n`.
pub fn customer_body(n: u32, card: &str) -> Value {
    json!({
        "name": "Maria da Silva",
        "cpf": cpf(200_000_000 + n),
        "cnh": "79143829831",
        "email": email(n),
        "phone": "+55 48 99999-1234",
        "password": "s3nha-segura",
        "card": {"number": card, "exp_month": 12, "exp_year": 2030, "cvc": "123", "holder_name": "MARIA DA SILVA"}
    })
}

/// The CPF with base `base` (9 digits) and its two check digits.
pub fn cpf(base: u32) -> String {
    let mut digits: Vec<u32> = format!("{base:09}")
        .chars()
        .map(|c| c.to_digit(10).unwrap())
        .collect();
    for length in [9u32, 10] {
        let sum: u32 = digits
            .iter()
            .enumerate()
            .map(|(i, d)| d * (length + 1 - i as u32))
            .sum();
        digits.push((sum * 10) % 11 % 10);
    }
    digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap())
        .collect()
}

/// An RFC 3339 time `minutes` from now.
pub fn in_minutes(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::minutes(minutes)).to_rfc3339()
}
