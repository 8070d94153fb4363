//! The booking workload shared by the reservation and cluster benchmarks: 64 customers' apps
//! at once, each connection owning a set of (customer, car) pairs that it books in turn.
//!
//! A reservation lasts 2 to 6 hours and may start at most `rental.max_days_ahead` days ahead
//! (the benchmarks raise it to 7, the most validation allows), and neither a car nor a customer
//! may have two that overlap. So each pair's successive bookings take successive 2-hour
//! windows: 83 windows fit in 7 days, and the pairs are enough for the requests a run sends.
//! Every answer must be 201 and `confirmed`; anything else (a 409 would mean the windows ran
//! out) fails the run.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::driver::{CONNECTIONS, Connection, Workload, expect_json};

/// Pairs of each connection: 64 × 12 × 83 ≈ 64,000 bookings, well beyond what a run at the
/// target rate sends (about 12 s × 2,000/s plus the warm-up).
pub const PAIRS_PER_CONNECTION: usize = 12;
/// Two-hour windows that fit between a few minutes from now and 7 days ahead.
pub const WINDOWS: u64 = 83;
/// The shortest reservation, so the most windows fit.
pub const WINDOW: TimeDelta = TimeDelta::hours(2);
/// How far ahead the first window starts: the run must not outlast it.
const LEAD: TimeDelta = TimeDelta::minutes(10);

/// The bookings of one connection's customers: pair `seq % pairs` books window
/// `seq / pairs`.
pub struct Bookings {
    /// Per connection: `(access token, vehicle id)` of each pair.
    pairs: Vec<Vec<(String, String)>>,
    /// The start of the first window.
    pub first_start: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Booked {
    status: String,
}

impl Workload for Bookings {
    async fn send(&self, connection: &Connection, seq: u64) -> Result<u64, String> {
        let pairs = &self.pairs[connection.index];
        let (token, vehicle) = &pairs[(seq % pairs.len() as u64) as usize];
        // Past the last window the bookings wrap around and overlap: the bare server does not
        // mind, the real one answers 409, which fails the run rather than skewing it.
        let window = (seq / pairs.len() as u64) % WINDOWS;
        let start = self.first_start + WINDOW * window as i32;
        let time = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);
        let body =
            json!({"vehicle_id": vehicle, "start_at": time(start), "end_at": time(start + WINDOW)});
        let request = connection
            .client
            .post(connection.url("/v1/reservations"))
            .bearer_auth(token)
            .json(&body);
        let booked: Booked = expect_json(request, 201).await?;
        if booked.status != "confirmed" {
            return Err(format!("booked as {}", booked.status));
        }
        Ok(1)
    }
}

impl Bookings {
    /// Deals the pairs out to the connections, `PAIRS_PER_CONNECTION` each, and starts the
    /// first window a little ahead of now.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        let mut dealt: Vec<Vec<_>> = (0..CONNECTIONS)
            .map(|_| Vec::with_capacity(PAIRS_PER_CONNECTION))
            .collect();
        for (index, pair) in pairs.into_iter().enumerate() {
            dealt[index % CONNECTIONS].push(pair);
        }
        // Whole minutes, so the windows print without fractions.
        let now = Utc::now() + LEAD;
        let first_start = now - TimeDelta::seconds(now.timestamp() % 60);
        Bookings {
            pairs: dealt,
            first_start,
        }
    }
}

/// The pairs a run needs: one customer and one car each.
pub const PAIRS: usize = CONNECTIONS * PAIRS_PER_CONNECTION;

/// Pairs of the bare server: ids and tokens of the real shape.
pub fn stand_in_pairs() -> Vec<(String, String)> {
    (0..CONNECTIONS * PAIRS_PER_CONNECTION)
        .map(|_| ("t".repeat(300), uuid::Uuid::now_v7().to_string()))
        .collect()
}
