//! One server: in process on a temporary directory, and against a real server on a real
//! port with real unit clients. Each must end with a clean audit, the customers' accounting
//! matching the services' records, and no unexpected error.

use std::collections::BTreeMap;
use std::time::Duration;

use actors::Config;
use actors::billing::EntryKind;
use actors::locks::UnitLink;
use actors::reservations::{Requester, ReservationFilter};
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
    reports_equal_the_ledgers(&server, &target).await;
    server.stop().await.expect("server stops");
}

/// Revenue per car from the ledgers: captures and charges beyond the holds, less refunds.
async fn ledger_revenue_by_car(server: &RunningServer) -> BTreeMap<String, i64> {
    let services = server.system().services();
    let mut by_car = BTreeMap::new();
    let mut after = None;
    loop {
        let page = services
            .reservations
            .list(Requester::Admin, &ReservationFilter::default(), 200, after)
            .expect("reservations");
        for reservation in &page.items {
            let ledger = services
                .billing
                .ledger(reservation.id)
                .await
                .expect("ledger");
            let revenue: i64 = ledger
                .iter()
                .map(|entry| match entry.kind {
                    EntryKind::Capture | EntryKind::Charge => entry.amount_cents,
                    EntryKind::Refund => -entry.amount_cents,
                    _ => 0,
                })
                .sum();
            if ledger
                .iter()
                .any(|entry| matches!(entry.kind, EntryKind::Capture | EntryKind::Charge))
            {
                *by_car
                    .entry(reservation.vehicle_id.to_string())
                    .or_insert(0) += revenue;
            }
        }
        match page.next_cursor {
            Some(next) => after = Some(next),
            None => return by_car,
        }
    }
}

/// Splits a CSV document as RFC 4180 writes it (quoted fields may hold commas and quotes).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in text.split("\r\n").filter(|line| !line.is_empty()) {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut field)),
                (c, _) => field.push(c),
            }
        }
        fields.push(field);
        rows.push(fields);
    }
    rows
}

/// The reports service's revenue by car, read as CSV over HTTP as an operator would, equals
/// the billing ledgers' once every store's events are relayed, and its total equals the JSON
/// report's.
async fn reports_equal_the_ledgers(server: &RunningServer, target: &str) {
    let http = reqwest::Client::new();
    let tokens: serde_json::Value = http
        .post(format!("{target}/v1/auth/token"))
        .json(&serde_json::json!({"email": "ops@example.com", "password": "operador-2026"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("tokens");
    let token = tokens["access_token"].as_str().expect("access token");
    let now = server.system().clock().now();
    let span = [
        ("from", (now - TimeDelta::days(2)).to_rfc3339()),
        ("to", (now + TimeDelta::days(1)).to_rfc3339()),
        ("group_by", "vehicle".to_owned()),
    ];
    server
        .system()
        .services()
        .events
        .relay_now()
        .await
        .expect("events relayed");
    let ledgers = ledger_revenue_by_car(server).await;
    assert!(!ledgers.is_empty(), "the run captured money");
    let response = http
        .get(format!("{target}/v1/reports/revenue"))
        .query(&span)
        .bearer_auth(token)
        .header("Accept", "text/csv")
        .send()
        .await
        .expect("revenue as CSV");
    assert_eq!(response.status(), 200);
    let rows = parse_csv(&response.text().await.expect("CSV body"));
    let header = &rows[0];
    let column = |name: &str| {
        header
            .iter()
            .position(|field| field == name)
            .unwrap_or_else(|| panic!("column {name} in {header:?}"))
    };
    let (key, revenue) = (column("key"), column("revenue_cents"));
    let reported: BTreeMap<String, i64> = rows[1..]
        .iter()
        .map(|row| {
            assert_eq!(row.len(), header.len(), "{row:?}");
            (
                row[key].clone(),
                row[revenue].parse().expect("whole centavos"),
            )
        })
        .collect();
    assert_eq!(reported, ledgers);
    let json: serde_json::Value = http
        .get(format!("{target}/v1/reports/revenue"))
        .query(&span)
        .bearer_auth(token)
        .send()
        .await
        .expect("revenue as JSON")
        .json()
        .await
        .expect("JSON body");
    assert_eq!(
        json["total_cents"].as_i64(),
        Some(ledgers.values().sum::<i64>())
    );
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
