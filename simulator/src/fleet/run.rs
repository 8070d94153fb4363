//! A run: register the fleet and sign the customers up, let every customer live their plan, wait for the reservations
//! left to the services (no-shows), then audit and report.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actors::audit::SystemAudit;
use chrono::TimeDelta;
use futures_util::StreamExt;
use futures_util::stream;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinSet;

use super::backend::Backend;
use super::city::City;
use super::customer::{self, Context};
use super::recorder::{Op, Outcome, Recorder, Tallies};
use super::report::{Report, RunInfo};
use super::scenario::{Intent, Scenario};

/// Cars or customers registered at once during set-up: enough to fill the stores' group
/// commits (sign-ups then wait for the password hashing slots).
const SETUP_CONCURRENCY: usize = 128;
/// Margin after the last reservation's end for the services' deadline to close it.
const DEADLINE_MARGIN: TimeDelta = TimeDelta::minutes(2);
/// Longest wait, on the services' clock, for the reservations still under way to end.
const SETTLE_SIMULATED: TimeDelta = TimeDelta::minutes(30);
/// Longest wait, in real time, for the same.
const SETTLE_REAL: Duration = Duration::from_secs(30);

/// What a run needs besides the backend.
pub struct RunSpec {
    /// The scenario.
    pub scenario: Scenario,
    /// The map.
    pub city: City,
    /// Keeps identities apart from earlier runs on the same server.
    pub tag: u64,
    /// What to print in the report's heading.
    pub info: RunInfo,
    /// Draw a progress bar on the terminal.
    pub progress: bool,
}

/// Plays the scenario on `backend` and reports; the backend is closed at the end.
pub async fn simulate<B: Backend>(backend: Arc<B>, spec: RunSpec) -> Report {
    let started = Instant::now();
    let recorder = Arc::new(Recorder::default());
    let RunSpec {
        scenario,
        city,
        tag,
        mut info,
        progress,
    } = spec;
    add_fleet(&backend, &scenario, &recorder).await;
    let sessions = sign_up_all(&backend, &scenario, &recorder, tag).await;
    info.setup_s = started.elapsed().as_secs_f64();

    let before = audit(backend.as_ref()).await;
    let clock = backend.clock().clone();
    let t0 = clock.now();
    let context = Arc::new(Context {
        backend: backend.clone(),
        city,
        recorder: recorder.clone(),
        t0,
        tag,
        last_open_end: Mutex::new(None),
        auto_end_after: scenario.auto_end_after,
    });
    let bar = progress_bar(progress, horizon(&scenario));
    let mut customers = JoinSet::new();
    for (plan, session) in scenario.customers.iter().cloned().zip(sessions) {
        match session {
            Some(session) => {
                customers.spawn(customer::live(context.clone(), plan, session));
            }
            None => recorder.outcome(Outcome::Abandoned),
        }
    }
    while !customers.is_empty() {
        tokio::select! {
            joined = customers.join_next() => {
                if let Some(Err(error)) = joined {
                    tracing::error!(%error, "a customer's task failed");
                    recorder.outcome(Outcome::Abandoned);
                }
            }
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        let (calls, errors) = recorder.progress();
        bar.set_position((clock.now() - t0).num_minutes().max(0) as u64);
        bar.set_message(format!("{calls} operations, {errors} errors"));
    }
    // The services close no-shows at the reservation's end: wait for the last of them.
    let last_open = *context
        .last_open_end
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(end) = last_open {
        bar.set_message("waiting for the last reservations to end".to_owned());
        clock.sleep_until(end + DEADLINE_MARGIN).await;
    }
    bar.set_message("waiting for the services to settle".to_owned());
    let after = settled_audit(backend.as_ref()).await;
    let missing = backend.missing_reservations().await;
    bar.finish_and_clear();
    info.simulated_min = (clock.now() - t0).num_seconds() as f64 / 60.0;

    if let Err(error) = backend.close().await {
        tracing::error!(%error, "closing the backend failed");
    }
    info.wall_s = started.elapsed().as_secs_f64();
    info.peak_rss_mib = super::report::peak_rss_mib();
    let tallies = recorder.snapshot();
    let mut checks = cross_check(&tallies, &before, &after);
    let missing = match missing {
        Ok(missing) => missing,
        Err(error) => {
            checks.push(format!(
                "the acknowledged reservations could not be read back: {error}"
            ));
            Vec::new()
        }
    };
    if !missing.is_empty() {
        checks.push(format!(
            "{} reservations acknowledged to customers are unknown to the services: {missing:?}",
            missing.len()
        ));
    }
    let mut report = Report::new(info, tallies, after, checks);
    report.missing_reservations = missing;
    report
}

async fn add_fleet<B: Backend>(backend: &Arc<B>, scenario: &Scenario, recorder: &Arc<Recorder>) {
    stream::iter(scenario.cars.iter())
        .map(|car| {
            let backend = backend.clone();
            let recorder = recorder.clone();
            async move {
                if let Err(error) = recorder.measure(Op::AddCar, backend.add_car(car)).await {
                    recorder.error(Op::AddCar, &error);
                }
            }
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .collect::<()>()
        .await;
}

/// Signs every customer up, in plan order.
async fn sign_up_all<B: Backend>(
    backend: &Arc<B>,
    scenario: &Scenario,
    recorder: &Arc<Recorder>,
    tag: u64,
) -> Vec<Option<B::Session>> {
    stream::iter(scenario.customers.iter())
        .map(|plan| customer::sign_up(backend.as_ref(), recorder, plan, tag))
        .buffered(SETUP_CONCURRENCY)
        .collect()
        .await
}

/// The audit, or an empty one with the reason as a violation (a run whose audit cannot be
/// read must not pass).
async fn audit<B: Backend>(backend: &B) -> SystemAudit {
    backend.audit().await.unwrap_or_else(|error| SystemAudit {
        violations: vec![format!("the audit could not be read: {error}")],
        ..SystemAudit::default()
    })
}

/// The audit once no reservation is under way any more (a booking whose answer was lost to a
/// timeout finishes its saga on the services' retry deadline), or after at most
/// [`SETTLE_SIMULATED`] of the services' time or [`SETTLE_REAL`] of real time.
async fn settled_audit<B: Backend>(backend: &B) -> SystemAudit {
    let clock = backend.clock();
    let (until, real_until) = (clock.now() + SETTLE_SIMULATED, Instant::now() + SETTLE_REAL);
    loop {
        let audit = audit(backend).await;
        let settled = audit.open_reservations() == 0 && audit.open_holds == 0;
        if settled || clock.now() >= until || Instant::now() >= real_until {
            return audit;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The latest moment a plan may still act, from the run's start: the progress bar's length.
fn horizon(scenario: &Scenario) -> TimeDelta {
    scenario
        .customers
        .iter()
        .map(|plan| {
            let booked = TimeDelta::hours(i64::from(plan.hours));
            plan.appears_after
                + plan.lead
                + match plan.intent {
                    Intent::Drive { usage, .. } => usage,
                    Intent::ReturnLate { by } => booked + by,
                    Intent::Cancel { .. } => TimeDelta::zero(),
                    Intent::NoShow | Intent::CancelWhileUnlocking => booked,
                    Intent::NeverRelease { .. } => booked + scenario.auto_end_after,
                }
        })
        .max()
        .unwrap_or_default()
}

fn progress_bar(visible: bool, horizon: TimeDelta) -> ProgressBar {
    let target = if visible {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(horizon.num_minutes().max(1) as u64), target);
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} simulated min · {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The simulator's own accounting against the services' records, over this run only (the
/// difference between the audits before and after it): every hold resolved, and as many
/// completed, cancelled, rejected and no-show reservations as the customers lived through.
fn cross_check(tallies: &Tallies, before: &SystemAudit, after: &SystemAudit) -> Vec<String> {
    let mut problems = Vec::new();
    if after.open_holds > 0 || after.open_reservations() > 0 {
        problems.push(format!(
            "{} holds and {} reservations still open after the run",
            after.open_holds,
            after.open_reservations()
        ));
    }
    if !tallies.errors.is_empty() {
        // After an unexpected error the customers' accounting is no longer exact.
        return problems;
    }
    let outcome = |kind: Outcome| tallies.outcomes.get(&kind).copied().unwrap_or(0);
    let delta = |status: &str| {
        let count = |audit: &SystemAudit| audit.reservations_by_status.get(status).copied();
        count(after).unwrap_or(0) - count(before).unwrap_or(0)
    };
    let expected = BTreeMap::from([
        (
            "completed",
            outcome(Outcome::Completed)
                + outcome(Outcome::ReturnedLate)
                + outcome(Outcome::NeverReleased),
        ),
        (
            "cancelled",
            outcome(Outcome::Cancelled)
                + outcome(Outcome::CancelledWhileUnlocking)
                + outcome(Outcome::CarNotBack),
        ),
        ("rejected", outcome(Outcome::PaymentRefused)),
        ("no_show", outcome(Outcome::NoShow)),
    ]);
    for (status, lived) in expected {
        let recorded = delta(status);
        if recorded != lived {
            problems.push(format!(
                "the services hold {recorded} new {status} reservations, the customers lived {lived}"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::backend::{OpError, OpErrorKind};
    use actors::ErrorKind;

    fn audit_with(statuses: &[(&str, u64)], open_holds: u64) -> SystemAudit {
        SystemAudit {
            reservations_by_status: statuses
                .iter()
                .map(|(status, count)| ((*status).to_owned(), *count))
                .collect(),
            open_holds,
            ..SystemAudit::default()
        }
    }

    #[test]
    fn the_services_records_must_match_what_the_customers_lived() {
        let recorder = Recorder::default();
        recorder.outcome(Outcome::Completed);
        recorder.outcome(Outcome::ReturnedLate);
        recorder.outcome(Outcome::NoShow);
        let before = audit_with(&[("completed", 5)], 0);
        let matching = audit_with(&[("completed", 7), ("no_show", 1)], 0);
        assert!(cross_check(&recorder.snapshot(), &before, &matching).is_empty());

        let missing = audit_with(&[("completed", 6), ("no_show", 1)], 0);
        let problems = cross_check(&recorder.snapshot(), &before, &missing);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("completed"));

        let open = audit_with(&[("completed", 7), ("no_show", 1), ("active", 1)], 1);
        let problems = cross_check(&recorder.snapshot(), &before, &open);
        assert!(problems[0].contains("still open"), "{problems:?}");
    }

    #[test]
    fn after_an_unexpected_error_only_open_holds_are_checked() {
        let recorder = Recorder::default();
        recorder.outcome(Outcome::Completed);
        recorder.error(
            Op::Unlock,
            &OpError::new(OpErrorKind::Service(ErrorKind::CarTimeout), "silent"),
        );
        let empty = SystemAudit::default();
        assert!(cross_check(&recorder.snapshot(), &empty, &empty).is_empty());
    }
}
