//! The simulator's command line, checked against sensible bounds before anything starts;
//! flags not given fall back to the `[simulator]` section of the configuration.

use std::path::PathBuf;

use actors::config::SimulatorConfig;
use chrono::TimeDelta;
use clap::Parser;

/// Drives thousands of simulated cars and customers through ev-rental, then audits the
/// services and reports throughput, latency and errors. Exits 1 on any broken invariant or
/// unexpected error.
#[derive(Debug, Clone, Parser)]
#[command(name = "simulator", version)]
pub struct Cli {
    /// Cars in the fleet [default: simulator.cars].
    #[arg(long)]
    pub cars: Option<u64>,
    /// Customers [default: simulator.customers].
    #[arg(long)]
    pub customers: Option<u64>,
    /// Simulated length of the run: `90m`, `2h`, `1h30m` or minutes [default:
    /// simulator.duration_min].
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<TimeDelta>,
    /// Simulated seconds per real second, in process [default: simulator.speedup]. Against a
    /// server its own clock sets the pace (`server.clock_speedup`).
    #[arg(long)]
    pub speedup: Option<u32>,
    /// Seed of the scenario: the same seed gives the same city [default: simulator.seed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Drive a running server (`http://host:port`) instead of the system in this process;
    /// for a cluster, every node, comma-separated: requests follow the leader.
    #[arg(long)]
    pub target: Option<String>,
    /// Keep the in-process stores here instead of a temporary directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Configuration file [default: config.toml if present], with `EVR_*` overrides.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// What to run, after defaults and checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Cars.
    pub cars: u64,
    /// Customers.
    pub customers: u64,
    /// Simulated length.
    pub duration: TimeDelta,
    /// Pace of the in-process clock; `None` against a server.
    pub speedup: Option<u32>,
    /// Seed.
    pub seed: u64,
    /// The server to drive, `http://host:port` without a trailing slash, or the nodes of a
    /// cluster, comma-separated ([`targets`] splits them).
    pub target: Option<String>,
    /// Where the in-process stores go.
    pub data_dir: Option<PathBuf>,
    /// JSON report.
    pub json: bool,
}

/// A flag out of bounds, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--{flag}: {reason}")]
pub struct OptionsError {
    /// The flag.
    pub flag: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn invalid(flag: &'static str, reason: impl Into<String>) -> OptionsError {
    OptionsError {
        flag,
        reason: reason.into(),
    }
}

/// Largest fleet and customer base (memory of the scenario and of the in-process system).
const MAX_PEOPLE_OR_CARS: u64 = 1_000_000;
/// Longest speed-up; beyond it the services' deadlines are shorter than the scheduling jitter.
const MAX_SPEEDUP: u32 = 3_600;

impl Options {
    /// `cli` with `defaults` filling the gaps, checked.
    pub fn resolve(cli: &Cli, defaults: &SimulatorConfig) -> Result<Options, OptionsError> {
        let cars = cli.cars.unwrap_or(u64::from(defaults.cars));
        if !(1..=MAX_PEOPLE_OR_CARS).contains(&cars) {
            return Err(invalid("cars", "from 1 to 1000000"));
        }
        let customers = cli.customers.unwrap_or(u64::from(defaults.customers));
        if customers > MAX_PEOPLE_OR_CARS {
            return Err(invalid("customers", "at most 1000000"));
        }
        let duration = cli
            .duration
            .unwrap_or(TimeDelta::minutes(i64::from(defaults.duration_min)));
        if duration < TimeDelta::minutes(30) || duration > TimeDelta::days(7) {
            return Err(invalid("duration", "from 30m to 7 days (168h)"));
        }
        let target = cli
            .target
            .as_deref()
            .map(|list| parse_targets(list).map(|nodes| nodes.join(",")))
            .transpose()?;
        if target.is_some() && cli.data_dir.is_some() {
            return Err(invalid(
                "data-dir",
                "only for the in-process system; the server keeps its own data",
            ));
        }
        let speedup = match (&target, cli.speedup) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "speedup",
                    "against a server its clock sets the pace: start it with EVR_SERVER__CLOCK_SPEEDUP",
                ));
            }
            (Some(_), None) => None,
            (None, speedup) => {
                let speedup = speedup.unwrap_or(defaults.speedup);
                if !(1..=MAX_SPEEDUP).contains(&speedup) {
                    return Err(invalid("speedup", "from 1 to 3600"));
                }
                Some(speedup)
            }
        };
        Ok(Options {
            cars,
            customers,
            duration,
            speedup,
            seed: cli.seed.unwrap_or(defaults.seed),
            target,
            data_dir: cli.data_dir.clone(),
            json: cli.json,
        })
    }
}

/// The nodes of a `--target` list (`http://a:1,http://b:2`), each checked and without a
/// trailing slash; one URL is a list of one.
pub fn parse_targets(list: &str) -> Result<Vec<String>, OptionsError> {
    let mut nodes: Vec<String> = Vec::new();
    for url in list.split(',') {
        let url = url.trim().trim_end_matches('/');
        if !(url.starts_with("http://") && url.len() > "http://".len()) {
            return Err(invalid(
                "target",
                format!("expected http://host:port (comma-separated for a cluster), got {url:?}"),
            ));
        }
        if nodes.iter().any(|node| node == url) {
            return Err(invalid("target", format!("{url} is listed twice")));
        }
        nodes.push(url.to_owned());
    }
    Ok(nodes)
}

/// The nodes of an [`Options::target`] already checked: the list [`parse_targets`] made.
pub fn targets(target: &str) -> Vec<String> {
    target.split(',').map(str::to_owned).collect()
}

/// `90m`, `2h`, `1h30m`, `45s` or a bare number of minutes.
pub fn parse_duration(text: &str) -> Result<TimeDelta, String> {
    let text = text.trim();
    if let Ok(minutes) = text.parse::<i64>() {
        return Ok(TimeDelta::minutes(minutes));
    }
    let mut total = TimeDelta::zero();
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let value: i64 = number
            .parse()
            .map_err(|_| format!("{text:?}: expected a number before {c:?}"))?;
        total += match c {
            'h' => TimeDelta::hours(value),
            'm' => TimeDelta::minutes(value),
            's' => TimeDelta::seconds(value),
            other => return Err(format!("{text:?}: unknown unit {other:?} (use h, m or s)")),
        };
        number.clear();
    }
    if !number.is_empty() || text.is_empty() {
        return Err(format!(
            "{text:?}: expected a duration like 90m, 2h or 1h30m"
        ));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("simulator").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("90m"), Ok(TimeDelta::minutes(90)));
        assert_eq!(parse_duration("2h"), Ok(TimeDelta::hours(2)));
        assert_eq!(parse_duration("1h30m"), Ok(TimeDelta::minutes(90)));
        assert_eq!(parse_duration("120"), Ok(TimeDelta::minutes(120)));
        for bad in ["", "h", "2d", "1h30", "abc"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_flags_come_from_the_configuration() {
        let defaults = SimulatorConfig::default();
        let options = Options::resolve(&cli(&["--cars", "10"]), &defaults).unwrap();
        assert_eq!(options.cars, 10);
        assert_eq!(options.customers, u64::from(defaults.customers));
        assert_eq!(options.duration, TimeDelta::minutes(120));
        assert_eq!(options.speedup, Some(defaults.speedup));
        assert_eq!(options.seed, defaults.seed);
    }

    #[test]
    fn out_of_bounds_flags_name_the_flag() {
        let defaults = SimulatorConfig::default();
        let cases: [(&[&str], &str); 6] = [
            (&["--cars", "0"], "cars"),
            (&["--duration", "10m"], "duration"),
            (&["--speedup", "0"], "speedup"),
            (&["--target", "https://example.com"], "target"),
            (&["--target", "http://h:1", "--speedup", "60"], "speedup"),
            (
                &["--target", "http://h:1", "--data-dir", "/tmp/x"],
                "data-dir",
            ),
        ];
        for (args, flag) in cases {
            let error = Options::resolve(&cli(args), &defaults).unwrap_err();
            assert_eq!(error.flag, flag, "{args:?}");
        }
        let remote = Options::resolve(&cli(&["--target", "http://h:1/"]), &defaults).unwrap();
        assert_eq!(remote.target.as_deref(), Some("http://h:1"));
        assert_eq!(remote.speedup, None);
    }

    #[test]
    fn a_cluster_is_every_node_comma_separated() {
        let defaults = SimulatorConfig::default();
        let list = "http://a:1,http://b:2/, http://c:3";
        let cluster = Options::resolve(&cli(&["--target", list]), &defaults).unwrap();
        let target = cluster.target.unwrap();
        assert_eq!(target, "http://a:1,http://b:2,http://c:3");
        assert_eq!(targets(&target), ["http://a:1", "http://b:2", "http://c:3"]);
        assert_eq!(targets("http://h:1"), ["http://h:1"]);
        for bad in [
            "http://a:1,",
            "http://a:1,https://b:2",
            "http://a:1,,http://b:2",
            "http://a:1,http://a:1/",
        ] {
            let error = Options::resolve(&cli(&["--target", bad]), &defaults).unwrap_err();
            assert_eq!(error.flag, "target", "{bad}");
        }
    }
}
