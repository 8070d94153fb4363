//! `ev-unit`: one simulated car unit against a running ev-rental server.
//!
//! Meant to be run and read by people integrating real hardware: it does what a unit must do
//! (keep the command channel open, obey and acknowledge lock/unlock, report positions) and
//! logs each step. The protocol itself lives in `simulator::unit`.
//!
//! `https://` servers are reached over TLS (rustls, the public roots plus `--ca-cert`), and
//! `--backlog` keeps undelivered fixes on disk across restarts.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use clap::Parser;
use simulator::unit::{
    Fix, StopReason, UnitClient, UnitConfig, UnitError, UnitHandle, certificates_from_pem,
};
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

/// Downtown Florianópolis (Praça XV): the default parking spot.
const DEFAULT_POSITION: (f64, f64) = (-27.5954, -48.5480);
/// The API's cadence for a moving car.
const DRIVE_PERIOD: Duration = Duration::from_secs(30);
const DRIVE_SPEED_KMH: f64 = 30.0;
/// East from downtown runs through Agronômica towards Trindade: 3 km stays on the island.
const DRIVE_HEADING_DEG: f64 = 90.0;
const DRIVE_LEG_M: f64 = 3000.0;
const METRES_PER_DEGREE_LAT: f64 = 111_320.0;

/// One simulated car unit against a running ev-rental server: keeps the command channel
/// open, obeys and acknowledges lock/unlock, reports positions, and logs each step to stderr
/// (RUST_LOG=debug shows every frame and report). Ctrl-C stops cleanly.
#[derive(Clone, PartialEq, clap::Parser)]
#[command(name = "ev-unit", version)]
struct Cli {
    /// The ev-rental server: https://host[:port], or http://host:port on a trusted network. For a
    /// cluster, every node separated by commas: the unit moves to the next one when the one in
    /// use fails or is a follower.
    #[arg(long, value_name = "URL[,URL...]")]
    server: String,
    /// A PEM file of certificate authorities to trust besides the public ones (a private PKI).
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Keep undelivered fixes in this file, so that they survive a restart of the unit.
    #[arg(long, value_name = "FILE")]
    backlog: Option<PathBuf>,
    /// The vehicle this unit is built into.
    #[arg(long, value_name = "UUID")]
    vehicle: Uuid,
    /// Its device token; better set EV_UNIT_TOKEN instead, which `ps` does not show.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Latitude where the car is parked or starts driving (default: downtown Florianópolis).
    #[arg(long, value_name = "DEG", allow_negative_numbers = true, requires = "lon", value_parser = latitude)]
    lat: Option<f64>,
    /// Longitude, with --lat.
    #[arg(long, value_name = "DEG", allow_negative_numbers = true, requires = "lat", value_parser = longitude)]
    lon: Option<f64>,
    /// Report a fix every 30 s, driving at 30 km/h back and forth along a 3 km straight line
    /// heading east; without it, one parked fix at start and one more whenever the doors change.
    #[arg(long)]
    drive: bool,
}

/// What the unit runs with, once the command line and the environment are read.
#[derive(Clone, PartialEq)]
struct Args {
    server: String,
    ca_cert: Option<PathBuf>,
    backlog: Option<PathBuf>,
    vehicle: Uuid,
    token: String,
    /// Whether the token came from the command line, where other users can read it.
    token_on_command_line: bool,
    lat: f64,
    lon: f64,
    drive: bool,
}

// Neither shows the device token (it would end up in logs).

impl std::fmt::Debug for Cli {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cli")
            .field("server", &self.server)
            .field("ca_cert", &self.ca_cert)
            .field("backlog", &self.backlog)
            .field("vehicle", &self.vehicle)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("lat", &self.lat)
            .field("lon", &self.lon)
            .field("drive", &self.drive)
            .finish()
    }
}

impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Args")
            .field("server", &self.server)
            .field("ca_cert", &self.ca_cert)
            .field("backlog", &self.backlog)
            .field("vehicle", &self.vehicle)
            .field("token", &"<redacted>")
            .field("token_on_command_line", &self.token_on_command_line)
            .field("lat", &self.lat)
            .field("lon", &self.lon)
            .field("drive", &self.drive)
            .finish()
    }
}

impl Cli {
    /// Completes the command line with `env_token` (`EV_UNIT_TOKEN`) and the default position.
    fn into_args(self, env_token: Option<String>) -> Result<Args, &'static str> {
        let token_on_command_line = self.token.is_some();
        let token = self
            .token
            .or(env_token)
            .filter(|token| !token.is_empty())
            .ok_or("a device token is required: set EV_UNIT_TOKEN (or pass --token)")?;
        let (lat, lon) = self.lat.zip(self.lon).unwrap_or(DEFAULT_POSITION);
        Ok(Args {
            server: self.server,
            ca_cert: self.ca_cert,
            backlog: self.backlog,
            vehicle: self.vehicle,
            token,
            token_on_command_line,
            lat,
            lon,
            drive: self.drive,
        })
    }
}

fn latitude(text: &str) -> Result<f64, String> {
    coordinate(text, 90.0)
}

fn longitude(text: &str) -> Result<f64, String> {
    coordinate(text, 180.0)
}

fn coordinate(text: &str, limit: f64) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(degrees) if degrees.is_finite() && degrees.abs() <= limit => Ok(degrees),
        _ => Err(format!("not a coordinate within ±{limit}: {text}")),
    }
}

/// Where a car driving back and forth along the leg is after `travelled_m` metres: position
/// and heading. A triangle wave, so it never leaves the 3 km segment however long it runs.
fn drive_position(start: (f64, f64), travelled_m: f64) -> (f64, f64, f64) {
    let phase = travelled_m.rem_euclid(2.0 * DRIVE_LEG_M);
    let (along, heading) = if phase <= DRIVE_LEG_M {
        (phase, DRIVE_HEADING_DEG)
    } else {
        (
            2.0 * DRIVE_LEG_M - phase,
            (DRIVE_HEADING_DEG + 180.0) % 360.0,
        )
    };
    let radians = DRIVE_HEADING_DEG.to_radians();
    let north_m = along * radians.cos();
    let east_m = along * radians.sin();
    let lat = start.0 + north_m / METRES_PER_DEGREE_LAT;
    let lon = start.1 + east_m / (METRES_PER_DEGREE_LAT * start.0.to_radians().cos());
    (lat, lon, heading)
}

/// Reports one fix, logging instead of failing: a stopped unit is handled by the main loop.
fn report(unit: &UnitHandle, fix: Fix) {
    info!(lat = fix.lat, lon = fix.lon, "reporting position");
    if let Err(error) = unit.report(fix) {
        warn!(%error, "position not queued");
    }
}

async fn run(unit: &UnitHandle, args: &Args) {
    let mut door_changes = unit.door_changes();
    let mut ticker = tokio::time::interval(DRIVE_PERIOD);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let metres_per_tick = DRIVE_SPEED_KMH / 3.6 * DRIVE_PERIOD.as_secs_f64();
    let mut ticks: u32 = 0;
    let parked = || Fix {
        speed_kmh: Some(0.0),
        battery_pct: Some(80.0),
        ..Fix::new(args.lat, args.lon, Utc::now())
    };
    if !args.drive {
        report(unit, parked());
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            signal = &mut ctrl_c => {
                if let Err(error) = signal {
                    error!(%error, "cannot listen for Ctrl-C; stopping");
                }
                info!("Ctrl-C: shutting down");
                return;
            }
            reason = unit.stopped() => {
                if reason == StopReason::InvalidToken {
                    error!("the server refused the device token: ask an admin for a new one");
                }
                return;
            }
            changed = door_changes.changed() => {
                if changed.is_err() {
                    return;
                }
                let doors = *door_changes.borrow_and_update();
                info!(?doors, "doors changed");
                if !args.drive {
                    report(unit, parked());
                }
            }
            _ = ticker.tick(), if args.drive => {
                let (lat, lon, heading) = drive_position((args.lat, args.lon), f64::from(ticks) * metres_per_tick);
                let battery = (80.0 - 0.1 * f64::from(ticks)).max(5.0);
                ticks = ticks.saturating_add(1);
                report(unit, Fix {
                    speed_kmh: Some(DRIVE_SPEED_KMH),
                    heading_deg: Some(heading),
                    battery_pct: Some(battery),
                    ..Fix::new(lat, lon, Utc::now())
                });
            }
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    // `--help` and `--version` print and exit 0; a bad command line exits 2.
    let args = match Cli::parse().into_args(std::env::var("EV_UNIT_TOKEN").ok()) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("ev-unit: {message}");
            return ExitCode::from(2);
        }
    };
    if args.token_on_command_line {
        warn!("--token is visible to every user of this machine (ps); prefer EV_UNIT_TOKEN");
    }
    let mut servers = args
        .server
        .split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty());
    let first = servers.next().unwrap_or_default().to_owned();
    let mut config = UnitConfig::new(first, args.vehicle, args.token.clone());
    config.other_servers = servers.map(str::to_owned).collect();
    config.backlog_file = args.backlog.clone();
    if let Some(path) = &args.ca_cert {
        let read = std::fs::read(path)
            .map_err(|error| UnitError::Config(format!("{}: {error}", path.display())))
            .and_then(|pem| certificates_from_pem(&pem));
        match read {
            Ok(certificates) => config.ca_certificates = certificates,
            Err(error) => {
                eprintln!("ev-unit: --ca-cert: {error}");
                return ExitCode::from(2);
            }
        }
    }
    let unit = match UnitClient::spawn(config) {
        Ok(unit) => unit,
        Err(UnitError::Config(message)) => {
            eprintln!("ev-unit: {message}");
            return ExitCode::from(2);
        }
        Err(error) => {
            eprintln!("ev-unit: {error}");
            return ExitCode::FAILURE;
        }
    };
    let buffered = unit.stats().fixes_buffered;
    info!(server = %args.server, vehicle = %args.vehicle, drive = args.drive, buffered, "unit started");
    run(&unit, &args).await;
    match unit.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            error!(%error, "unit stopped");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VEHICLE: &str = "0190f5c2-7a3e-7c1b-9d2e-5f6a7b8c9d0e";

    fn parse(line: &str, env_token: Option<&str>) -> Result<Args, String> {
        let cli = Cli::try_parse_from(std::iter::once("ev-unit").chain(line.split_whitespace()))
            .map_err(|error| error.to_string())?;
        cli.into_args(env_token.map(str::to_owned))
            .map_err(str::to_owned)
    }

    #[test]
    fn a_full_command_line_parses() {
        let line = format!(
            "--server http://127.0.0.1:8080 --vehicle {VEHICLE} --token t --lat=-27.6 --lon -48.5 --drive"
        );
        let args = parse(&line, None).unwrap();
        assert_eq!(args.server, "http://127.0.0.1:8080");
        assert_eq!(args.vehicle.to_string(), VEHICLE);
        assert_eq!(
            (args.token.as_str(), args.token_on_command_line),
            ("t", true)
        );
        assert_eq!((args.lat, args.lon, args.drive), (-27.6, -48.5, true));
        assert_eq!((args.ca_cert, args.backlog), (None, None));
        let with_files = format!("{line} --ca-cert ca.pem --backlog /var/lib/unit/fixes.jsonl");
        let args = parse(&with_files, None).unwrap();
        assert_eq!(args.ca_cert, Some(PathBuf::from("ca.pem")));
        assert_eq!(
            args.backlog,
            Some(PathBuf::from("/var/lib/unit/fixes.jsonl"))
        );
    }

    #[test]
    fn the_token_may_come_from_the_environment_and_the_position_defaults_downtown() {
        let line = format!("--server http://h:1 --vehicle {VEHICLE}");
        let args = parse(&line, Some("from-env")).unwrap();
        assert_eq!(
            (args.token.as_str(), args.token_on_command_line),
            ("from-env", false)
        );
        assert_eq!(
            (args.lat, args.lon, args.drive),
            (DEFAULT_POSITION.0, DEFAULT_POSITION.1, false)
        );
    }

    #[test]
    fn bad_command_lines_are_refused() {
        let ok = format!("--server http://h:1 --vehicle {VEHICLE} --token t");
        for line in [
            format!("--vehicle {VEHICLE} --token t"),
            "--server http://h:1 --token t".to_owned(),
            format!("--server http://h:1 --vehicle {VEHICLE}"),
            "--server http://h:1 --vehicle not-a-uuid --token t".to_owned(),
            format!("{ok} --lat -27.6"),
            format!("{ok} --lat 95 --lon 0"),
            format!("{ok} --lat nan --lon 0"),
            format!("{ok} --colour red"),
            format!("{ok} --server"),
        ] {
            assert!(parse(&line, None).is_err(), "accepted: {line}");
        }
        let help = Cli::try_parse_from(["ev-unit", "--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        let version = Cli::try_parse_from(["ev-unit", "--version"]).unwrap_err();
        assert_eq!(version.kind(), clap::error::ErrorKind::DisplayVersion);
    }

    #[test]
    fn driving_goes_250_m_per_fix_and_turns_back_at_the_end_of_the_leg() {
        let start = DEFAULT_POSITION;
        let (lat, lon, heading) = drive_position(start, 250.0);
        assert!((lat - start.0).abs() < 1e-9 && heading == 90.0);
        let metres_east = (lon - start.1) * METRES_PER_DEGREE_LAT * start.0.to_radians().cos();
        assert!((metres_east - 250.0).abs() < 1e-6, "{metres_east}");
        let (_, back_lon, back_heading) = drive_position(start, 2.0 * DRIVE_LEG_M - 250.0);
        assert!((back_lon - lon).abs() < 1e-9 && back_heading == 270.0);
        let (_, far_lon, _) = drive_position(start, 10_000.0 * DRIVE_LEG_M);
        assert!((far_lon - start.1).abs() < 0.04, "stays on the leg");
    }
}
