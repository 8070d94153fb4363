//! The command line: `--config PATH`, `--help` and `--version`, and `probe URL` for container
//! health checks; every setting lives in the configuration, so there is nothing else to parse.

use std::path::PathBuf;

/// Serves the ev-rental API: hourly rental of electric cars.
///
/// Reads config.toml from the working directory (or PATH). Every key can be overridden by an
/// environment variable EVR_<SECTION>__<KEY>, e.g. EVR_SERVER__BIND=0.0.0.0:8080. Exits 2 on a
/// bad command line or configuration, 0 after a clean shutdown (SIGTERM or Ctrl-C).
#[derive(Debug, Default, PartialEq, Eq, clap::Parser)]
#[command(name = "ev-rental", version)]
pub struct Cli {
    /// The configuration file (default: config.toml in the working directory, if present).
    #[arg(long, value_name = "PATH", value_parser = non_empty_path)]
    pub config: Option<PathBuf>,
    /// Something else than serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the binary does instead of serving.
#[derive(Debug, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Asks a local URL once and exits 0 when it answers 2xx, 1 otherwise: the container
    /// image's health check (the image has no curl).
    Probe {
        /// An http:// URL, e.g. http://127.0.0.1:8080/healthz.
        #[arg(default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
}

fn non_empty_path(value: &str) -> Result<PathBuf, &'static str> {
    if value.is_empty() {
        Err("a path is needed")
    } else {
        Ok(PathBuf::from(value))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use clap::error::ErrorKind;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("ev-rental").chain(args.iter().copied()))
    }

    #[test]
    fn reads_the_config_path_in_both_spellings() {
        assert_eq!(parse(&[]).unwrap().config, None);
        assert_eq!(
            parse(&["--config", "a.toml"]).unwrap().config,
            Some("a.toml".into())
        );
        assert_eq!(
            parse(&["--config=b.toml"]).unwrap().config,
            Some("b.toml".into())
        );
    }

    #[test]
    fn refuses_what_it_does_not_know_and_answers_help_and_version() {
        assert!(parse(&["--config"]).is_err());
        assert_eq!(
            parse(&["probe", "http://127.0.0.1:1/readyz"])
                .unwrap()
                .command,
            Some(Command::Probe {
                url: "http://127.0.0.1:1/readyz".into()
            })
        );
        assert!(parse(&["--config="]).is_err());
        assert_eq!(
            parse(&["--port", "1"]).unwrap_err().kind(),
            ErrorKind::UnknownArgument
        );
        assert_eq!(
            parse(&["--help"]).unwrap_err().kind(),
            ErrorKind::DisplayHelp
        );
        let version = parse(&["--version"]).unwrap_err();
        assert_eq!(version.kind(), ErrorKind::DisplayVersion);
        assert!(
            version.to_string().contains(env!("CARGO_PKG_VERSION")),
            "{version}"
        );
    }
}
