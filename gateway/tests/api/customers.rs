//! Customer routes over real HTTP.

use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn registration_masks_documents_and_keeps_only_the_card_summary() {
    let app = TestApp::spawn().await;
    let created = app
        .call(
            Method::POST,
            "/v1/customers",
            None,
            Some(customer_body(1, VISA)),
        )
        .await
        .expect(201);
    assert_eq!(created["status"], "pending_confirmation");
    assert_eq!(created["locale"], "pt-BR");
    assert_eq!(created["email"], email(1));
    assert_eq!(created["phone"], "+5548999991234");
    assert_eq!(
        created["card"],
        json!({"brand": "visa", "last4": "1111", "exp_month": 12, "exp_year": 2030})
    );
    let masked = created["cpf"].as_str().unwrap();
    let full = cpf(1);
    assert!(
        masked.contains('*') && !masked.contains(&full[..3]) && !masked.contains(&full[9..]),
        "{masked}"
    );
    assert!(created["cnh"].as_str().unwrap().starts_with('*'));
    assert!(
        !created.to_string().contains(VISA),
        "the card number never comes back"
    );
}

#[tokio::test]
async fn invalid_fields_are_all_listed_with_422() {
    let app = TestApp::spawn().await;
    let body = json!({
        "name": "", "cpf": "111.111.111-11", "cnh": "123", "email": "no-at-sign", "phone": "123",
        "password": "short",
        "card": {"number": "4111111111111112", "exp_month": 13, "exp_year": 2020, "cvc": "1", "holder_name": ""}
    });
    let problem = app
        .call(Method::POST, "/v1/customers", None, Some(body))
        .await
        .expect_problem(422);
    let errors = problem["errors"].as_object().unwrap();
    for field in [
        "name",
        "cpf",
        "cnh",
        "email",
        "phone",
        "password",
        "card.number",
    ] {
        assert!(errors.contains_key(field), "{field} missing from {problem}");
    }
}

#[tokio::test]
async fn malformed_bodies_are_400_415_or_413() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/v1/customers"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );

    let response = app
        .client
        .post(app.url("/v1/customers"))
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);

    let mut body = customer_body(2, VISA);
    body["role"] = json!("admin");
    app.call(Method::POST, "/v1/customers", None, Some(body))
        .await
        .expect_problem(400);

    let huge = format!("{{\"name\": \"{}\"}}", "a".repeat(1_100_000));
    let response = app
        .client
        .post(app.url("/v1/customers"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn a_cpf_or_an_email_registers_once() {
    let app = TestApp::spawn().await;
    app.call(
        Method::POST,
        "/v1/customers",
        None,
        Some(customer_body(3, VISA)),
    )
    .await
    .expect(201);
    let mut same_email = customer_body(4, VISA);
    same_email["email"] = json!(email(3));
    let problem = app
        .call(Method::POST, "/v1/customers", None, Some(same_email))
        .await
        .expect_problem(409);
    assert!(problem["errors"]["email"].is_string(), "{problem}");
    let mut same_cpf = customer_body(5, VISA);
    same_cpf["cpf"] = customer_body(3, VISA)["cpf"].clone();
    let problem = app
        .call(Method::POST, "/v1/customers", None, Some(same_cpf))
        .await
        .expect_problem(409);
    assert!(problem["errors"]["cpf"].is_string(), "{problem}");
}

#[tokio::test]
async fn a_customer_edits_only_the_allowed_fields_of_their_profile() {
    let app = TestApp::spawn().await;
    let (_, token) = app.customer(6, VISA).await;
    let changed = app
        .call(
            Method::PATCH,
            "/v1/customers/me",
            Some(&token),
            Some(json!({"name": "Maria Souza", "phone": "(48) 98888-7777"})),
        )
        .await
        .expect(200);
    assert_eq!(changed["name"], "Maria Souza");
    assert_eq!(changed["phone"], "+5548988887777");
    app.call(
        Method::PATCH,
        "/v1/customers/me",
        Some(&token),
        Some(json!({"cpf": "52998224725"})),
    )
    .await
    .expect_problem(400);
    app.call(
        Method::PATCH,
        "/v1/customers/me",
        Some(&token),
        Some(json!({"email": "bad"})),
    )
    .await
    .expect_problem(422);
    app.customer(7, VISA).await;
    app.call(
        Method::PATCH,
        "/v1/customers/me",
        Some(&token),
        Some(json!({"email": email(7), "current_password": actors::testing::PASSWORD})),
    )
    .await
    .expect_problem(409);
}

#[tokio::test]
async fn erasure_anonymises_and_the_account_stops_working() {
    let app = TestApp::spawn().await;
    let (id, token) = app.customer(8, VISA).await;
    let erased = app
        .call(Method::DELETE, "/v1/customers/me", Some(&token), None)
        .await
        .expect(200);
    assert_eq!(erased["status"], "erased");
    assert!(
        erased["cpf"].is_null() && erased["email"].is_null() && erased["card"].is_null(),
        "{erased}"
    );
    app.call(
        Method::POST,
        "/v1/auth/token",
        None,
        Some(json!({"email": email(8), "password": "s3nha-segura"})),
    )
    .await
    .expect_problem(401);
    // The person may register again with the same documents.
    app.call(
        Method::POST,
        "/v1/customers",
        None,
        Some(customer_body(8, VISA)),
    )
    .await
    .expect(201);
    let seen = app
        .get(&format!("/v1/customers/{id}"), &app.admin_token)
        .await
        .expect(200);
    assert_eq!(seen["status"], "erased");
}

#[tokio::test]
async fn admins_list_and_read_customers_page_by_page() {
    let app = TestApp::spawn().await;
    for n in 10..13 {
        app.customer(n, VISA).await;
    }
    let first = app
        .get("/v1/customers?limit=2", &app.admin_token)
        .await
        .expect(200);
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/v1/customers?limit=2&cursor={cursor}"),
            &app.admin_token,
        )
        .await
        .expect(200);
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());
    app.get("/v1/customers?limit=500", &app.admin_token)
        .await
        .expect_problem(400);
    app.get("/v1/customers?cursor=zzz", &app.admin_token)
        .await
        .expect_problem(400);
    app.get(
        &format!("/v1/customers/{}", uuid::Uuid::now_v7()),
        &app.admin_token,
    )
    .await
    .expect_problem(404);
    app.get("/v1/customers/not-an-id", &app.admin_token)
        .await
        .expect_problem(400);
}

#[tokio::test]
async fn the_sandbox_takes_card_details_and_refuses_a_provider_token() {
    let app = TestApp::spawn().await;
    let mut body = customer_body(9, VISA);
    body["card"] = json!({"token": "pm_1QdWyz2eZvKYlo2C"});
    let problem = app
        .call(Method::POST, "/v1/customers", None, Some(body))
        .await
        .expect_problem(422);
    assert!(problem["errors"]["card.token"].is_string(), "{problem}");
    let mut body = customer_body(9, VISA);
    body["card"] = json!({"token": "pm 1; drop"});
    let problem = app
        .call(Method::POST, "/v1/customers", None, Some(body))
        .await
        .expect_problem(422);
    assert!(problem["errors"]["card.token"].is_string(), "{problem}");
}
