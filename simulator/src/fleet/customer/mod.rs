//! One customer's day: sign up, look for a car, book it, and then drive, cancel, stay away
//! or come back late, as their plan says. Their car reports its fixes while they drive.
//!
//! Every wait is on the services' clock, so the same script runs in real time against a
//! deployment and hundreds of times faster in process.

mod drive;

use std::sync::{Arc, Mutex};

use actors::ErrorKind;
use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use super::backend::{Backend, FoundCar, OpError, OpErrorKind, Person};
use super::city::City;
use super::recorder::{Op, Outcome, Recorder};
use super::scenario::{CardKind, CustomerPlan, Intent};
use drive::{drive, from_seconds, seconds};

/// Search radii tried in turn until one finds a car.
const SEARCH_RADII_M: [f64; 3] = [1_500.0, 5_000.0, 20_000.0];
/// Cars a customer tries to book before giving up (each may be taken by someone faster).
const BOOKING_TRIES: usize = 5;
/// Attempts at a lock command the car did not confirm in time.
const COMMAND_TRIES: usize = 3;
/// How far past its start a booking's answer may come before a refusal of its window is taken
/// for the delay (the services accept a start up to a minute in the past).
const LATE_START: TimeDelta = TimeDelta::seconds(50);
/// How often a renter whose car is not back from the previous renter asks again.
const NOT_BACK_RETRY: TimeDelta = TimeDelta::minutes(5);

/// What every customer of a run shares.
pub struct Context<B: Backend> {
    /// The services.
    pub backend: Arc<B>,
    /// The map.
    pub city: City,
    /// Where results go.
    pub recorder: Arc<Recorder>,
    /// When the run started (services' clock).
    pub t0: DateTime<Utc>,
    /// Keeps identities of different runs apart on one server.
    pub tag: u64,
    /// The latest end of the reservations left to the services to close (no-shows, abandoned
    /// rentals): the run waits for it before the audit.
    pub last_open_end: Mutex<Option<DateTime<Utc>>>,
    /// After how long past its end the services end a rental nobody released.
    pub auto_end_after: TimeDelta,
}

impl<B: Backend> Context<B> {
    fn now(&self) -> DateTime<Utc> {
        self.backend.clock().now()
    }

    async fn sleep_until(&self, at: DateTime<Utc>) {
        self.backend.clock().sleep_until(at).await;
    }

    fn leave_open(&self, end: DateTime<Utc>) {
        let mut last = self
            .last_open_end
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *last = (*last).max(Some(end));
    }
}

/// A booked car.
struct Booking {
    id: Uuid,
    car: FoundCar,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

/// Signs the customer of `plan` up (and logs them in); `None` after an error, recorded.
///
/// The run signs everybody up before its clock starts: a sign-up costs a password hash
/// (tens of milliseconds of CPU, deliberately), and hundreds of them per real second, as an
/// accelerated run would ask, would only measure the hashing queue and push every later
/// step of the plans out of their time.
pub async fn sign_up<B: Backend>(
    backend: &B,
    recorder: &Recorder,
    plan: &CustomerPlan,
    tag: u64,
) -> Option<B::Session> {
    let person = Person::of(plan, tag);
    match recorder
        .measure(Op::Register, backend.register(&person))
        .await
    {
        Ok(session) => Some(session),
        Err(error) => {
            recorder.error(Op::Register, &error);
            None
        }
    }
}

/// Plays `plan` to its end as the signed-up customer `session`.
pub async fn live<B: Backend>(context: Arc<Context<B>>, plan: CustomerPlan, session: B::Session) {
    let outcome = run(&context, &plan, &session).await;
    context.recorder.outcome(outcome);
}

async fn run<B: Backend>(
    context: &Context<B>,
    plan: &CustomerPlan,
    session: &B::Session,
) -> Outcome {
    let recorder = &context.recorder;
    context.sleep_until(context.t0 + plan.appears_after).await;
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let booking = match book(context, plan, session, &mut rng).await {
        Ok(booking) => booking,
        Err(outcome) => return outcome,
    };
    match plan.intent {
        Intent::Cancel { after } => {
            // Cancelling is only possible before the start, however long booking took.
            let latest = booking.start - TimeDelta::minutes(2);
            context
                .sleep_until((context.now() + after).min(latest))
                .await;
            let cancelled = context.backend.cancel(session, booking.id);
            match recorder.measure(Op::Cancel, cancelled).await {
                Ok(()) => Outcome::Cancelled,
                Err(error) => abandon(context, &booking, Op::Cancel, &error),
            }
        }
        Intent::NoShow => {
            context.leave_open(booking.end);
            Outcome::NoShow
        }
        Intent::Drive { legs, usage } => {
            let release = booking.start + usage;
            rent(context, session, &booking, legs, Some(release), &mut rng).await
        }
        Intent::ReturnLate { by } => {
            let legs = rng.random_range(1..=2);
            let release = Some(booking.end + by);
            rent(context, session, &booking, legs, release, &mut rng).await
        }
        Intent::NeverRelease { legs } => {
            rent(context, session, &booking, legs, None, &mut rng).await
        }
        Intent::CancelWhileUnlocking => race_cancel(context, session, &booking, &mut rng).await,
    }
}

/// Asks to unlock and to cancel at the same moment, in the unlock grace. The services must
/// let exactly one of them through: the cancel (then the unlock finds no reservation) or the
/// unlock (then the cancel finds the rental started, and the customer drives).
async fn race_cancel<B: Backend>(
    context: &Context<B>,
    session: &B::Session,
    booking: &Booking,
    rng: &mut StdRng,
) -> Outcome {
    let recorder = &context.recorder;
    let grace = booking.start - TimeDelta::minutes(10);
    context.sleep_until(grace.max(context.now())).await;
    if context.now() >= booking.start {
        // Booking took so long that the start has passed: nothing left to race.
        context.leave_open(booking.end);
        return Outcome::NoShow;
    }
    let car = booking.car.id;
    let unlock = recorder.measure(Op::Unlock, context.backend.unlock(session, car));
    let cancel = recorder.measure(Op::Cancel, context.backend.cancel(session, booking.id));
    match tokio::join!(unlock, cancel) {
        (Ok(()), Err(refused)) if refused.is(ErrorKind::InvalidState) => {
            recorder.refused(Op::Cancel, &refused);
            let release = booking.start + TimeDelta::minutes(rng.random_range(20..=60));
            drive_and_release(context, session, booking, 1, Some(release), rng).await
        }
        (Err(refused), Ok(())) if refused.is(ErrorKind::NoAccess) => {
            recorder.refused(Op::Unlock, &refused);
            Outcome::CancelledWhileUnlocking
        }
        (Ok(()), Ok(())) => {
            let error = OpError::new(
                OpErrorKind::Violation("double-access"),
                "both the unlock and the cancel succeeded: the car is open under a cancelled reservation",
            );
            recorder.error(Op::Cancel, &error);
            Outcome::Abandoned
        }
        (Err(error), _) => abandon(context, booking, Op::Unlock, &error),
        (_, Err(error)) => abandon(context, booking, Op::Cancel, &error),
    }
}

fn abandon<B: Backend>(
    context: &Context<B>,
    booking: &Booking,
    op: Op,
    error: &OpError,
) -> Outcome {
    context.recorder.error(op, error);
    context.leave_open(booking.end);
    Outcome::Abandoned
}

/// Finds a car and books it; the outcome instead when that fails.
async fn book<B: Backend>(
    context: &Context<B>,
    plan: &CustomerPlan,
    session: &B::Session,
    rng: &mut StdRng,
) -> Result<Booking, Outcome> {
    let recorder = &context.recorder;
    let mut found = Vec::new();
    for radius in SEARCH_RADII_M {
        let search = context.backend.nearby(session, plan.home, radius);
        match recorder.measure(Op::Search, search).await {
            Ok(cars) if cars.is_empty() => continue,
            Ok(cars) => {
                found = cars;
                break;
            }
            Err(error) => {
                recorder.error(Op::Search, &error);
                return Err(Outcome::Abandoned);
            }
        }
    }
    // People do not all take the very nearest car: spread the first few choices.
    let nearest = found.len().min(3);
    found[..nearest].shuffle(rng);
    for car in found.into_iter().take(BOOKING_TRIES) {
        let mut start = context.now() + plan.lead;
        let mut end = start + TimeDelta::hours(i64::from(plan.hours));
        // A new key only for a new window: the same request keeps its key.
        let (mut window, mut attempt) = (1, 1);
        let booked = loop {
            let key = format!("sim-{}-{}-{}-{window}", context.tag, plan.index, car.id);
            let reserve = context.backend.reserve(session, car.id, start, end, key);
            match recorder.measure(Op::Reserve, reserve).await {
                // Like the app: an answer lost to a timeout is asked again with the same
                // idempotency key, which returns the booking if it was made.
                Err(error) if error.is_transient() && attempt < COMMAND_TRIES => {
                    recorder.error(Op::Reserve, &error);
                    attempt += 1;
                }
                // The answer came so late (a failover on an accelerated clock) that the start
                // has passed: the services check the key before the window, so this booking
                // was not made, and the app asks again from now under a new key.
                Err(error)
                    if error.is(ErrorKind::Invalid)
                        && context.now() > start + LATE_START
                        && attempt < COMMAND_TRIES =>
                {
                    recorder.refused(Op::Reserve, &error);
                    start = context.now() + plan.lead;
                    end = start + TimeDelta::hours(i64::from(plan.hours));
                    window += 1;
                    attempt += 1;
                }
                other => break other,
            }
        };
        match booked {
            Ok(id) => {
                return Ok(Booking {
                    id,
                    car,
                    start,
                    end,
                });
            }
            Err(error) if error.is_conflict() => recorder.refused(Op::Reserve, &error),
            Err(error) if error.is_payment_refusal() && plan.card != CardKind::Approves => {
                recorder.refused(Op::Reserve, &error);
                return Err(Outcome::PaymentRefused);
            }
            Err(error) => {
                recorder.error(Op::Reserve, &error);
                return Err(Outcome::Abandoned);
            }
        }
    }
    Err(Outcome::NoCar)
}

/// Picks the car up, drives `legs` legs with a locked stop between two, and releases it at
/// `release` (or as soon after as the last leg allows); never, without a release.
async fn rent<B: Backend>(
    context: &Context<B>,
    session: &B::Session,
    booking: &Booking,
    legs: u8,
    release: Option<DateTime<Utc>>,
    rng: &mut StdRng,
) -> Outcome {
    let walk = TimeDelta::minutes(rng.random_range(1..=6));
    context
        .sleep_until(booking.start.max(context.now()) + walk)
        .await;
    let car = booking.car.id;
    loop {
        match command(context, Op::Unlock, || context.backend.unlock(session, car)).await {
            Ok(()) => break,
            // The previous renter is late: ask again a little later, while the window lasts.
            Err(error) if error.is(ErrorKind::CarNotReturned) => {
                context.recorder.refused(Op::Unlock, &error);
                let next = context.now() + NOT_BACK_RETRY;
                if next >= booking.end - NOT_BACK_RETRY {
                    context.leave_open(booking.end);
                    return Outcome::CarNotBack;
                }
                context.sleep_until(next).await;
            }
            Err(error) => return abandon(context, booking, Op::Unlock, &error),
        }
    }
    drive_and_release(context, session, booking, legs, release, rng).await
}

/// With the car unlocked: the legs, the stops, and the release (if any).
async fn drive_and_release<B: Backend>(
    context: &Context<B>,
    session: &B::Session,
    booking: &Booking,
    legs: u8,
    release: Option<DateTime<Utc>>,
    rng: &mut StdRng,
) -> Outcome {
    let late = release.is_some_and(|release| release > booking.end);
    // A renter who never releases drives as if the reservation's end were the release.
    let release = match release {
        Some(release) => release,
        None => {
            let planned = booking.end;
            let outcome = drive_legs(context, session, booking, legs, planned, rng).await;
            if let Some(outcome) = outcome {
                return outcome;
            }
            context.leave_open(booking.end + context.auto_end_after);
            return Outcome::NeverReleased;
        }
    };
    if let Some(outcome) = drive_legs(context, session, booking, legs, release, rng).await {
        return outcome;
    }
    context.sleep_until(release).await;
    let finished = command(context, Op::Finish, || {
        context.backend.finish(session, booking.id)
    })
    .await;
    match finished {
        Ok(()) if late => Outcome::ReturnedLate,
        Ok(()) => Outcome::Completed,
        Err(error) => abandon(context, booking, Op::Finish, &error),
    }
}

/// Drives `legs` legs with a locked stop between two, within `release`; an outcome if a
/// command failed on the way.
async fn drive_legs<B: Backend>(
    context: &Context<B>,
    session: &B::Session,
    booking: &Booking,
    legs: u8,
    release: DateTime<Utc>,
    rng: &mut StdRng,
) -> Option<Outcome> {
    let car = booking.car.id;
    let mut position = booking.car.position;
    // Operators charge cars between rentals: a rental starts on 70–100 %, and the longest
    // one (6 h plus lateness, 0.05 % a fix) ends well above the fleet's 25 % minimum.
    let mut battery = rng.random_range(70.0..=100.0);
    for leg in 0..legs {
        let left = release - context.now();
        if left < TimeDelta::minutes(3) {
            break;
        }
        let last = leg + 1 == legs;
        // Drive for part of what is left, keep the rest for the stop (and the next legs).
        let share = if last {
            0.9
        } else {
            0.5 / f64::from(legs - leg)
        };
        let budget = seconds(left) * share;
        let Some(destination) = context.city.destination(position, rng) else {
            break;
        };
        let speed_kmh = rng.random_range(20.0..=60.0);
        position = drive(
            context,
            car,
            position,
            destination,
            speed_kmh,
            budget,
            &mut battery,
        )
        .await;
        if last {
            break;
        }
        let locked = command(context, Op::Lock, || context.backend.lock(session, car)).await;
        if let Err(error) = locked {
            return Some(abandon(context, booking, Op::Lock, &error));
        }
        let stop_left = seconds(release - context.now()) * 0.5;
        let stop = rng
            .random_range(5.0 * 60.0..=30.0 * 60.0_f64)
            .min(stop_left);
        context
            .sleep_until(context.now() + from_seconds(stop))
            .await;
        let unlocked = command(context, Op::Unlock, || context.backend.unlock(session, car)).await;
        if let Err(error) = unlocked {
            return Some(abandon(context, booking, Op::Unlock, &error));
        }
    }
    None
}

/// A command to the car, tried again when the car did not confirm in time (the services
/// answer so and keep the rental as it was). The final error is the caller's to record.
async fn command<B, F, Fut>(context: &Context<B>, op: Op, call: F) -> Result<(), OpError>
where
    B: Backend,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), OpError>>,
{
    let mut attempt = 1;
    loop {
        match context.recorder.measure(op, call()).await {
            Err(error) if error.is_car_timeout() && attempt < COMMAND_TRIES => {
                context.recorder.error(op, &error);
                attempt += 1;
            }
            other => return other,
        }
    }
}
