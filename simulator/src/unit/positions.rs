//! Position reporting: the backlog drained to the server, oldest first, whenever it answers.
//!
//! A fix leaves the backlog only once the server has taken it. What the answer means:
//!
//! | answer | what the unit does |
//! |---|---|
//! | 2xx | delivered |
//! | 400 with `rejected` | the others were kept: nothing is re-sent, the refused ones are logged |
//! | 400 without `rejected`, other 4xx | refused for good: dropped and logged (re-sending cannot help) |
//! | 401 | the token is refused: the whole unit stops |
//! | 408, 429 | kept, re-sent after `Retry-After` seconds (or the backoff when absent) |
//! | 5xx, no answer | kept, re-sent after the backoff |

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use tracing::{Instrument, debug, error, info, info_span, warn};

use super::protocol::excerpt;
use super::shared::{Shared, StopReason, bump, stopping};
use super::{Backoff, Fix, PositionsAccepted, PositionsRejected, UnitConfig, UnitError};

/// The longest `Retry-After` honoured, so a misconfigured proxy cannot silence a car for days.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// What an attempt to deliver a batch came to.
#[derive(Debug)]
enum Delivery {
    /// The server took the batch; `refused` of its fixes were malformed and are not kept.
    Delivered { refused: usize },
    /// The server will never take this batch.
    Refused(UnitError),
    /// Try again after this delay (or the backoff when `None`).
    RetryAfter(Option<Duration>),
    /// Try again after the backoff.
    Retry(UnitError),
    /// 401: stop the unit.
    InvalidToken,
}

/// The position task, ready to run.
pub(crate) struct Reporter {
    http: reqwest::Client,
    /// The positions path under whichever server is in use.
    path: String,
    token: String,
}

/// Never prints the device token (it would end up in logs).
impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("path", &self.path)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Reporter {
    /// Builds the HTTP client once: connections are kept alive between reports, which matters
    /// on a mobile link where every new connection costs round trips.
    pub(crate) fn new(
        config: &UnitConfig,
        tls: &Arc<rustls::ClientConfig>,
    ) -> Result<Self, UnitError> {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(rustls::ClientConfig::clone(tls))
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .user_agent(concat!("ev-unit/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Reporter {
            http,
            path: config.positions_path(),
            token: config.device_token.clone(),
        })
    }

    /// Delivers fixes until the unit stops.
    pub(crate) async fn run(self, shared: Arc<Shared>) {
        let span = info_span!("positions", vehicle = %shared.config.vehicle_id);
        self.deliver_forever(&shared).instrument(span).await;
    }

    async fn deliver_forever(&self, shared: &Shared) {
        let config = &shared.config;
        let mut backoff = Backoff::new(config.initial_backoff, config.max_backoff);
        let mut stop = shared.stop.subscribe();
        let mut failing = false;
        loop {
            let batch = shared.backlog().take_batch(config.max_batch);
            if batch.is_empty() {
                tokio::select! {
                    () = shared.fixes_queued.notified() => continue,
                    _ = stopping(&mut stop) => return,
                }
            }
            let (server, root) = shared.servers.current();
            let delivery = tokio::select! {
                delivery = self.send(root, &batch) => delivery,
                _ = stopping(&mut stop) => {
                    shared.backlog().restore(batch);
                    return;
                }
            };
            let wait = match delivery {
                Delivery::Delivered { refused } => {
                    shared.backlog().settle();
                    bump(&shared.counters.fixes_sent, (batch.len() - refused) as u64);
                    bump(&shared.counters.fixes_rejected, refused as u64);
                    if failing {
                        let waiting = shared.backlog().len();
                        info!(waiting, "positions delivered again");
                        failing = false;
                    }
                    backoff.reset();
                    continue;
                }
                Delivery::Refused(error) => {
                    shared.backlog().settle();
                    bump(&shared.counters.fixes_rejected, batch.len() as u64);
                    error!(%error, fixes = batch.len(), "the server refused a batch for good; dropped");
                    continue;
                }
                Delivery::InvalidToken => {
                    shared.backlog().restore(batch);
                    error!("the server refused the device token on a position report; stopping");
                    shared.request_stop(StopReason::InvalidToken);
                    return;
                }
                Delivery::RetryAfter(delay) => {
                    shared.backlog().restore(batch);
                    let delay = delay.unwrap_or_else(|| backoff.next_delay());
                    info!(?delay, "the server asks to slow down; fixes kept");
                    delay
                }
                Delivery::Retry(error) => {
                    // No answer, or a 5xx (a follower's 503 among them): try the next node.
                    shared.servers.failed(server);
                    let held = {
                        let mut backlog = shared.backlog();
                        backlog.restore(batch);
                        backlog.held()
                    };
                    let delay = backoff.next_delay();
                    if !failing {
                        warn!(%error, held, "positions not delivered; buffering");
                    }
                    debug!(%error, held, ?delay, "positions not delivered; retrying later");
                    failing = true;
                    delay
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stopping(&mut stop) => return,
            }
        }
    }

    /// One request. A single fix goes as a plain object (the contract's everyday form),
    /// several as an array.
    async fn send(&self, root: &str, batch: &[Fix]) -> Delivery {
        let url = format!("{root}{}", self.path);
        let request = self.http.post(url).bearer_auth(&self.token);
        let request = match batch {
            [single] => request.json(single),
            _ => request.json(batch),
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Delivery::Retry(error.into()),
        };
        let status = response.status();
        if status.is_success() {
            match response.json::<PositionsAccepted>().await {
                Ok(counts) => debug!(fixes = batch.len(), ?counts, "positions delivered"),
                Err(error) => debug!(%error, "positions delivered; answer unreadable"),
            }
            return Delivery::Delivered { refused: 0 };
        }
        match status {
            StatusCode::UNAUTHORIZED => Delivery::InvalidToken,
            StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => {
                Delivery::RetryAfter(retry_after(&response))
            }
            StatusCode::BAD_REQUEST => read_refusal(response, batch).await,
            _ if status.is_client_error() => Delivery::Refused(status_error(response).await),
            _ => Delivery::Retry(status_error(response).await),
        }
    }
}

/// A 400: which fixes were refused. Without a readable `rejected` list the whole request was
/// refused (malformed JSON, too many fixes), which only a bug in the unit causes.
async fn read_refusal(response: reqwest::Response, batch: &[Fix]) -> Delivery {
    let body = match response.text().await {
        Ok(body) => body,
        // We cannot tell what was kept; re-sending is safe (the server deduplicates by time).
        Err(error) => return Delivery::Retry(error.into()),
    };
    let Ok(refusal) = serde_json::from_str::<PositionsRejected>(&body) else {
        return Delivery::Refused(UnitError::Status {
            status: 400,
            body: excerpt(&body),
        });
    };
    for rejected in &refusal.rejected {
        let recorded_at = batch.get(rejected.index).map(|fix| fix.recorded_at);
        warn!(index = rejected.index, ?recorded_at, errors = ?rejected.errors, "fix refused as malformed");
    }
    debug!(
        accepted = refusal.accepted,
        duplicates = refusal.duplicates,
        "the rest of the batch was kept"
    );
    Delivery::Delivered {
        refused: refusal.rejected.len().min(batch.len()),
    }
}

/// `Retry-After` in seconds (the only form the server uses), capped.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

async fn status_error(response: reqwest::Response) -> UnitError {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    UnitError::Status {
        status,
        body: excerpt(&body),
    }
}
