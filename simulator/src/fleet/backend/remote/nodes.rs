//! The nodes of a deployment as its clients reach them: one node, or every node of a cluster,
//! of which only the leader serves. Requests go to the node believed to lead; a follower's 503
//! `not-leader` names the leader, a dead node does not answer, and either way the request is
//! asked again elsewhere for a bounded time, backing off, as the app does through a failover.
//!
//! Only what cannot be applied twice is guarded: a request that surely did not reach a leader
//! (the connection was refused, a follower turned it away) is always asked again; one whose
//! answer was lost on the way (a reset, a timeout) only when asking twice does no harm
//! ([`Repeat::Always`]): otherwise the loss is the caller's error, since the request may have
//! taken effect.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use actors::ErrorKind;
use chrono::{DateTime, Utc};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use super::{PROBLEM_PREFIX, transport};
use crate::fleet::backend::{OpError, OpErrorKind};

/// How long one request may chase the leader before its failure is the caller's.
const FOLLOW_FOR: Duration = Duration::from_secs(20);
/// First wait before asking again; it doubles up to [`MOST_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between two attempts: a new leader serves within about a second of taking
/// over, and a client waiting longer than that only adds to the outage it sees.
const MOST_BACKOFF: Duration = Duration::from_secs(1);

/// Whether a request may be sent again after its answer was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Repeat {
    /// Asking twice is the same as asking once: reads, logins, bookings under an
    /// `Idempotency-Key`, door commands (the doors end in the state asked for).
    Always,
    /// Asking twice may apply it twice (a sign-up, a car's registration, a release, a
    /// cancellation): only sent again when the first try surely did not reach a leader.
    UnlessDelivered,
}

/// The nodes, and the one believed to lead.
#[derive(Debug)]
pub(super) struct Nodes {
    roots: Vec<String>,
    leader: Mutex<String>,
}

/// What one attempt came to.
#[derive(Debug)]
enum Attempt {
    /// An answer of the node that serves (success or refusal).
    Answer(StatusCode, String),
    /// A follower turned the request away, naming the leader if one holds the lease.
    NotLeader(Option<String>),
    /// Nothing came back; `delivered` when the request may have reached the node.
    Lost {
        error: reqwest::Error,
        delivered: bool,
    },
}

impl Nodes {
    /// `roots` (at least one; `http://host:port` without a trailing slash), the first believed
    /// to lead.
    pub(super) fn new(roots: Vec<String>) -> Nodes {
        let first = roots.first().cloned().unwrap_or_default();
        Nodes {
            roots,
            leader: Mutex::new(first),
        }
    }

    /// How long a request keeps trying when no node answers: [`FOLLOW_FOR`] in a cluster,
    /// where another node takes over; not at all with one server, whose outage the run
    /// reports as it happens.
    fn patience(&self) -> Duration {
        if self.roots.len() > 1 {
            FOLLOW_FOR
        } else {
            Duration::ZERO
        }
    }

    /// Every node, as given.
    pub(super) fn roots(&self) -> &[String] {
        &self.roots
    }

    /// The node believed to lead.
    pub(super) fn leader(&self) -> String {
        super::lock(&self.leader).clone()
    }

    /// The nodes other than `root`, for a car unit that fails over on its own.
    pub(super) fn others(&self, root: &str) -> Vec<String> {
        self.roots
            .iter()
            .filter(|other| *other != root)
            .cloned()
            .collect()
    }

    /// `to` leads from now on, unless another request moved away from `from` already.
    pub(super) fn moved(&self, from: &str, to: &str) {
        let mut leader = super::lock(&self.leader);
        if *leader == from {
            *leader = to.to_owned();
        }
    }

    /// Sends `method path` (shaped by `shape`: token, body, headers) to the leader, following
    /// it through a failover for up to [`FOLLOW_FOR`]; the status and text of its answer.
    pub(super) async fn send(
        &self,
        http: &reqwest::Client,
        method: Method,
        path: &str,
        shape: impl Fn(RequestBuilder) -> RequestBuilder,
        repeat: Repeat,
    ) -> Result<(StatusCode, String), OpError> {
        let started = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        let mut unreachable: Vec<String> = Vec::new();
        loop {
            let node = self.leader();
            let request = shape(http.request(method.clone(), format!("{node}{path}")));
            let next = match attempt(request).await {
                Attempt::Answer(status, text) => return Ok((status, text)),
                Attempt::NotLeader(named) => {
                    let fresh = named.as_ref().is_some_and(|named| {
                        *named != node && !unreachable.iter().any(|dead| dead == named)
                    });
                    let next = next_node(&self.roots, &node, named.as_deref(), &unreachable);
                    if started.elapsed() >= FOLLOW_FOR {
                        return Err(OpError::new(
                            OpErrorKind::Service(ErrorKind::NotLeader),
                            format!("no node led for {} s", FOLLOW_FOR.as_secs()),
                        ));
                    }
                    if !fresh {
                        pause(&mut backoff).await;
                    }
                    next
                }
                Attempt::Lost { error, delivered } => {
                    if (delivered && repeat == Repeat::UnlessDelivered)
                        || started.elapsed() >= self.patience()
                    {
                        return Err(transport(error));
                    }
                    if !unreachable.contains(&node) {
                        unreachable.push(node.clone());
                    }
                    pause(&mut backoff).await;
                    next_node(&self.roots, &node, None, &unreachable)
                }
            };
            if next != node {
                tracing::debug!(from = %node, to = %next, "following the leader");
                // A node that failed once may lead again later (a restart).
                unreachable.retain(|dead| *dead != next);
                self.moved(&node, &next);
            }
        }
    }
}

/// The leader's (or a single server's) health: a follower's has neither field.
#[derive(Deserialize)]
pub(super) struct Health {
    pub(super) time: DateTime<Utc>,
    pub(super) clock_speedup: u32,
}

/// The health of the node that serves, and how long asking took. Against a cluster, nodes
/// are asked in turn until one answers as the leader (a follower's health has no clock), for
/// as long as a request would follow the leader.
pub(super) async fn leader_health(
    http: &reqwest::Client,
    nodes: &Nodes,
) -> Result<(Health, Duration), OpError> {
    let started = Instant::now();
    let mut last = None;
    loop {
        for root in nodes.roots() {
            let asked = Instant::now();
            match http.get(format!("{root}/healthz")).send().await {
                Ok(answer) => match answer.json::<Health>().await {
                    Ok(health) => {
                        nodes.moved(&nodes.leader(), root);
                        return Ok((health, asked.elapsed()));
                    }
                    Err(error) => last = Some(error),
                },
                Err(error) => last = Some(error),
            }
        }
        match last.take() {
            Some(error) if started.elapsed() >= nodes.patience() => {
                return Err(transport(error));
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Whether `method path` may be sent again after its answer was lost: reads, logins,
/// bookings under an `Idempotency-Key` and door commands may; sign-ups, car registrations,
/// releases and cancellations may not (the API has no key for them, and a second one would
/// be refused or applied twice).
pub(super) fn repeat_of(method: &Method, path: &str, headers: &[(&str, &str)]) -> Repeat {
    let keyed = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("idempotency-key"));
    let door =
        path.starts_with("/v1/vehicles/") && (path.ends_with("/unlock") || path.ends_with("/lock"));
    if *method == Method::GET || path == "/v1/auth/token" || keyed || door {
        Repeat::Always
    } else {
        Repeat::UnlessDelivered
    }
}

async fn pause(backoff: &mut Duration) {
    tokio::time::sleep(*backoff).await;
    *backoff = (*backoff * 2).min(MOST_BACKOFF);
}

async fn attempt(request: RequestBuilder) -> Attempt {
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            let delivered = !error.is_connect();
            return Attempt::Lost { error, delivered };
        }
    };
    let status = response.status();
    match response.text().await {
        Ok(text) => match not_leader(status, &text) {
            Some(named) => Attempt::NotLeader(named),
            None => Attempt::Answer(status, text),
        },
        Err(error) => Attempt::Lost {
            error,
            delivered: true,
        },
    }
}

/// `Some(leader)` when the answer is a follower's 503 `not-leader` (the leader's root, if it
/// names one); `None` for any other answer.
fn not_leader(status: StatusCode, text: &str) -> Option<Option<String>> {
    if status != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let body: Value = serde_json::from_str(text).ok()?;
    let kind = body["type"].as_str()?.strip_prefix(PROBLEM_PREFIX)?;
    (kind == "not-leader").then(|| {
        body["leader_url"]
            .as_str()
            .map(|url| url.trim_end_matches('/').to_owned())
    })
}

/// The node to ask after `asked` failed: the leader it `named`, unless that one did not
/// answer during this request; otherwise the next node of the list after `asked` (the first,
/// when `asked` is not in the list) that was not found unreachable, or simply the next one
/// when none is left.
pub(super) fn next_node(
    roots: &[String],
    asked: &str,
    named: Option<&str>,
    unreachable: &[String],
) -> String {
    if let Some(named) = named
        && named != asked
        && !unreachable.iter().any(|dead| dead == named)
    {
        return named.to_owned();
    }
    let Some(position) = roots.iter().position(|root| root == asked) else {
        return roots.first().cloned().unwrap_or_else(|| asked.to_owned());
    };
    let others: Vec<&String> = (1..roots.len())
        .map(|step| &roots[(position + step) % roots.len()])
        .collect();
    others
        .iter()
        .find(|root| !unreachable.iter().any(|dead| dead == **root))
        .or(others.first())
        .map_or_else(|| asked.to_owned(), |root| (*root).clone())
}

#[cfg(test)]
mod tests;
