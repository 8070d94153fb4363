//! Privacy over HTTP: credentials changed only with the password in use, sessions ended by a
//! password change, and no secret or document on the disk or in the log after a scripted
//! scenario with rentals and an erasure.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::Method;
use serde_json::{Value, json};

use actors::testing::PASSWORD;

use crate::helpers::*;

async fn log_in(app: &TestApp, email: &str, password: &str) -> Value {
    app.call(
        Method::POST,
        "/v1/auth/token",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
    .expect(200)
}

async fn refresh(app: &TestApp, tokens: &Value) -> Answer {
    app.call(
        Method::POST,
        "/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": tokens["refresh_token"]})),
    )
    .await
}

#[tokio::test]
async fn credentials_change_only_with_the_password_in_use_and_end_the_other_sessions() {
    let app = TestApp::spawn().await;
    app.customer(31, VISA).await;
    let phone = log_in(&app, &email(31), PASSWORD).await;
    let laptop = log_in(&app, &email(31), PASSWORD).await;
    let token = phone["access_token"].as_str().unwrap();

    for body in [
        json!({"password": "nova-senha-2027"}),
        json!({"email": email(32)}),
        json!({"password": "nova-senha-2027", "current_password": "not-the-password"}),
    ] {
        let problem = app
            .call(Method::PATCH, "/v1/customers/me", Some(token), Some(body))
            .await
            .expect_problem(422);
        assert!(
            problem["errors"]["current_password"].is_string(),
            "{problem}"
        );
    }
    refresh(&app, &laptop).await.expect(200);
    let laptop = log_in(&app, &email(31), PASSWORD).await;

    app.call(
        Method::PATCH,
        "/v1/customers/me",
        Some(token),
        Some(json!({"password": "nova-senha-2027", "current_password": PASSWORD})),
    )
    .await
    .expect(200);
    // The session that changed it goes on; every other one is over.
    refresh(&app, &phone).await.expect(200);
    refresh(&app, &laptop).await.expect_problem(401);
    app.call(
        Method::POST,
        "/v1/auth/token",
        None,
        Some(json!({"email": email(31), "password": PASSWORD})),
    )
    .await
    .expect_problem(401);
    log_in(&app, &email(31), "nova-senha-2027").await;
}

/// Everything the process logs from the first call on, at debug level and above.
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
        log
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The files under `dir` whose bytes `matches`.
fn files_matching(dir: &Path, matches: &dyn Fn(&[u8]) -> bool) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(files_matching(&path, matches));
        } else if matches(&std::fs::read(&path).expect("readable file")) {
            found.push(path.display().to_string());
        }
    }
    found
}

/// The files under `dir` holding `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if std::fs::read(&path)
            .expect("readable file")
            .windows(needle.len())
            .any(|window| window == needle)
        {
            found.push(path.display().to_string());
        }
    }
    found
}

const ERASED_NAME: &str = "Joaquina Erasmo Pereira";
const CVC: &str = "739";

fn person(n: u32, name: &str) -> Value {
    let mut body = customer_body(n, VISA);
    body["name"] = json!(name);
    body["card"]["cvc"] = json!(CVC);
    body["card"]["holder_name"] = json!(name.to_uppercase());
    body
}

#[tokio::test]
async fn after_rentals_and_an_erasure_no_secret_or_document_is_on_disk_or_in_the_log() {
    let log = captured_log();
    let app = TestApp::spawn().await;
    let mut secrets: Vec<String> = vec![VISA.into(), PASSWORD.into(), "senha-nova-2027".into()];
    let mut tokens = Vec::new();
    for (n, name) in [(41, ERASED_NAME), (42, "Custodio Lagoa Ramos")] {
        let body = person(n, name);
        for field in ["cpf", "cnh"] {
            let digits: String = body[field]
                .as_str()
                .unwrap()
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            secrets.push(digits);
        }
        secrets.push(body["cpf"].as_str().unwrap().to_owned());
        app.call(Method::POST, "/v1/customers", None, Some(body))
            .await
            .expect(201);
        let logged_in = log_in(&app, &email(n), PASSWORD).await;
        app.confirm_me(logged_in["access_token"].as_str().unwrap())
            .await;
        tokens.push(logged_in);
    }
    secrets.extend(["5548999991234".to_owned(), "99999-1234".to_owned()]);
    let token = |n: usize| tokens[n]["access_token"].as_str().unwrap().to_owned();

    // A whole rental for the first, a booking cancelled for the second, a password change.
    let (vehicle, _) = app.vehicle(41, 3_000).await;
    let rental = app
        .post(
            "/v1/reservations",
            &token(0),
            json!({"vehicle_id": vehicle, "start_at": in_minutes(0), "end_at": in_minutes(120)}),
        )
        .await
        .expect(201);
    let path = format!("/v1/reservations/{}", rental["id"].as_str().unwrap());
    for step in ["unlock", "lock"] {
        app.post(
            &format!("/v1/vehicles/{vehicle}/{step}"),
            &token(0),
            json!({}),
        )
        .await
        .expect(200);
    }
    app.post(&format!("{path}/finish"), &token(0), json!({}))
        .await
        .expect(200);
    let other = app
        .post(
            "/v1/reservations",
            &token(1),
            json!({"vehicle_id": vehicle, "start_at": in_minutes(300), "end_at": in_minutes(420)}),
        )
        .await
        .expect(201);
    let other_path = format!("/v1/reservations/{}", other["id"].as_str().unwrap());
    app.post(&format!("{other_path}/cancel"), &token(1), json!({}))
        .await
        .expect(200);
    app.call(
        Method::PATCH,
        "/v1/customers/me",
        Some(&token(1)),
        Some(json!({"password": "senha-nova-2027", "current_password": PASSWORD})),
    )
    .await
    .expect(200);
    app.call(Method::DELETE, "/v1/customers/me", Some(&token(0)), None)
        .await
        .expect(200);

    let dir = app.stop().await;
    let log = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    assert!(log.contains("customer erased"), "the log was captured");
    assert!(
        !files_holding(dir.path(), b"$argon2id$").is_empty(),
        "the scan reads the stores"
    );
    let erased = [
        ERASED_NAME.to_owned(),
        ERASED_NAME.to_uppercase(),
        email(41),
    ];
    for secret in secrets.iter().chain(&erased) {
        let files = files_holding(dir.path(), secret.as_bytes());
        assert!(files.is_empty(), "{secret} found in {files:?}");
        assert!(!log.contains(secret.as_str()), "{secret} found in the log");
    }
    // Three digits turn up by chance in binary stores (in hex text, in encoded numbers), so
    // the disk is searched for the CVC where it would be a card's: beside its holder's name,
    // which follows it in every card type, whatever the encoding between them.
    let beside_card = |bytes: &[u8]| {
        bytes
            .windows(CVC.len())
            .enumerate()
            .filter(|(_, window)| *window == CVC.as_bytes())
            .any(|(at, _)| {
                let around = &bytes[at.saturating_sub(40)..(at + 40).min(bytes.len())];
                [&b"JOAQUINA"[..], b"CUSTODIO"]
                    .iter()
                    .any(|detail| around.windows(detail.len()).any(|w| w == *detail))
            })
    };
    let files = files_matching(dir.path(), &beside_card);
    assert!(files.is_empty(), "the CVC is on the disk in {files:?}");
    assert!(
        !log.contains(&format!("\"{CVC}\"")),
        "the CVC is in the log"
    );
}
