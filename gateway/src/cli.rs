//! The command line: only `--config PATH`, since every setting lives in the configuration.

use std::path::PathBuf;

/// Parsed command-line arguments.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cli {
    /// The configuration file given with `--config`.
    pub config: Option<PathBuf>,
}

/// A command line that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CliError {
    /// `--help` was asked for.
    #[error("help requested")]
    Help,
    /// `--config` without a path.
    #[error("--config needs a path")]
    MissingValue,
    /// An argument that is not understood.
    #[error("unknown argument `{0}`")]
    Unknown(String),
}

impl Cli {
    /// Shown for `--help` and after a bad argument.
    pub const USAGE: &'static str = "usage: ev-rental [--config PATH]\n\n\
        Reads config.toml from the working directory (or PATH). Every key can be overridden by\n\
        an environment variable EVR_<SECTION>__<KEY>, e.g. EVR_SERVER__BIND=0.0.0.0:8080.";

    /// Parses the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Cli, CliError> {
        let mut cli = Cli::default();
        let mut args = args.into_iter();
        while let Some(argument) = args.next() {
            match argument.as_str() {
                "-h" | "--help" => return Err(CliError::Help),
                "--config" => cli.config = Some(args.next().ok_or(CliError::MissingValue)?.into()),
                other => match other.strip_prefix("--config=") {
                    Some(path) if !path.is_empty() => cli.config = Some(path.into()),
                    Some(_) => return Err(CliError::MissingValue),
                    None => return Err(CliError::Unknown(other.to_owned())),
                },
            }
        }
        Ok(cli)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, CliError> {
        Cli::parse(args.iter().map(|arg| arg.to_string()))
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
    fn refuses_what_it_does_not_know() {
        assert_eq!(parse(&["--config"]), Err(CliError::MissingValue));
        assert_eq!(parse(&["--config="]), Err(CliError::MissingValue));
        assert_eq!(
            parse(&["--port", "1"]),
            Err(CliError::Unknown("--port".into()))
        );
        assert_eq!(parse(&["--help"]), Err(CliError::Help));
    }
}
