//! Operational behaviour over real HTTP: problems for unknown routes and methods, request ids,
//! metrics, the OpenAPI document and the docs page.

use crate::helpers::*;
use reqwest::Method;

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = TestApp::spawn().await;
    app.call(Method::GET, "/v1/nothing-here", None, None)
        .await
        .expect_problem(404);
    app.call(Method::PUT, "/v1/customers", None, None)
        .await
        .expect_problem(405);
}

#[tokio::test]
async fn request_ids_are_generated_or_propagated() {
    let app = TestApp::spawn().await;
    let generated = app.client.get(app.url("/healthz")).send().await.unwrap();
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let propagated = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(propagated.headers()["x-request-id"], "trace-me-123");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_show_actors_and_stores() {
    let app = TestApp::spawn().await;
    app.customer(1, VISA).await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "ev_rental_http_requests_total{",
        "route=\"/v1/customers\"",
        "ev_rental_http_request_duration_seconds_bucket",
        "ev_rental_entities_active{kind=\"customer\"}",
        "# TYPE ev_rental_entity_restarts_total counter",
        "ev_rental_store_flush_seconds_total{store=\"customers\"}",
        "# HELP ev_rental_http_requests_total ",
        "ev_rental_build_info{version=\"",
        "process_resident_memory_bytes ",
        "ev_rental_payment_provider_calls_total{operation=\"tokenize\",result=\"ok\"}",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from /metrics:\n{text}"
        );
    }
    // Prometheus conventions: only counters end in `_total`, and every family has its HELP.
    for line in text.lines().filter(|line| line.starts_with("# TYPE ")) {
        let mut words = line.split_whitespace().skip(2);
        let (name, kind) = (words.next().unwrap(), words.next().unwrap());
        assert_eq!(name.ends_with("_total"), kind == "counter", "{line}");
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no HELP"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_of_the_contract() {
    let app = TestApp::spawn().await;
    let document = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .expect(200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    let expected = [
        ("/v1/customers", "post"),
        ("/v1/customers", "get"),
        ("/v1/auth/token", "post"),
        ("/v1/auth/refresh", "post"),
        ("/v1/customers/me", "get"),
        ("/v1/customers/me", "patch"),
        ("/v1/customers/me", "delete"),
        ("/v1/customers/{id}", "get"),
        ("/v1/vehicles", "post"),
        ("/v1/vehicles", "get"),
        ("/v1/vehicles/nearby", "get"),
        ("/v1/vehicles/{id}", "get"),
        ("/v1/vehicles/{id}", "patch"),
        ("/v1/vehicles/{id}", "delete"),
        ("/v1/units/{vehicle_id}/positions", "post"),
        ("/v1/vehicles/{id}/position", "get"),
        ("/v1/vehicles/{id}/track", "get"),
        ("/v1/reservations", "post"),
        ("/v1/reservations", "get"),
        ("/v1/reservations/{id}", "get"),
        ("/v1/reservations/{id}/cancel", "post"),
        ("/v1/reservations/{id}/finish", "post"),
        ("/v1/reservations/{id}/charges", "get"),
        ("/v1/vehicles/{id}/unlock", "post"),
        ("/v1/vehicles/{id}/lock", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ];
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|item| item.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
    let schemes = &document["components"]["securitySchemes"];
    assert!(schemes["bearer"].is_object() && schemes["device"].is_object());

    let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
}
