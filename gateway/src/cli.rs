//! The command line: `--config PATH`, `--help` and `--version`; every setting lives in the
//! configuration, so there is nothing else to parse.

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
