//! `ev-unit`: one simulated car unit against a running ev-rental server.
//!
//! Meant to be run and read by people integrating real hardware: it does what a unit must do
//! (keep the command channel open, obey and acknowledge lock/unlock, report positions) and
//! logs each step. The protocol itself lives in `simulator::unit`.
//!
//! Plain `http://` only: this build has no TLS.

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use simulator::unit::{Fix, StopReason, UnitClient, UnitConfig, UnitError, UnitHandle};
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

const USAGE: &str = "\
usage: ev-unit --server http://HOST:PORT --vehicle UUID [--token TOKEN]
               [--lat DEG --lon DEG] [--drive]

  --server   the ev-rental server (plain http://; no TLS in this build)
  --vehicle  the vehicle this unit is built into
  --token    its device token; better set EV_UNIT_TOKEN instead, which `ps` does not show
  --lat/--lon  where the car is parked or starts driving (default -27.5954 -48.5480,
             downtown Florianópolis)
  --drive    report a fix every 30 s, driving at 30 km/h back and forth along a 3 km
             straight line heading east; without it, one parked fix at start and one
             more whenever the doors change

Logs go to stderr; RUST_LOG=debug shows every frame and report. Ctrl-C stops cleanly.";

/// Downtown Florianópolis (Praça XV): the default parking spot.
const DEFAULT_POSITION: (f64, f64) = (-27.5954, -48.5480);
/// The API's cadence for a moving car.
const DRIVE_PERIOD: Duration = Duration::from_secs(30);
const DRIVE_SPEED_KMH: f64 = 30.0;
/// East from downtown runs through Agronômica towards Trindade: 3 km stays on the island.
const DRIVE_HEADING_DEG: f64 = 90.0;
const DRIVE_LEG_M: f64 = 3000.0;
const METRES_PER_DEGREE_LAT: f64 = 111_320.0;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
struct Args {
    server: String,
    vehicle: Uuid,
    token: String,
    /// Whether the token came from the command line, where other users can read it.
    token_on_command_line: bool,
    lat: f64,
    lon: f64,
    drive: bool,
}

#[derive(Debug, PartialEq)]
enum Parsed {
    Run(Args),
    Help,
}

/// Reads the arguments (`--flag value` or `--flag=value`); `env_token` is `EV_UNIT_TOKEN`.
fn parse_args(
    arguments: impl IntoIterator<Item = String>,
    env_token: Option<String>,
) -> Result<Parsed, String> {
    let (mut server, mut vehicle, mut token) = (None, None, None);
    let (mut lat, mut lon) = (None, None);
    let mut drive = false;
    let mut arguments = arguments.into_iter();
    while let Some(argument) = arguments.next() {
        let (flag, inline) = match argument.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (argument, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| arguments.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--drive" if inline.is_none() => drive = true,
            "--server" => server = Some(value()?),
            "--token" => token = Some(value()?),
            "--vehicle" => {
                let text = value()?;
                vehicle = Some(
                    text.parse::<Uuid>()
                        .map_err(|_| format!("--vehicle: not a UUID: {text}"))?,
                );
            }
            "--lat" => lat = Some(coordinate("--lat", &value()?, 90.0)?),
            "--lon" => lon = Some(coordinate("--lon", &value()?, 180.0)?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let server = server.ok_or("--server is required")?;
    let vehicle = vehicle.ok_or("--vehicle is required")?;
    let token_on_command_line = token.is_some();
    let token = token
        .or(env_token)
        .filter(|token| !token.is_empty())
        .ok_or("a device token is required: set EV_UNIT_TOKEN (or pass --token)")?;
    let (lat, lon) = match (lat, lon) {
        (None, None) => DEFAULT_POSITION,
        (Some(lat), Some(lon)) => (lat, lon),
        _ => return Err("--lat and --lon go together".into()),
    };
    Ok(Parsed::Run(Args {
        server,
        vehicle,
        token,
        token_on_command_line,
        lat,
        lon,
        drive,
    }))
}

fn coordinate(flag: &str, text: &str, limit: f64) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(degrees) if degrees.is_finite() && degrees.abs() <= limit => Ok(degrees),
        _ => Err(format!("{flag}: not a coordinate within ±{limit}: {text}")),
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

    let args = match parse_args(
        std::env::args().skip(1),
        std::env::var("EV_UNIT_TOKEN").ok(),
    ) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("ev-unit: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.token_on_command_line {
        warn!("--token is visible to every user of this machine (ps); prefer EV_UNIT_TOKEN");
    }
    let config = UnitConfig::new(args.server.clone(), args.vehicle, args.token.clone());
    let unit = match UnitClient::spawn(config) {
        Ok(unit) => unit,
        Err(UnitError::Config(message)) => {
            eprintln!("ev-unit: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
        Err(error) => {
            eprintln!("ev-unit: {error}");
            return ExitCode::FAILURE;
        }
    };
    info!(server = %args.server, vehicle = %args.vehicle, drive = args.drive, "unit started");
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

    fn parse(line: &str, env_token: Option<&str>) -> Result<Parsed, String> {
        parse_args(
            line.split_whitespace().map(str::to_owned),
            env_token.map(str::to_owned),
        )
    }

    #[test]
    fn a_full_command_line_parses() {
        let line = format!(
            "--server http://127.0.0.1:8080 --vehicle {VEHICLE} --token t --lat=-27.6 --lon -48.5 --drive"
        );
        let Ok(Parsed::Run(args)) = parse(&line, None) else {
            panic!("refused")
        };
        assert_eq!(args.server, "http://127.0.0.1:8080");
        assert_eq!(args.vehicle.to_string(), VEHICLE);
        assert_eq!(
            (args.token.as_str(), args.token_on_command_line),
            ("t", true)
        );
        assert_eq!((args.lat, args.lon, args.drive), (-27.6, -48.5, true));
    }

    #[test]
    fn the_token_may_come_from_the_environment_and_the_position_defaults_downtown() {
        let line = format!("--server http://h:1 --vehicle {VEHICLE}");
        let Ok(Parsed::Run(args)) = parse(&line, Some("from-env")) else {
            panic!("refused")
        };
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
        assert_eq!(parse("--help", None), Ok(Parsed::Help));
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
