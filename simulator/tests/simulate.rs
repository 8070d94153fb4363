//! Whole runs of the simulator: in process on a temporary directory, and against a real
//! server on a real port with real unit clients. Each must end with a clean audit, the
//! customers' accounting matching the services' records, and no unexpected error.

use std::time::Duration;

use actors::Config;
use actors::locks::UnitLink;
use chrono::TimeDelta;
use gateway::server::{RunningServer, ServerOptions};
use simulator::fleet::options::Options;
use simulator::fleet::recorder::Outcome;
use simulator::fleet::report::Report;

const SPEEDUP: u32 = 600;

fn options(target: Option<String>) -> Options {
    Options {
        cars: 60,
        customers: 40,
        duration: TimeDelta::minutes(30),
        speedup: target.is_none().then_some(SPEEDUP),
        seed: 7,
        target,
        data_dir: None,
        json: true,
    }
}

fn assert_clean(report: &Report) {
    assert!(report.passed(), "{report}");
    let audit = &report.audit;
    assert!(audit.violations.is_empty(), "{report}");
    assert_eq!(audit.open_holds, 0, "{report}");
    assert!(audit.unlocks_checked > 0, "{report}");
    assert!(
        audit.reservations_by_status.get("completed") > Some(&0),
        "{report}"
    );
    assert!(
        report.outcomes.get(&Outcome::Completed) > Some(&0),
        "{report}"
    );
    let positions = report
        .operations
        .iter()
        .find(|op| op.op == "position")
        .expect("cars reported positions");
    assert!(positions.ok > 60, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_process_run_ends_with_a_clean_audit() {
    let report = simulator::fleet::run(options(None), Config::default())
        .await
        .expect("run");
    assert_clean(&report);
    assert_eq!(report.run.target, "in-process");
    assert_eq!(report.run.cars, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_against_a_server_drives_it_over_http_and_websocket() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.server.bind = "127.0.0.1:0".parse().expect("address");
    config.storage.data_dir = data_dir.path().to_owned();
    config.auth.admin_email = "ops@example.com".into();
    config.auth.admin_password = "operador-2026".into();
    // A staging server set up for a load test, as the README describes.
    config.server.clock_speedup = SPEEDUP;
    config.server.login_per_ip_per_min = 100_000;
    config.server.login_per_email_per_min = 1_000;
    config.server.register_per_ip_per_min = 100_000;
    config.server.device_requests_per_min = 100_000;
    config.fleet.command_timeout_s = 2 * u64::from(SPEEDUP);
    // A load test cannot read the confirmation e-mails.
    config.notify.require_email_confirmation = false;
    let server_options = ServerOptions::for_config(&config, UnitLink::remote());
    let server = RunningServer::start(config.clone(), server_options)
        .await
        .expect("server starts");
    let target = format!("http://{}", server.address);

    let report = tokio::time::timeout(
        Duration::from_secs(120),
        simulator::fleet::run(options(Some(target.clone())), config),
    )
    .await
    .expect("the run ends")
    .expect("run");
    assert_clean(&report);
    assert_eq!(report.run.target, target);
    assert_eq!(report.run.speedup, SPEEDUP);
    server.stop().await.expect("server stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_wants_e_mail_confirmation_stops_the_run_and_says_what_to_set() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.server.bind = "127.0.0.1:0".parse().expect("address");
    config.storage.data_dir = data_dir.path().to_owned();
    config.auth.admin_email = "ops@example.com".into();
    config.auth.admin_password = "operador-2026".into();
    config.server.clock_speedup = SPEEDUP;
    let server_options = ServerOptions::for_config(&config, UnitLink::remote());
    let server = RunningServer::start(config.clone(), server_options)
        .await
        .expect("server starts");
    let target = format!("http://{}", server.address);
    let options = Options {
        cars: 1,
        customers: 2,
        ..options(Some(target))
    };
    let stopped = tokio::time::timeout(
        Duration::from_secs(120),
        simulator::fleet::run(options, config),
    )
    .await
    .expect("the run ends");
    let Err(error) = stopped else {
        panic!("the run must stop");
    };
    assert!(
        error
            .to_string()
            .contains("EVR_NOTIFY__REQUIRE_EMAIL_CONFIRMATION=false"),
        "{error}"
    );
    server.stop().await.expect("server stops");
}
