//! `ev-rental`: loads the configuration, starts the actor system and serves the API until
//! SIGTERM or Ctrl-C.

use std::process::ExitCode;

use actors::locks::UnitLink;
use clap::Parser;
use gateway::cli::{Cli, Command};
use gateway::server::{ServerOptions, shutdown_signal};

/// `ev-rental probe URL`: one request on a small runtime of its own, no configuration read.
fn probe(url: &str) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ev-rental probe: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(gateway::probe::probe(url)) {
        Ok(status) => {
            println!("{status}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("ev-rental probe: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Exit code of a leader that lost its lease: its supervisor restarts it, as a follower.
const EXIT_DEPOSED: u8 = 3;

/// Exit code for a bad command line or configuration, so scripts can tell it from a crash.
const EXIT_BAD_CONFIG: u8 = 2;

fn main() -> ExitCode {
    // `--help` and `--version` print and exit 0; a bad command line exits 2 (clap's usage
    // code, the same as a bad configuration's).
    let cli = Cli::parse();
    if let Some(Command::Probe { url }) = &cli.command {
        return probe(url);
    }
    let config = match actors::Config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("ev-rental: configuration error: {error}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    gateway::telemetry::init(config.server.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ev-rental: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Commands go to the real car units, each over the WebSocket it keeps open; the units that
    // obey in-process exist for tests and the simulator only.
    let options = ServerOptions::for_config(&config, UnitLink::remote());
    if config.cluster.enabled {
        return match runtime.block_on(gateway::cluster::node::run(
            config,
            options,
            shutdown_signal(),
        )) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                let causes = actors::error_kind::with_causes(&error);
                tracing::error!(error = %causes, "ev-rental stopped with an error");
                ExitCode::from(match error {
                    gateway::cluster::node::NodeError::Deposed => EXIT_DEPOSED,
                    _ => 1,
                })
            }
        };
    }
    match runtime.block_on(gateway::server::run(config, options, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let causes = actors::error_kind::with_causes(&error);
            tracing::error!(error = %causes, "ev-rental stopped with an error");
            ExitCode::FAILURE
        }
    }
}
