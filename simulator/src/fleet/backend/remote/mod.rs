//! A running server, driven as its real clients drive it: customers over the REST API with
//! their own tokens, an admin registering the fleet, and one reference unit client per car
//! reporting positions over HTTP and executing commands from its WebSocket. Against a cluster
//! every request follows the leader ([`nodes`]), and so do the units.

mod nodes;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actors::ErrorKind;
use actors::audit::SystemAudit;
use actors::clock::{AcceleratedClock, SharedClock};
use actors::config::AuthConfig;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Backend, FoundCar, OpError, OpErrorKind, Person, plate_of};
use crate::fleet::city::Position;
use crate::fleet::scenario::CarPlan;
use crate::unit::{Fix, UnitClient, UnitConfig, UnitHandle};
use nodes::{Nodes, leader_health, repeat_of};

/// How many cars a search returns.
const SEARCH_LIMIT: usize = 10;
/// How long a new unit may take to open its command channel.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a standing fix may take to leave the unit's backlog.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Prefix of the API's problem types.
const PROBLEM_PREFIX: &str = "urn:ev-rental:problem:";
/// A unit of a cluster waits at most this long between two attempts, so that it is back on
/// the new leader about as soon as the customers are, whose commands would otherwise expire
/// waiting for it (a single server keeps the units' own, gentler, production timings).
const CLUSTER_UNIT_BACKOFF: Duration = Duration::from_secs(1);
/// A unit of a cluster's first wait: the next node is usually the leader or names it.
const CLUSTER_UNIT_FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Reservations read back at once when checking that every acknowledged one exists.
const CHECK_CONCURRENCY: usize = 16;

/// A logged-in customer.
pub struct RemoteSession {
    email: String,
    password: String,
    token: Mutex<String>,
}

/// The server.
pub struct Remote {
    nodes: Nodes,
    http: reqwest::Client,
    clock: SharedClock,
    admin: RemoteSession,
    units: Mutex<HashMap<Uuid, Arc<UnitHandle>>>,
    /// Set when a registration came back waiting for its e-mail confirmation: the simulator
    /// cannot read e-mail, so the run stops registering.
    confirmation_required: AtomicBool,
    /// Every reservation the server acknowledged (201): each must still exist at the end,
    /// whichever node leads then.
    booked: Mutex<Vec<Uuid>>,
}

/// Why a run against a server that wants e-mail confirmation cannot go on.
pub const CONFIRMATION_REQUIRED: &str = "the server requires new customers to confirm their e-mail address, which a load \
     test cannot read: run the server with EVR_NOTIFY__REQUIRE_EMAIL_CONFIRMATION=false for \
     load tests";

#[derive(Deserialize)]
struct Registered {
    status: String,
}

#[derive(Deserialize)]
struct Tokens {
    access_token: String,
}

#[derive(Deserialize)]
struct Created {
    id: Uuid,
}

#[derive(Deserialize)]
struct RegisteredVehicle {
    id: Uuid,
    device_token: String,
}

#[derive(Deserialize)]
struct NearbyPosition {
    lat: f64,
    lon: f64,
}

#[derive(Deserialize)]
struct Nearby {
    vehicle: Created,
    position: NearbyPosition,
}

/// A failure to reach the server, with its causes (reqwest's own message names only the URL).
pub(super) fn transport(error: reqwest::Error) -> OpError {
    OpError::new(
        OpErrorKind::Transport,
        actors::error_kind::with_causes(&error),
    )
}

impl Remote {
    /// Finds the node that serves among `roots` (one server, or every node of a cluster),
    /// reads its clock and logs the admin in (`auth.admin_email` and `auth.admin_password` of
    /// the simulator's configuration: the server's admin account).
    pub async fn connect(roots: &[String], auth: &AuthConfig) -> Result<Remote, OpError> {
        if auth.admin_email.is_empty() {
            return Err(OpError::harness(
                "config",
                "registering the fleet needs the server's admin account: set EVR_AUTH__ADMIN_EMAIL and EVR_AUTH__ADMIN_PASSWORD",
            ));
        }
        if roots.is_empty() {
            return Err(OpError::harness("config", "no server to drive"));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(transport)?;
        let nodes = Nodes::new(roots.to_vec());
        let (health, round_trip) = leader_health(&http, &nodes).await?;
        // The answer was written about half a round trip ago.
        let speedup = health.clock_speedup.max(1);
        let in_flight = round_trip / 2 * speedup;
        let now = health.time + chrono::TimeDelta::from_std(in_flight).unwrap_or_default();
        let admin = RemoteSession {
            email: auth.admin_email.clone(),
            password: auth.admin_password.clone(),
            token: Mutex::new(String::new()),
        };
        let remote = Remote {
            nodes,
            http,
            clock: Arc::new(AcceleratedClock::new(now, speedup)),
            admin,
            units: Mutex::new(HashMap::new()),
            confirmation_required: AtomicBool::new(false),
            booked: Mutex::new(Vec::new()),
        };
        remote.log_in(&remote.admin).await?;
        Ok(remote)
    }

    /// Whether the server wants e-mail confirmation (seen at a registration): the run cannot
    /// go on ([`CONFIRMATION_REQUIRED`]).
    pub fn confirmation_required(&self) -> bool {
        self.confirmation_required.load(Ordering::Relaxed)
    }

    async fn log_in(&self, session: &RemoteSession) -> Result<(), OpError> {
        let body = json!({"email": session.email, "password": session.password});
        let tokens: Tokens = self
            .send(Method::POST, "/v1/auth/token", None, Some(&body), &[])
            .await?;
        *lock(&session.token) = tokens.access_token;
        Ok(())
    }

    /// One request as `session` (logging in again once when the token has expired).
    async fn call<T: DeserializeOwned>(
        &self,
        session: &RemoteSession,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<T, OpError> {
        let token = lock(&session.token).clone();
        match self
            .send(method.clone(), path, Some(&token), body, headers)
            .await
        {
            Err(error) if error.is(ErrorKind::Unauthenticated) => {
                self.log_in(session).await?;
                let token = lock(&session.token).clone();
                self.send(method, path, Some(&token), body, headers).await
            }
            other => other,
        }
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<T, OpError> {
        let repeat = repeat_of(&method, path, headers);
        let shape = |mut request: reqwest::RequestBuilder| {
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request
        };
        let (status, text) = self
            .nodes
            .send(&self.http, method, path, shape, repeat)
            .await?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|error| {
                OpError::new(OpErrorKind::UnreadableAnswer, format!("{error}: {text}"))
            });
        }
        Err(problem(status, &text))
    }

    fn unit(&self, car: Uuid) -> Result<Arc<UnitHandle>, OpError> {
        lock(&self.units)
            .get(&car)
            .cloned()
            .ok_or_else(|| OpError::harness("unknown-car", car.to_string()))
    }
}

/// The label of an error answer: its problem type, or its status when it has none.
fn problem(status: StatusCode, text: &str) -> OpError {
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    let kind = parsed
        .as_ref()
        .and_then(|body| body["type"].as_str())
        .and_then(|kind| kind.strip_prefix(PROBLEM_PREFIX))
        .and_then(ErrorKind::from_code)
        .map_or(OpErrorKind::Http(status.as_u16()), OpErrorKind::Service);
    let detail = parsed
        .as_ref()
        .and_then(|body| body["detail"].as_str())
        .unwrap_or(text);
    OpError::new(kind, format!("{status}: {detail}"))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Backend for Remote {
    type Session = RemoteSession;

    fn clock(&self) -> &SharedClock {
        &self.clock
    }

    async fn add_car(&self, car: &CarPlan) -> Result<Uuid, OpError> {
        let body = json!({
            "plate": plate_of(car, 0).as_str(),
            "model": car.model,
            "year": car.year,
            "hourly_rate_cents": car.hourly_rate_cents,
            "battery_kwh": car.battery_kwh,
            "range_km": car.range_km,
            "color": car.color,
        });
        let registered: RegisteredVehicle = self
            .call(&self.admin, Method::POST, "/v1/vehicles", Some(&body), &[])
            .await?;
        let leader = self.nodes.leader();
        let mut config = UnitConfig::new(&leader, registered.id, registered.device_token);
        config.other_servers = self.nodes.others(&leader);
        if !config.other_servers.is_empty() {
            config.initial_backoff = CLUSTER_UNIT_FIRST_BACKOFF;
            config.max_backoff = CLUSTER_UNIT_BACKOFF;
        }
        let unit = UnitClient::spawn(config)
            .map_err(|error| OpError::harness("unit", error.to_string()))?;
        unit.wait_connected(CONNECT_TIMEOUT)
            .await
            .map_err(|error| OpError::harness("unit-offline", error.to_string()))?;
        lock(&self.units).insert(registered.id, Arc::new(unit));
        let mut parked = Fix::new(car.parked_at.lat, car.parked_at.lon, self.clock.now());
        parked.speed_kmh = Some(0.0);
        parked.battery_pct = Some(90.0);
        self.report(registered.id, parked, true).await?;
        Ok(registered.id)
    }

    async fn report(&self, car: Uuid, fix: Fix, stopped: bool) -> Result<(), OpError> {
        let unit = self.unit(car)?;
        unit.report(fix)
            .map_err(|error| OpError::harness("unit", error.to_string()))?;
        if !stopped {
            return Ok(());
        }
        let waited = Instant::now();
        while unit.stats().fixes_buffered > 0 {
            if waited.elapsed() > DELIVERY_TIMEOUT {
                return Err(OpError::harness(
                    "position-backlog",
                    "the unit could not deliver its fixes",
                ));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    }

    async fn register(&self, person: &Person) -> Result<RemoteSession, OpError> {
        let refused = || OpError::harness("email-confirmation", CONFIRMATION_REQUIRED);
        if self.confirmation_required() {
            return Err(refused());
        }
        let body = json!({
            "name": person.name,
            "cpf": person.cpf,
            "cnh": person.cnh,
            "email": person.email,
            "phone": person.phone,
            "password": person.password,
            "card": {
                "number": person.card_number,
                "exp_month": 12,
                "exp_year": 2031,
                "cvc": "123",
                "holder_name": person.name.to_uppercase(),
            },
        });
        let registered: Registered = self
            .send(Method::POST, "/v1/customers", None, Some(&body), &[])
            .await?;
        if registered.status == "pending_confirmation" {
            self.confirmation_required.store(true, Ordering::Relaxed);
            return Err(refused());
        }
        let session = RemoteSession {
            email: person.email.clone(),
            password: person.password.clone(),
            token: Mutex::new(String::new()),
        };
        self.log_in(&session).await?;
        Ok(session)
    }

    async fn nearby(
        &self,
        who: &RemoteSession,
        at: Position,
        radius_m: f64,
    ) -> Result<Vec<FoundCar>, OpError> {
        let path = format!(
            "/v1/vehicles/nearby?lat={}&lon={}&radius_m={radius_m}&limit={SEARCH_LIMIT}",
            at.lat, at.lon
        );
        let found: Vec<Nearby> = self.call(who, Method::GET, &path, None, &[]).await?;
        Ok(found
            .into_iter()
            .map(|car| FoundCar {
                id: car.vehicle.id,
                position: Position {
                    lat: car.position.lat,
                    lon: car.position.lon,
                },
            })
            .collect())
    }

    async fn reserve(
        &self,
        who: &RemoteSession,
        car: Uuid,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        idempotency_key: String,
    ) -> Result<Uuid, OpError> {
        let body = json!({"vehicle_id": car, "start_at": start, "end_at": end});
        let headers = [("Idempotency-Key", idempotency_key.as_str())];
        let created: Created = self
            .call(who, Method::POST, "/v1/reservations", Some(&body), &headers)
            .await?;
        lock(&self.booked).push(created.id);
        Ok(created.id)
    }

    async fn unlock(&self, who: &RemoteSession, car: Uuid) -> Result<(), OpError> {
        let path = format!("/v1/vehicles/{car}/unlock");
        let _: Value = self
            .call(who, Method::POST, &path, Some(&json!({})), &[])
            .await?;
        Ok(())
    }

    async fn lock(&self, who: &RemoteSession, car: Uuid) -> Result<(), OpError> {
        let path = format!("/v1/vehicles/{car}/lock");
        let _: Value = self
            .call(who, Method::POST, &path, Some(&json!({})), &[])
            .await?;
        Ok(())
    }

    async fn finish(&self, who: &RemoteSession, reservation: Uuid) -> Result<(), OpError> {
        let path = format!("/v1/reservations/{reservation}/finish");
        let _: Value = self
            .call(who, Method::POST, &path, Some(&json!({})), &[])
            .await?;
        Ok(())
    }

    async fn cancel(&self, who: &RemoteSession, reservation: Uuid) -> Result<(), OpError> {
        let path = format!("/v1/reservations/{reservation}/cancel");
        let _: Value = self
            .call(who, Method::POST, &path, Some(&json!({})), &[])
            .await?;
        Ok(())
    }

    async fn audit(&self) -> Result<SystemAudit, OpError> {
        self.call(&self.admin, Method::GET, "/v1/audit", None, &[])
            .await
    }

    async fn missing_reservations(&self) -> Result<Vec<Uuid>, OpError> {
        let mut booked: Vec<Uuid> = lock(&self.booked).clone();
        // A booking asked again under its key is acknowledged again, with the same id.
        booked.sort_unstable();
        booked.dedup();
        let checks = futures_util::stream::iter(booked)
            .map(|id| async move {
                let path = format!("/v1/reservations/{id}");
                match self
                    .call::<Value>(&self.admin, Method::GET, &path, None, &[])
                    .await
                {
                    Ok(_) => Ok(None),
                    Err(error) if error.is(ErrorKind::NotFound) => Ok(Some(id)),
                    Err(error) => Err(error),
                }
            })
            .buffer_unordered(CHECK_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        checks.into_iter().filter_map(Result::transpose).collect()
    }

    async fn close(&self) -> Result<(), OpError> {
        let units: Vec<Arc<UnitHandle>> = lock(&self.units).drain().map(|(_, unit)| unit).collect();
        for unit in units {
            match Arc::try_unwrap(unit) {
                Ok(unit) => {
                    if let Err(error) = unit.shutdown().await {
                        tracing::warn!(%error, "a unit did not stop cleanly");
                    }
                }
                Err(_) => tracing::warn!("a unit is still in use at the end of the run"),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers_are_labelled_by_their_problem_type() {
        let body = r#"{"type":"urn:ev-rental:problem:vehicle-busy","title":"Conflict","status":409,"detail":"taken"}"#;
        let error = problem(StatusCode::CONFLICT, body);
        assert_eq!(error.kind, OpErrorKind::Service(ErrorKind::VehicleBusy));
        assert!(error.detail.contains("taken"));
        assert!(error.is_conflict());
        let bare = problem(StatusCode::BAD_GATEWAY, "<html>proxy</html>");
        assert_eq!(bare.kind, OpErrorKind::Http(502));
        assert!(bare.is_transient());
    }
}
