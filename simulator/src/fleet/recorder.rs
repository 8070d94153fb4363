//! What happened during a run: latency of every operation by kind, refusals the customers
//! expect (a race for a car, a declined card), errors nobody expects, and how each customer's
//! plan ended.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use serde::Serialize;

use super::backend::OpError;

/// The kinds of operations, as the report lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// An admin registers a car (and its unit reports it parked).
    AddCar,
    /// A customer signs up (and logs in, against a server).
    Register,
    /// A customer looks for cars nearby.
    Search,
    /// A customer books a car (with the card hold).
    Reserve,
    /// A renter opens the car.
    Unlock,
    /// A renter closes the car for a stop.
    Lock,
    /// A renter releases the car (lock, then capture).
    Finish,
    /// A customer cancels before the start.
    Cancel,
    /// A car's unit reports a fix.
    Position,
}

impl Op {
    /// Whether it belongs to the set-up before the run's clock starts.
    pub fn is_setup(self) -> bool {
        matches!(self, Op::AddCar | Op::Register)
    }

    /// Whether the wall-clock moment of each success is kept: the customers' steps, a few
    /// per customer, whose gaps show how long an outage stopped them (searches and positions
    /// are too many to keep).
    pub fn keeps_times(self) -> bool {
        matches!(
            self,
            Op::Reserve | Op::Unlock | Op::Lock | Op::Finish | Op::Cancel
        )
    }

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Op::AddCar => "add_car",
            Op::Register => "register",
            Op::Search => "search",
            Op::Reserve => "reserve",
            Op::Unlock => "unlock",
            Op::Lock => "lock",
            Op::Finish => "finish",
            Op::Cancel => "cancel",
            Op::Position => "position",
        }
    }
}

/// How a customer's plan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Drove and released the car before the reservation's end.
    Completed,
    /// Drove and released the car after the reservation's end.
    ReturnedLate,
    /// Cancelled before the start.
    Cancelled,
    /// Booked and never came.
    NoShow,
    /// Drove and never released the car; the system ended the rental.
    NeverReleased,
    /// Tried to unlock and cancel at once: the cancel won.
    CancelledWhileUnlocking,
    /// The car was never back from the previous renter in the reservation's window; the
    /// system cancels it without a fee.
    CarNotBack,
    /// The card hold was refused.
    PaymentRefused,
    /// Found no free car (or lost every race for one).
    NoCar,
    /// Gave up after an unexpected error.
    Abandoned,
}

/// Latency and counts of one kind of operation.
#[derive(Debug, Clone)]
pub struct OpTally {
    /// Latency of every call, successful or not, in microseconds.
    pub latency_us: Histogram<u64>,
    /// Calls that succeeded.
    pub ok: u64,
    /// Calls refused in a way the customer expects.
    pub refused: u64,
    /// Calls that failed unexpectedly.
    pub errors: u64,
    /// When each success came back, wall clock, for the operations that
    /// [keep them](Op::keeps_times).
    pub succeeded_at: Vec<DateTime<Utc>>,
}

impl OpTally {
    fn new() -> OpTally {
        OpTally {
            // Up to an hour, three significant digits: a few tens of KB per kind.
            latency_us: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("static histogram bounds are valid"),
            ok: 0,
            refused: 0,
            errors: 0,
            succeeded_at: Vec::new(),
        }
    }
}

/// Everything recorded so far.
#[derive(Debug, Clone, Default)]
pub struct Tallies {
    /// By operation.
    pub ops: BTreeMap<Op, OpTally>,
    /// Expected refusals by `operation/label`.
    pub refusals: BTreeMap<String, u64>,
    /// Unexpected errors by `operation/label`.
    pub errors: BTreeMap<String, u64>,
    /// The first unexpected errors in full, to start an investigation from.
    pub error_examples: Vec<String>,
    /// Customers by how their plan ended.
    pub outcomes: BTreeMap<Outcome, u64>,
}

/// Shared by every simulated customer and car. A mutex is enough: an operation takes
/// microseconds to milliseconds, the recording well under one.
#[derive(Debug, Default)]
pub struct Recorder {
    tallies: Mutex<Tallies>,
}

/// How many unexpected errors are kept in full.
const EXAMPLES: usize = 20;

impl Recorder {
    /// Runs `call`, recording its latency, and counts it as a success if it succeeded; a
    /// failure must then be classified with [`Recorder::refused`] or [`Recorder::error`].
    pub async fn measure<T>(
        &self,
        op: Op,
        call: impl Future<Output = Result<T, OpError>>,
    ) -> Result<T, OpError> {
        let started = Instant::now();
        let result = call.await;
        self.record(op, started.elapsed(), result.is_ok());
        result
    }

    fn record(&self, op: Op, elapsed: Duration, ok: bool) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let mut tallies = self.lock();
        let tally = tallies.ops.entry(op).or_insert_with(OpTally::new);
        tally.latency_us.saturating_record(micros.max(1));
        if ok {
            tally.ok += 1;
            if op.keeps_times() {
                tally.succeeded_at.push(Utc::now());
            }
        }
    }

    /// `error` is a refusal the customer expected.
    pub fn refused(&self, op: Op, error: &OpError) {
        let mut tallies = self.lock();
        tallies.ops.entry(op).or_insert_with(OpTally::new).refused += 1;
        *tallies
            .refusals
            .entry(format!("{}/{}", op.name(), error.kind))
            .or_default() += 1;
    }

    /// `error` should not have happened.
    pub fn error(&self, op: Op, error: &OpError) {
        tracing::debug!(op = op.name(), %error, "unexpected error");
        let mut tallies = self.lock();
        tallies.ops.entry(op).or_insert_with(OpTally::new).errors += 1;
        *tallies
            .errors
            .entry(format!("{}/{}", op.name(), error.kind))
            .or_default() += 1;
        if tallies.error_examples.len() < EXAMPLES {
            tallies
                .error_examples
                .push(format!("{}: {error}", op.name()));
        }
    }

    /// A customer's plan ended this way.
    pub fn outcome(&self, outcome: Outcome) {
        *self.lock().outcomes.entry(outcome).or_default() += 1;
    }

    /// Operations recorded so far, and unexpected errors among them (for the progress bar).
    pub fn progress(&self) -> (u64, u64) {
        let tallies = self.lock();
        let calls = tallies
            .ops
            .values()
            .map(|tally| tally.latency_us.len())
            .sum();
        let errors = tallies.errors.values().sum();
        (calls, errors)
    }

    /// A copy of everything recorded.
    pub fn snapshot(&self) -> Tallies {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tallies> {
        // A panic while recording leaves counts that are still counts.
        self.tallies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::backend::OpErrorKind;
    use actors::ErrorKind;

    #[tokio::test]
    async fn successes_refusals_and_errors_are_counted_apart() {
        let recorder = Recorder::default();
        let ok: Result<(), OpError> = recorder.measure(Op::Reserve, async { Ok(()) }).await;
        assert!(ok.is_ok());
        let busy = OpError::new(OpErrorKind::Service(ErrorKind::VehicleBusy), "taken");
        let failed = recorder
            .measure(Op::Reserve, async { Err::<(), _>(busy.clone()) })
            .await;
        recorder.refused(Op::Reserve, failed.as_ref().unwrap_err());
        recorder.error(
            Op::Unlock,
            &OpError::new(OpErrorKind::Service(ErrorKind::CarTimeout), "silent"),
        );
        recorder.outcome(Outcome::Completed);

        let tallies = recorder.snapshot();
        let reserve = &tallies.ops[&Op::Reserve];
        assert_eq!(
            (reserve.latency_us.len(), reserve.ok, reserve.refused),
            (2, 1, 1)
        );
        assert_eq!(tallies.refusals["reserve/vehicle-busy"], 1);
        assert_eq!(tallies.errors["unlock/car-timeout"], 1);
        assert_eq!(tallies.error_examples.len(), 1);
        assert_eq!(tallies.outcomes[&Outcome::Completed], 1);
        assert_eq!(recorder.progress(), (2, 1));
    }
}
