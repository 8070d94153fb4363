//! The authorization matrix, generated from the served OpenAPI document: every operation with
//! an id in its path is called with the real ids of one customer's resources
//!
//! - as another customer: 404, the answer for an id that does not exist (so nothing tells the
//!   other customer's resources apart from absent ones), or 403 where `x-roles` leaves
//!   customers out; a few operations answer otherwise by contract, listed in [`CONTRACT`];
//! - with the device token of another car: 401;
//! - without a token: 401.
//!
//! A new operation is covered as soon as it is served. One whose path names an id this table
//! does not know, or whose answer differs, fails here until the table or the server says
//! what it should be. Authorization is decided before a body is read (the authenticating
//! extractors come before the body's, and the units' routes check the credential before they
//! read one), so a body of `{}` stands for any body: were it read first, the answer would be
//! 400 or 422, never the statuses asserted here.

use std::collections::BTreeMap;

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Operations whose answer to another customer is not 404, by contract, with the status and
/// problem code (`None`: a success) and why.
const CONTRACT: &[(&str, u16, Option<&str>, &str)] = &[
    (
        "get_vehicle",
        200,
        None,
        "the fleet is the catalogue every customer books from",
    ),
    (
        "unlock_vehicle",
        409,
        Some("no-access"),
        "the car is public; the caller has no reservation of it",
    ),
    (
        "lock_vehicle",
        409,
        Some("no-access"),
        "the car is public; the caller has no reservation of it",
    ),
];

/// The first customer's world: the ids the paths are filled from.
struct World {
    /// `<collection>/{<parameter>}` → the id to put there.
    ids: BTreeMap<&'static str, String>,
    /// The second customer.
    other_customer: String,
    /// The device token of a car other than the one in the paths.
    other_car_device: String,
    /// The first customer, to check that nothing of theirs changed.
    owner: String,
    reservation: String,
    vehicle: String,
}

async fn world(app: &TestApp) -> World {
    let (owner_id, owner) = app.customer(1, VISA).await;
    let (_, other_customer) = app.customer(2, VISA).await;
    let (vehicle, device) = app.vehicle(1, 3_000).await;
    let (_, other_car_device) = app.vehicle(2, 3_000).await;
    app.post(
        &format!("/v1/units/{vehicle}/positions"),
        &device,
        json!({"lat": -27.5954, "lon": -48.5480, "recorded_at": in_minutes(0), "speed_kmh": 0.0, "heading_deg": 90.0, "battery_pct": 80.0}),
    )
    .await
    .expect(202);
    // Under way from now: the owner's car, in use.
    let reservation = app
        .post(
            "/v1/reservations",
            &owner,
            json!({"vehicle_id": vehicle, "start_at": in_minutes(0), "end_at": in_minutes(120)}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let ids = BTreeMap::from([
        ("customers/{id}", owner_id),
        ("reservations/{id}", reservation.clone()),
        ("vehicles/{id}", vehicle.clone()),
        ("units/{vehicle_id}", vehicle.clone()),
        // Operators' only: any message id is refused before it is looked up.
        ("notifications/{id}", uuid::Uuid::now_v7().to_string()),
    ]);
    World {
        ids,
        other_customer,
        other_car_device,
        owner,
        reservation,
        vehicle,
    }
}

/// `path` with each `{parameter}` replaced: from the world's table, or by `unknown`.
fn fill(path: &str, ids: &BTreeMap<&'static str, String>, unknown: Option<&str>) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let mut filled = Vec::with_capacity(segments.len());
    for (index, segment) in segments.iter().enumerate() {
        if !segment.starts_with('{') {
            filled.push((*segment).to_owned());
            continue;
        }
        let key = format!("{}/{segment}", segments[index - 1]);
        let id = match unknown {
            Some(unknown) => unknown.to_owned(),
            None => ids
                .get(key.as_str())
                .unwrap_or_else(|| panic!("{path}: no id for `{key}`; add one to the world"))
                .clone(),
        };
        filled.push(id);
    }
    filled.join("/")
}

/// One operation of the document.
struct Operation {
    method: Method,
    path: String,
    id: String,
    device: bool,
    roles: Option<Vec<String>>,
    body: bool,
    /// The required query parameters' names.
    query: Vec<String>,
}

/// A value for a required query parameter: a request missing one would be refused (400)
/// before the handler could tell whose resource it is.
fn query_value(name: &str) -> String {
    match name {
        "from" => in_minutes(-60).replace('+', "%2B"),
        "to" => in_minutes(60).replace('+', "%2B"),
        _ => panic!("no value for the required query parameter `{name}`; add one"),
    }
}

fn operations_with_ids(document: &Value) -> Vec<Operation> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        if !path.contains('{') {
            continue;
        }
        for (method, operation) in item.as_object().expect("path item") {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let schemes: Vec<&str> = operation["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .flat_map(|requirement| requirement.keys().map(String::as_str))
                .collect();
            assert!(
                !schemes.is_empty(),
                "{method} {path}: an operation on an id without a security requirement"
            );
            found.push(Operation {
                method,
                path: path.clone(),
                id: operation["operationId"]
                    .as_str()
                    .expect("operationId")
                    .to_owned(),
                device: schemes.contains(&"device"),
                roles: operation["x-roles"].as_array().map(|roles| {
                    roles
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                }),
                body: operation["requestBody"].is_object(),
                query: operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|parameter| parameter["in"] == "query" && parameter["required"] == true)
                    .filter_map(|parameter| parameter["name"].as_str().map(str::to_owned))
                    .collect(),
            });
        }
    }
    found
}

async fn send(app: &TestApp, operation: &Operation, path: &str, token: Option<&str>) -> Answer {
    let query: Vec<String> = operation
        .query
        .iter()
        .map(|name| format!("{name}={}", query_value(name)))
        .collect();
    let url = if query.is_empty() {
        app.url(path)
    } else {
        app.url(&format!("{path}?{}", query.join("&")))
    };
    let mut request = app.client.request(operation.method.clone(), url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if operation.body {
        request = request.json(&json!({}));
    }
    Answer::read(request.send().await.expect("request sent")).await
}

/// The problem code at the end of a problem's `type`.
fn code(answer: &Answer) -> String {
    answer.body["type"]
        .as_str()
        .and_then(|uri| uri.rsplit([':', '/']).next())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn no_one_reaches_another_customers_resources_by_id() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let document = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .expect(200);
    let operations = operations_with_ids(&document);
    assert!(operations.len() >= 13, "{} operations", operations.len());
    for (id, ..) in CONTRACT {
        assert!(
            operations.iter().any(|operation| operation.id == *id),
            "{id} is in the contract table but not in the document"
        );
    }

    let unknown = "01890000-0000-7000-8000-000000000000";
    let mut failures = Vec::new();
    for operation in &operations {
        let path = fill(&operation.path, &world.ids, None);
        let what = format!("{} {} ({})", operation.method, operation.path, operation.id);

        // As another customer.
        let answer = send(&app, operation, &path, Some(&world.other_customer)).await;
        let customers_excluded = operation
            .roles
            .as_ref()
            .is_some_and(|roles| !roles.iter().any(|role| role == "customer"));
        let contract = CONTRACT.iter().find(|(id, ..)| *id == operation.id);
        let expected = if operation.device {
            (StatusCode::UNAUTHORIZED, None)
        } else if customers_excluded {
            (StatusCode::FORBIDDEN, None)
        } else if let Some((_, status, code, _)) = contract {
            (StatusCode::from_u16(*status).expect("status"), *code)
        } else {
            (StatusCode::NOT_FOUND, None)
        };
        if answer.status != expected.0 {
            failures.push(format!(
                "{what} as another customer: {} (expected {}) {}",
                answer.status, expected.0, answer.body
            ));
        } else if let Some(wanted) = expected.1
            && code(&answer) != wanted
        {
            failures.push(format!("{what} as another customer: {}", answer.body));
        } else if expected.0 == StatusCode::NOT_FOUND {
            // Indistinguishable from an id that does not exist.
            let absent = fill(&operation.path, &world.ids, Some(unknown));
            let baseline = send(&app, operation, &absent, Some(&world.other_customer)).await;
            if (baseline.status, &baseline.body["detail"])
                != (answer.status, &answer.body["detail"])
            {
                failures.push(format!(
                    "{what}: another customer's id answers {} {}, an unknown id {} {}",
                    answer.status, answer.body, baseline.status, baseline.body
                ));
            }
        }

        // With the device token of another car, and with no token at all.
        for (who, token) in [
            ("another car's unit", Some(world.other_car_device.as_str())),
            ("no token", None),
        ] {
            let answer = send(&app, operation, &path, token).await;
            if answer.status != StatusCode::UNAUTHORIZED {
                failures.push(format!(
                    "{what} with {who}: {} (expected 401) {}",
                    answer.status, answer.body
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // And nothing of the first customer's changed.
    let reservation = app
        .get(
            &format!("/v1/reservations/{}", world.reservation),
            &world.owner,
        )
        .await
        .expect(200);
    assert_eq!(reservation["status"], "confirmed", "{reservation}");
    let vehicle = app
        .get(&format!("/v1/vehicles/{}", world.vehicle), &app.admin_token)
        .await
        .expect(200);
    assert_eq!(vehicle["status"], "available", "{vehicle}");
    app.get("/v1/customers/me", &world.owner).await.expect(200);
}
