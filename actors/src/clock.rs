//! Where every service gets the time.
//!
//! Rules that depend on time (a reservation's window, a no-show, a command's expiry) read it
//! from a [`Clock`] handed to the service, never from the system directly, so that tests can
//! step a manual clock through a rental and the simulator can run hours in minutes. A
//! deadline is awaited with [`Clock::sleep_until`], which follows the clock in use.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;

/// A future that completes at a deadline of some clock.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of the current time, shared by every service of one system.
pub trait Clock: Send + Sync + Debug + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;

    /// Completes once [`Clock::now`] has reached `deadline` (at once if it already has).
    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep;

    /// Simulated seconds per real second; 1 for the wall clock (and for a manual clock, which
    /// has no pace of its own).
    fn speedup(&self) -> u32 {
        1
    }
}

/// A clock shared between services.
pub type SharedClock = Arc<dyn Clock>;

/// Wall-clock time: production.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep {
        let wait = (deadline - Utc::now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that moves only when told to: tests.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Arc::new(watch::Sender::new(start)),
        }
    }

    /// Moves the clock forward by `by`, waking every sleeper whose deadline has come.
    pub fn advance(&self, by: TimeDelta) {
        self.now.send_modify(|now| *now += by);
    }

    /// Sets the clock; moving it backwards is allowed (tests of skew) but wakes nobody.
    pub fn set(&self, to: DateTime<Utc>) {
        self.now.send_replace(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep {
        let mut changes = self.now.subscribe();
        Box::pin(async move {
            // `wait_for` checks the current value first, then every change.
            let _ = changes.wait_for(|now| *now >= deadline).await;
        })
    }
}

/// Time that runs `speedup` times faster than the wall clock from a chosen start: the
/// simulator, which plays hours of a fleet's life in minutes.
#[derive(Debug, Clone)]
pub struct AcceleratedClock {
    origin_instant: Instant,
    origin_time: DateTime<Utc>,
    speedup: u32,
}

impl AcceleratedClock {
    /// A clock that reads `start` now and then runs `speedup` times faster than real time.
    pub fn new(start: DateTime<Utc>, speedup: u32) -> Self {
        AcceleratedClock {
            origin_instant: Instant::now(),
            origin_time: start,
            speedup: speedup.max(1),
        }
    }
}

impl Clock for AcceleratedClock {
    fn now(&self) -> DateTime<Utc> {
        let real = self.origin_instant.elapsed() * self.speedup;
        self.origin_time + TimeDelta::from_std(real).unwrap_or(TimeDelta::MAX)
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep {
        let simulated = (deadline - self.now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(simulated / self.speedup))
    }

    fn speedup(&self) -> u32 {
        self.speedup
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn start() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[tokio::test]
    async fn a_manual_clock_wakes_sleepers_only_when_advanced_past_their_deadline() {
        let clock = ManualClock::new(start());
        let deadline = start() + TimeDelta::minutes(10);
        let sleeper = tokio::spawn(clock.sleep_until(deadline));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!sleeper.is_finished());
        clock.advance(TimeDelta::minutes(9));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!sleeper.is_finished());
        clock.advance(TimeDelta::minutes(1));
        tokio::time::timeout(Duration::from_secs(1), sleeper)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(clock.now(), deadline);
    }

    #[tokio::test]
    async fn a_past_deadline_completes_at_once() {
        let clock = ManualClock::new(start());
        tokio::time::timeout(
            Duration::from_millis(100),
            clock.sleep_until(start() - TimeDelta::hours(1)),
        )
        .await
        .unwrap();
        let system = SystemClock;
        tokio::time::timeout(Duration::from_millis(100), system.sleep_until(Utc::now()))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_accelerated_clock_runs_faster() {
        let clock = AcceleratedClock::new(start(), 3_600);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let elapsed = clock.now() - start();
        assert!(elapsed >= TimeDelta::seconds(150), "{elapsed}");
        // One simulated minute takes about 17 ms.
        let began = Instant::now();
        clock.sleep_until(clock.now() + TimeDelta::minutes(1)).await;
        assert!(began.elapsed() < Duration::from_secs(1));
    }
}
