//! The document against the routes: every operation named once, every documented route
//! served and every served route documented, every error a problem, and the common responses
//! stated by the modifier rather than by a handler.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::document;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// `(method, path, operation)` of every operation of the document.
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((method.to_owned(), path.clone(), operation.clone()));
            }
        }
    }
    found
}

fn the_document() -> Value {
    serde_json::to_value(document()).expect("serialises")
}

#[test]
fn every_operation_has_a_unique_snake_case_id() {
    let document = the_document();
    let mut seen = HashSet::new();
    for (method, path, operation) in operations(&document) {
        let id = operation["operationId"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "{method} {path} has no operationId");
        assert!(
            id.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{method} {path}: {id} is not snake_case"
        );
        assert!(seen.insert(id.to_owned()), "{id} is used twice");
    }
    assert!(seen.len() >= 30, "only {} operations", seen.len());
}

#[test]
fn every_error_response_is_a_problem() {
    let document = the_document();
    for (method, path, operation) in operations(&document) {
        for (status, response) in operation["responses"].as_object().expect("responses") {
            if !(status.starts_with('4') || status.starts_with('5')) {
                continue;
            }
            let content = response["content"]
                .as_object()
                .expect("an error has a body");
            let media: Vec<_> = content.keys().collect();
            assert_eq!(
                media,
                ["application/problem+json"],
                "{method} {path} {status}"
            );
            assert_eq!(
                content["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{method} {path} {status}"
            );
        }
    }
}

#[test]
fn common_responses_follow_from_what_an_operation_is() {
    let document = the_document();
    for (method, path, operation) in operations(&document) {
        let responses = &operation["responses"];
        let has = |status: &str| responses[status].is_object();
        for status in ["500", "503", "504"] {
            assert!(has(status), "{method} {path} lacks {status}");
        }
        if operation["requestBody"].is_object() {
            assert!(has("413") && has("415"), "{method} {path} lacks 413/415");
        }
        let secured = operation["security"]
            .as_array()
            .is_some_and(|security| !security.is_empty());
        // Unsecured operations may still answer 401 for their own reason (bad credentials).
        assert!(
            has("401") || !secured,
            "{method} {path}: secured without 401"
        );
        // The log-in is open to all and answers 403 for a reason of its own: an administrator
        // who must set up two-factor authentication first.
        let own_403 = path == "/v1/auth/token";
        assert_eq!(
            has("403"),
            operation["x-roles"].is_array() || own_403,
            "{method} {path}: 403 iff reserved to roles"
        );
        assert_eq!(
            has("429"),
            operation["x-rate-limit"].is_string(),
            "{method} {path}: 429 iff rate limited"
        );
    }
    let roles = |method: &str, path: &str| document["paths"][path][method]["x-roles"].clone();
    assert_eq!(roles("post", "/v1/vehicles"), serde_json::json!(["admin"]));
    assert_eq!(
        roles("post", "/v1/reservations"),
        serde_json::json!(["customer"])
    );
    assert!(document["paths"]["/v1/auth/token"]["post"]["responses"]["429"].is_object());
}

#[test]
fn links_name_the_operation_they_lead_to() {
    let document = the_document();
    let ids: HashSet<String> = operations(&document)
        .iter()
        .filter_map(|(_, _, operation)| operation["operationId"].as_str().map(str::to_owned))
        .collect();
    let mut links = 0;
    for (method, path, operation) in operations(&document) {
        for response in operation["responses"].as_object().into_iter().flatten() {
            for (name, link) in response.1["links"].as_object().into_iter().flatten() {
                let target = link["operationId"].as_str().unwrap_or_default();
                assert!(ids.contains(target), "{method} {path} link {name}: {link}");
                links += 1;
            }
        }
    }
    let created = &document["paths"]["/v1/vehicles"]["post"]["responses"]["201"]["links"];
    assert_eq!(created["retire"]["operationId"], "retire_vehicle");
    assert!(links >= 10, "{links} links");
}

#[test]
fn request_bodies_have_examples_and_limits_are_stated() {
    let document = the_document();
    let schemas = &document["components"]["schemas"];
    for schema in [
        "Registration",
        "Credentials",
        "NewVehicleBody",
        "CreateReservationRequest",
        "PositionFix",
    ] {
        assert!(
            schemas[schema]["example"].is_object(),
            "{schema} has no example"
        );
    }
    let new_vehicle = &schemas["NewVehicleBody"]["properties"];
    assert_eq!(new_vehicle["year"]["minimum"], 2010);
    assert!(
        new_vehicle["year"]["maximum"]
            .as_i64()
            .is_some_and(|max| max > 2025)
    );
    assert_eq!(new_vehicle["hourly_rate_cents"]["maximum"], 100_000);
    let card = &schemas["CardBody"]["properties"];
    assert_eq!(card["exp_month"]["maximum"], 12);
    assert!(card["cvc"]["pattern"].is_string());
    let list = &document["paths"]["/v1/vehicles"]["get"]["parameters"];
    let limit = list
        .as_array()
        .and_then(|parameters| parameters.iter().find(|p| p["name"] == "limit"))
        .expect("limit");
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 200);
    for (method, path, operation) in operations(&document) {
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            if parameter["in"] == "path" {
                assert_eq!(parameter["schema"]["format"], "uuid", "{method} {path}");
            }
        }
    }
}

/// The Rust sources of the routes.
fn route_sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, found: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).expect("routes dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path).expect("readable");
                found.push((path, text));
            }
        }
    }
    let mut found = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    walk(&root.join("routes"), &mut found);
    found.push((
        root.join("app.rs"),
        std::fs::read_to_string(root.join("app.rs")).expect("app.rs"),
    ));
    found
}

/// The name of the function following each `#[utoipa::path(` of `text`.
fn documented_handlers(text: &str) -> Vec<String> {
    text.split("#[utoipa::path(")
        .skip(1)
        .filter_map(|after| {
            let start = after.find("async fn ")? + "async fn ".len();
            let name: String = after[start..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            Some(name)
        })
        .collect()
}

#[test]
fn every_route_is_declared_once_through_routes_and_documented() {
    let mut registered = BTreeSet::new();
    let mut documented = BTreeSet::new();
    for (path, text) in route_sources() {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        if name == "ops_tests.rs" {
            continue;
        }
        let code: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for call in code.split("routes!(").skip(1) {
            let list = call.split(')').next().unwrap_or_default();
            registered.extend(list.split(',').map(|name| name.trim().to_owned()));
        }
        documented.extend(documented_handlers(&code));
        // Only the operations routes (metrics, docs) and the console's pages are served outside
        // an `OpenApiRouter`: they are not part of the API.
        let console_pages = path.ends_with("console/mod.rs");
        for (index, _) in code.match_indices(".route(") {
            let line = &code[index
                ..code[index..]
                    .find('\n')
                    .map_or(code.len(), |end| index + end)];
            let page = line.contains("\"/console") || line.contains("(\"/\",");
            assert!(
                (name == "ops.rs" && line.contains("\"/metrics\"")) || (console_pages && page),
                "{}: undocumented route {line}",
                path.display()
            );
        }
        // Statuses that follow from what an operation is are the modifier's to state.
        for block in code.split("#[utoipa::path(").skip(1) {
            let block = block.split("pub async fn").next().unwrap_or_default();
            let mut common = vec!["413", "415", "429", "500", "503"];
            if block.contains("security(") {
                common.push("401");
            }
            if block.contains("x-roles") {
                common.push("403");
            }
            for status in common {
                assert!(
                    !block.contains(&format!("(status = {status},")),
                    "{}: declares the common {status}; the document adds it:\n{block}",
                    path.display()
                );
            }
        }
    }
    assert_eq!(
        documented, registered,
        "every documented handler is routed with routes!, and only those"
    );
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = actors::Config::default();
    config.server.bind = "127.0.0.1:0".parse().expect("address");
    config.storage.data_dir = dir.path().to_owned();
    config.storage.cache_capacity_mb = 8;
    let options =
        crate::server::ServerOptions::for_config(&config, actors::locks::UnitLink::remote());
    let server = crate::server::RunningServer::start(config, options)
        .await
        .expect("starts");
    let client = reqwest::Client::new();
    let base = format!("http://{}", server.address);
    let id = uuid::Uuid::now_v7().to_string();
    for (method, path, _) in operations(&the_document()) {
        let concrete: String = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    id.as_str()
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let response = client
            .request(method.clone(), format!("{base}{concrete}"))
            .send()
            .await
            .expect("answers");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let unrouted = status == 405 || (status == 404 && body["detail"] == "no such resource");
        assert!(
            !unrouted,
            "{method} {path} is documented but not served ({status} {body})"
        );
    }
    server.stop().await.expect("stops");
}

#[test]
fn every_problem_type_is_listed_with_the_status_it_is_answered_with() {
    let document = the_document();
    let listed = document["x-problem-types"].as_array().expect("listed");
    assert_eq!(listed.len(), actors::ErrorKind::ALL.len());
    for kind in actors::ErrorKind::ALL {
        let uri = crate::error::problem_type_uri(kind);
        let entry = listed
            .iter()
            .find(|entry| entry["type"] == uri.as_str())
            .unwrap_or_else(|| panic!("{uri} not listed"));
        let answered = crate::error::ApiError::of(kind, "x").status();
        assert_eq!(entry["status"], answered.as_u16(), "{uri}");
        assert!(!entry["meaning"].as_str().unwrap_or("").is_empty(), "{uri}");
    }
}
