//! The fleet simulator: a city of cars and customers played against the services, in this
//! process on an accelerated clock or against a running server, followed by an audit of the
//! rental invariants.
//!
//! - [`scenario`]: every car and customer plan, drawn from the seed;
//! - [`customer`]: one customer's script (and the fixes of the car they drive);
//! - [`backend`]: the services in process, or a server over HTTP and WebSocket;
//! - [`run`], [`recorder`], [`report`]: the run, what it measured, and the report.

pub mod backend;
pub mod city;
pub mod customer;
pub mod options;
pub mod recorder;
pub mod report;
pub mod run;
pub mod scenario;

use std::sync::Arc;

use actors::config::Config;

use backend::{Backend, InProcess, OpError, Remote};
use city::City;
use options::Options;
use report::{Report, RunInfo};
use run::RunSpec;
use scenario::{Scenario, ScenarioSpec};

/// Why a run could not take place at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The temporary data directory could not be made.
    #[error("temporary data directory: {0}")]
    TempDir(std::io::Error),
    /// The services could not be started or reached.
    #[error("{0}")]
    Backend(#[from] OpError),
}

/// Plays the run `options` describe and reports it.
pub async fn run(options: Options, mut config: Config) -> Result<Report, RunError> {
    let city = City::new(&config.fleet.service_area);
    let spec = ScenarioSpec {
        cars: options.cars,
        customers: options.customers,
        duration: options.duration,
        seed: options.seed,
        hours: (config.rental.min_hours, config.rental.max_hours),
        // Against a server, its configuration is taken to be the same as this one's.
        auto_end_after: chrono::TimeDelta::minutes(i64::from(config.rental.auto_end_after_min)),
    };
    let scenario = Scenario::generate(&spec, &city);
    let mut info = RunInfo {
        target: options
            .target
            .clone()
            .unwrap_or_else(|| "in-process".into()),
        cars: options.cars,
        customers: options.customers,
        seed: options.seed,
        speedup: options.speedup.unwrap_or(1),
        duration_min: options.duration.num_minutes(),
        simulated_min: 0.0,
        setup_s: 0.0,
        wall_s: 0.0,
        peak_rss_mib: None,
    };
    let progress = !options.json;
    match (&options.target, options.speedup) {
        (Some(target), _) => {
            let nodes = options::targets(target);
            let remote = Arc::new(Remote::connect(&nodes, &config.auth).await?);
            info.speedup = remote.clock().speedup();
            let spec = RunSpec {
                scenario,
                city,
                tag: run_tag(),
                info,
                progress,
            };
            let report = run::simulate(remote.clone(), spec).await;
            if remote.confirmation_required() {
                return Err(RunError::Backend(OpError::harness(
                    "email-confirmation",
                    backend::CONFIRMATION_REQUIRED,
                )));
            }
            Ok(report)
        }
        (None, speedup) => {
            let speedup = speedup.unwrap_or(1);
            let _temporary = match &options.data_dir {
                Some(dir) => {
                    config.storage.data_dir = dir.clone();
                    None
                }
                None => {
                    let dir = tempfile::tempdir().map_err(RunError::TempDir)?;
                    config.storage.data_dir = dir.path().to_owned();
                    Some(dir)
                }
            };
            // A unit answers within milliseconds of real time; a timeout of a few simulated
            // seconds would be microseconds of it at a high speed-up.
            config.fleet.command_timeout_s =
                config.fleet.command_timeout_s.max(2 * u64::from(speedup));
            let system = InProcess::start(&config, speedup).await?;
            let spec = RunSpec {
                scenario,
                city,
                tag: 0,
                info,
                progress,
            };
            Ok(run::simulate(Arc::new(system), spec).await)
        }
    }
}

/// A tag for this run's identities on a shared server, so that runs can repeat there
/// without their CPFs, e-mails and plates colliding.
fn run_tag() -> u64 {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    1 + seconds % 997
}
