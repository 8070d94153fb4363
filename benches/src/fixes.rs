//! Fixes the location service always accepts, however long a benchmark runs.
//!
//! A fix the service refuses, flags or counts as a duplicate costs less than one it stores, so
//! a generator that produced those would flatter the figures. Fix number `n` is recorded
//! 100 ms after fix `n - 1`, starting 60 days ago: times are distinct, in the past for any run
//! shorter than 60 days' worth of fixes, and increasing for each car as long as a car's
//! requests are sequential. Positions move by centimetres, far below the plausible speed.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use actors::location::FixInput;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

/// Centro, Florianópolis: inside the service area.
pub const CENTRO: (f64, f64) = (-27.5954, -48.5480);

/// Hands out fix numbers, so concurrent reporters never reuse a time.
pub struct FixSource {
    epoch: DateTime<Utc>,
    next: AtomicU64,
}

impl Default for FixSource {
    fn default() -> Self {
        FixSource::new()
    }
}

impl FixSource {
    /// Fix numbers from 0, recorded from 60 days ago.
    pub fn new() -> Self {
        FixSource {
            epoch: Utc::now() - TimeDelta::days(60),
            next: AtomicU64::new(0),
        }
    }

    /// Reserves `count` consecutive fix numbers and returns the first.
    pub fn take(&self, count: u64) -> u64 {
        self.next.fetch_add(count, Ordering::Relaxed)
    }

    /// When fix `n` was recorded.
    pub fn time(&self, n: u64) -> DateTime<Utc> {
        self.epoch + TimeDelta::milliseconds(n as i64 * 100)
    }

    /// Fix `n` of a car parked near `home`.
    pub fn input(&self, n: u64, home: (f64, f64)) -> FixInput {
        FixInput {
            lat: home.0 + (n % 7) as f64 * 1e-7,
            lon: home.1,
            recorded_at: self.time(n),
            speed_kmh: Some(30.0),
            heading_deg: Some(90.0),
            battery_pct: Some(80.0),
            altitude_m: None,
            accuracy_m: None,
            charging: None,
        }
    }

    /// The JSON body of `count` fixes from fix `first` of a car near `home`: one object when
    /// `count` is 1 (the unit's usual report), an array otherwise (a buffered batch).
    pub fn json_body(&self, first: u64, count: u64, home: (f64, f64)) -> String {
        let mut body = String::with_capacity(128 * count as usize + 2);
        if count > 1 {
            body.push('[');
        }
        for n in first..first + count {
            if n > first {
                body.push(',');
            }
            let fix = self.input(n, home);
            write!(
                body,
                r#"{{"lat":{},"lon":{},"recorded_at":"{}","speed_kmh":30.0,"heading_deg":90.0,"battery_pct":80.0}}"#,
                fix.lat,
                fix.lon,
                fix.recorded_at.to_rfc3339_opts(SecondsFormat::Millis, true)
            )
            .expect("write to a string");
        }
        if count > 1 {
            body.push(']');
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_one_object_or_an_array_of_distinct_times() {
        let source = FixSource::new();
        let one: serde_json::Value =
            serde_json::from_str(&source.json_body(0, 1, CENTRO)).expect("json");
        assert!(one.is_object());
        let batch: serde_json::Value =
            serde_json::from_str(&source.json_body(10, 50, CENTRO)).expect("json");
        let times: std::collections::HashSet<&str> = batch
            .as_array()
            .expect("array")
            .iter()
            .map(|fix| fix["recorded_at"].as_str().expect("time"))
            .collect();
        assert_eq!(times.len(), 50);
    }
}
