//! The reports and the customer's statement over HTTP, from a scripted sequence of events
//! relayed to the reports service: JSON and CSV, validation, and a rebuild.

use actors::domain::Cents;
use actors::events::{DomainEvent, EventData, Place, Subjects};
use actors::ids::{CustomerId, ReservationId, VehicleId};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use reqwest::Method;
use serde_json::Value;

use crate::events::publish;
use crate::helpers::*;

/// A model whose CSV field must be quoted.
const MODEL: &str = "Dolphin \"Mini\", 2025";

fn query_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A whole rental of `customer` in `car`, started `hours_ago`, returned 30 minutes late,
/// with a capture, an extra charge, a refund and three positions 1.11 km apart.
fn late_rental(customer: CustomerId, car: VehicleId, start: DateTime<Utc>) -> Vec<DomainEvent> {
    let subjects = Subjects::reservation(ReservationId::new(), customer, car);
    let event = |minutes: i64, data| {
        DomainEvent::new(
            "reservations",
            start + TimeDelta::minutes(minutes),
            subjects.clone(),
            data,
        )
    };
    let moved = |minutes: i64, lat: f64| {
        DomainEvent::new(
            "location",
            start + TimeDelta::minutes(minutes),
            Subjects::vehicle(car),
            EventData::VehicleMoved {
                lat,
                lon: -48.548,
                speed_kmh: Some(30.0),
                battery_pct: Some(70),
                recorded_at: start + TimeDelta::minutes(minutes),
            },
        )
    };
    vec![
        DomainEvent::new(
            "vehicles",
            start - TimeDelta::hours(1),
            Subjects::vehicle(car),
            EventData::VehicleRegistered {
                plate: "QHT1A23".into(),
                model: MODEL.into(),
            },
        ),
        event(
            -30,
            EventData::ReservationConfirmed {
                plate: "QHT1A23".into(),
                model: MODEL.into(),
                place: Some(Place {
                    lat: -27.5954,
                    lon: -48.548,
                }),
                start_at: start,
                end_at: start + TimeDelta::hours(2),
                hold_cents: Cents::new(9_000),
                hourly_rate_cents: Cents::new(4_500),
            },
        ),
        moved(0, -27.5954),
        event(1, EventData::RentalStarted { unlocked_at: start }),
        moved(60, -27.5854),
        moved(140, -27.5754),
        event(
            150,
            EventData::RentalEnded {
                ended_by: "customer".into(),
                released_at: start + TimeDelta::minutes(150),
                end_at: start + TimeDelta::hours(2),
                hold_cents: Cents::new(9_000),
                total_cents: Cents::new(12_000),
                overtime_cents: Cents::new(3_000),
                outstanding_cents: Cents::ZERO,
                settlement_pending: false,
            },
        ),
        event(
            151,
            EventData::ChargeCaptured {
                captured_cents: Cents::new(9_000),
                extra_cents: Cents::new(3_000),
                released_cents: Cents::ZERO,
            },
        ),
        event(
            160,
            EventData::ChargeRefunded {
                amount_cents: Cents::new(1_000),
            },
        ),
    ]
}

fn no_show(customer: CustomerId, start: DateTime<Utc>) -> Vec<DomainEvent> {
    let subjects = Subjects::reservation(ReservationId::new(), customer, VehicleId::new());
    vec![
        DomainEvent::new(
            "reservations",
            start - TimeDelta::hours(1),
            subjects.clone(),
            EventData::ReservationConfirmed {
                plate: "ABC1234".into(),
                model: "BYD Seal".into(),
                place: None,
                start_at: start,
                end_at: start + TimeDelta::hours(2),
                hold_cents: Cents::new(9_000),
                hourly_rate_cents: Cents::new(4_500),
            },
        ),
        DomainEvent::new(
            "reservations",
            start + TimeDelta::hours(2),
            subjects.clone(),
            EventData::ReservationNoShow {
                fee_cents: Cents::new(4_500),
            },
        ),
        DomainEvent::new(
            "billing",
            start + TimeDelta::hours(2),
            subjects,
            EventData::ChargeCaptured {
                captured_cents: Cents::new(4_500),
                extra_cents: Cents::ZERO,
                released_cents: Cents::new(4_500),
            },
        ),
    ]
}

/// Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

async fn csv(app: &TestApp, path: &str, token: &str) -> Vec<Vec<String>> {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    parse_csv(&response.text().await.unwrap())
}

struct Figures {
    revenue_by_car: Value,
    revenue_by_day: Value,
    summary: Value,
    utilisation: Value,
}

async fn figures(app: &TestApp, span: &str) -> Figures {
    let admin = &app.admin_token;
    Figures {
        revenue_by_car: app
            .get(
                &format!("/v1/reports/revenue?{span}&group_by=vehicle"),
                admin,
            )
            .await
            .expect(200),
        revenue_by_day: app
            .get(&format!("/v1/reports/revenue?{span}"), admin)
            .await
            .expect(200),
        summary: app
            .get(&format!("/v1/reports/summary?{span}"), admin)
            .await
            .expect(200),
        utilisation: app
            .get(&format!("/v1/reports/utilisation?{span}"), admin)
            .await
            .expect(200),
    }
}

#[tokio::test]
async fn reports_and_the_statement_come_from_the_events_as_json_and_csv_and_survive_a_rebuild() {
    let app = TestApp::spawn().await;
    let (customer_id, customer) = app.customer(1, VISA).await;
    let customer_id = CustomerId(customer_id.parse().unwrap());
    let car = VehicleId::new();
    let start = Utc::now() - TimeDelta::hours(6);
    let mut events = late_rental(customer_id, car, start);
    events.extend(no_show(customer_id, start - TimeDelta::hours(12)));
    events.push(DomainEvent::new(
        "customers",
        start,
        Subjects::customer(customer_id),
        EventData::BalanceOutstanding {
            amount_cents: Cents::new(700),
            owed_cents: Cents::new(700),
        },
    ));
    publish(&app, &events).await;

    let span = format!(
        "from={}&to={}",
        query_time(start - TimeDelta::days(1)),
        query_time(Utc::now() + TimeDelta::hours(1))
    );
    let before = figures(&app, &span).await;
    assert_eq!(
        before.revenue_by_day["total_cents"],
        9_000 + 3_000 - 1_000 + 4_500
    );
    assert_eq!(before.revenue_by_day["currency"], "BRL");
    let by_car = before.revenue_by_car["rows"].as_array().unwrap();
    let row = by_car
        .iter()
        .find(|row| row["key"] == car.to_string())
        .unwrap();
    assert_eq!(row["revenue_cents"], 11_000);
    assert_eq!(row["refunded_cents"], 1_000);
    assert_eq!(before.summary["no_shows"], 1);
    assert_eq!(before.summary["no_show_fees_cents"], 4_500);
    assert_eq!(before.summary["late_returns"], 1);
    assert_eq!(before.summary["overtime_cents"], 3_000);
    assert_eq!(before.summary["outstanding_cents"], 700);
    let cars = before.utilisation["cars"].as_array().unwrap();
    let used = cars
        .iter()
        .find(|row| row["vehicle_id"] == car.to_string())
        .unwrap();
    assert_eq!(used["hours_rented"], 2.5);
    assert_eq!(used["plate"], "QHT1A23");

    let by_area = app
        .get(
            &format!("/v1/reports/revenue?{span}&group_by=area"),
            &app.admin_token,
        )
        .await
        .expect(200);
    let areas: Vec<&str> = by_area["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["key"].as_str().unwrap())
        .collect();
    assert_eq!(areas, ["Centro", "unknown"]);

    // The same figures in CSV: a header, then one line per row of the JSON.
    let rows = csv(
        &app,
        &format!("/v1/reports/revenue?{span}&group_by=vehicle"),
        &app.admin_token,
    )
    .await;
    assert_eq!(rows[0][0], "key");
    assert_eq!(rows[0][4], "revenue_cents");
    assert_eq!(rows.len(), by_car.len() + 1);
    let line = rows.iter().find(|line| line[0] == car.to_string()).unwrap();
    assert_eq!(line[4], "11000");
    let summary_rows = csv(
        &app,
        &format!("/v1/reports/summary?{span}"),
        &app.admin_token,
    )
    .await;
    assert_eq!(summary_rows.len(), 2);
    assert_eq!(summary_rows[1][2], "1");

    // The customer's own statement: the trip with its distance, and the no-show.
    let statement = app
        .get(&format!("/v1/customers/me/statement?{span}"), &customer)
        .await
        .expect(200);
    let trips = statement["trips"].as_array().unwrap();
    assert_eq!(trips.len(), 2);
    assert_eq!(trips[0]["status"], "no_show");
    assert_eq!(trips[0]["total_cents"], 4_500);
    assert!(trips[0]["distance_km"].is_null());
    assert_eq!(trips[1]["status"], "completed");
    assert_eq!(trips[1]["paid_cents"], 11_000);
    let km = trips[1]["distance_km"].as_f64().unwrap();
    assert!((km - 2.22).abs() < 0.02, "{km}");
    let lines = csv(
        &app,
        &format!("/v1/customers/me/statement?{span}"),
        &customer,
    )
    .await;
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2][3], MODEL, "a quoted field comes back whole");
    // Another customer sees none of it.
    let (_, other) = app.customer(2, VISA).await;
    let theirs = app
        .get(&format!("/v1/customers/me/statement?{span}"), &other)
        .await
        .expect(200);
    assert_eq!(theirs["trips"], serde_json::json!([]));

    let rebuilt = app
        .post(
            "/v1/reports/rebuild",
            &app.admin_token,
            serde_json::json!({}),
        )
        .await
        .expect(200);
    assert!(rebuilt["replayed_events"].as_u64().unwrap() >= events.len() as u64);
    let after = figures(&app, &span).await;
    assert_eq!(after.revenue_by_car, before.revenue_by_car);
    assert_eq!(after.revenue_by_day, before.revenue_by_day);
    assert_eq!(after.summary, before.summary);
    // Service hours run up to now, which the wall clock moved on: the rented hours must match.
    let rented = |figures: &Figures| -> Vec<(Value, Value)> {
        figures.utilisation["cars"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| (row["vehicle_id"].clone(), row["hours_rented"].clone()))
            .collect()
    };
    assert_eq!(rented(&after), rented(&before));
}

#[tokio::test]
async fn a_span_that_is_not_rfc3339_ordered_or_within_366_days_is_refused() {
    let app = TestApp::spawn().await;
    let admin = &app.admin_token;
    for query in [
        "from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z",
        "from=2025-01-01T00:00:00Z&to=2026-12-01T00:00:00Z",
        "from=yesterday&to=2026-12-01T00:00:00Z",
        "from=2026-12-01&to=2026-12-02",
        "from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z&group_by=week",
    ] {
        app.get(&format!("/v1/reports/revenue?{query}"), admin)
            .await
            .expect_problem(422);
    }
    let problem = app
        .get(
            "/v1/reports/utilisation?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z",
            admin,
        )
        .await
        .expect_problem(422);
    assert!(problem["errors"]["to"].is_string(), "{problem}");
    app.get("/v1/reports/summary?from=2026-12-01T00:00:00Z", admin)
        .await
        .expect_problem(400);
    let (_, customer) = app.customer(1, VISA).await;
    app.get(
        "/v1/reports/revenue?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z",
        &customer,
    )
    .await
    .expect_problem(403);
    app.call(Method::POST, "/v1/reports/rebuild", Some(&customer), None)
        .await
        .expect_problem(403);
}
