//! The `ev-rental` binary as an operator runs it: configuration errors, start, SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_ev-rental");

fn run_with_env(vars: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(BINARY)
        .current_dir(dir.path())
        .args(args)
        .envs(vars.iter().copied())
        .output()
        .expect("binary runs")
}

#[test]
fn a_bad_value_exits_with_code_2_and_names_the_key() {
    let output = run_with_env(&[("EVR_SERVER__BIND", "not-an-address")], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("server.bind"), "{stderr}");
    assert!(stderr.contains("EVR_SERVER__BIND"), "{stderr}");
}

#[test]
fn an_unknown_key_or_file_or_flag_exits_with_code_2() {
    let output = run_with_env(&[("EVR_STORAGE__DATADIR", "x")], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("storage.datadir"));

    let output = run_with_env(&[], &["--config", "/nonexistent/ev-rental.toml"]);
    assert_eq!(output.status.code(), Some(2));

    let output = run_with_env(&[], &["--verbose"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn answers_version_and_help_and_exits_0() {
    let output = run_with_env(&[], &["--version"]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.trim(),
        format!("ev-rental {}", env!("CARGO_PKG_VERSION"))
    );
    let output = run_with_env(&[], &["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("--config <PATH>"), "{stdout}");
    assert!(stdout.contains("EVR_<SECTION>__<KEY>"), "{stdout}");
}

#[test]
fn serves_logs_each_request_drains_on_sigterm_and_exits_0_with_data_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut child = Command::new(BINARY)
        .current_dir(dir.path())
        .env("EVR_SERVER__BIND", "127.0.0.1:0")
        .env("EVR_SERVER__LOG_FORMAT", "json")
        .env("EVR_STORAGE__DATA_DIR", &data_dir)
        .env("EVR_SERVER__DRAIN_DELAY_S", "5")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();

    // The URL comes from the start-up log line.
    let started = Instant::now();
    let url = loop {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no start-up log line"
        );
        let line = lines.next().expect("log line").unwrap();
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
        if entry["fields"]["message"] == "ev-rental listening" {
            break entry["fields"]["url"].as_str().unwrap().to_owned();
        }
    };

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let get = |path: &str| {
        runtime.block_on(async {
            reqwest::get(format!("{url}{path}"))
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    assert_eq!(get("/healthz"), 200);
    assert_eq!(get("/readyz"), 200);

    // Every request leaves one access line: method, route template, status, request id and
    // client address.
    let access = loop {
        let line = lines.next().expect("log line").unwrap();
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
        if entry["target"] == "access" && entry["fields"]["route"] == "/healthz" {
            break entry;
        }
    };
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["fields"]["method"], "GET");
    assert_eq!(access["fields"]["status"], 200);
    assert!(access["fields"]["latency_ms"].is_number(), "{access}");
    assert_eq!(access["fields"]["client"], "127.0.0.1", "{access}");
    assert_eq!(
        access["fields"]["request_id"].as_str().unwrap().len(),
        36,
        "a generated UUID: {access}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // During the drain delay the server still answers, but is not ready any more: a load
    // balancer polling readiness stops routing here before the listener closes.
    let asked = Instant::now();
    while get("/readyz") != 503 {
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "/readyz still 200 after SIGTERM"
        );
    }
    assert_eq!(get("/healthz"), 200, "still alive while draining");
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "SIGTERM must end in a clean exit");
    let remaining: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        remaining.iter().any(|line| line.contains("stores flushed")),
        "{remaining:?}"
    );
    for service in actors::system::SERVICES {
        assert!(data_dir.join(service).is_dir(), "no store for {service}");
    }
}
