//! localstripe (PyPI `localstripe`, a stateful fake of Stripe's API) for the tests: installed
//! with pip when it is missing, started on a free port with an empty store, stopped when the
//! handle is dropped. A test that needs it fails, with what went wrong, when it cannot be had:
//! a skipped payment test would look like a passing one.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The version the adapter's tests were written against (`.ci/run` installs the same).
pub(crate) const VERSION: &str = "1.15.10";
/// Any test-mode key: localstripe accepts every `sk_test_…`.
pub(crate) const SECRET_KEY: &str = "sk_test_ev_rental_localstripe";
/// How long localstripe may take to answer after it is started.
const STARTUP: Duration = Duration::from_secs(30);

/// One pip at a time: the tests of the binary run in parallel.
static INSTALL: Mutex<()> = Mutex::new(());

/// The installed version of localstripe, if any.
fn installed_version() -> Option<String> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('localstripe'))",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Makes sure localstripe `VERSION` can be imported, installing it for the user if not.
fn ensure_installed() -> Result<(), String> {
    let _one = INSTALL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if installed_version().as_deref() == Some(VERSION) {
        return Ok(());
    }
    let output = Command::new("python3")
        .args(["-m", "pip", "install", "--user", "--quiet"])
        .arg(format!("localstripe=={VERSION}"))
        .output()
        .map_err(|error| format!("python3 could not be run: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "`python3 -m pip install --user localstripe=={VERSION}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    match installed_version() {
        Some(version) if version == VERSION => Ok(()),
        other => Err(format!(
            "localstripe {VERSION} was installed but python3 finds {other:?}"
        )),
    }
}

/// A running localstripe, stopped on drop.
pub(crate) struct LocalStripe {
    child: Child,
    /// Its API root, for `billing.stripe_api_base`.
    pub(crate) base: String,
    client: reqwest::Client,
    _logs: tempfile::TempDir,
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LocalStripe {
    /// Installs (if needed) and starts localstripe; panics with the reason if it cannot.
    pub(crate) async fn start() -> LocalStripe {
        tokio::task::spawn_blocking(ensure_installed)
            .await
            .expect("install task")
            .unwrap_or_else(|reason| {
                panic!("localstripe is needed for the Stripe tests: {reason}")
            });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let logs = tempfile::tempdir().expect("temp dir");
        let log: PathBuf = logs.path().join("localstripe.log");
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new("python3")
            .args(["-m", "localstripe", "--from-scratch", "--port"])
            .arg(port.to_string())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|error| panic!("localstripe could not be started: {error}"));
        let mut stripe = LocalStripe {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            _logs: logs,
        };
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = stripe.child.try_wait() {
                panic!(
                    "localstripe exited with {status}: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            let answer = stripe
                .client
                .get(format!("{}/v1/customers", stripe.base))
                .bearer_auth(SECRET_KEY)
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if answer.is_ok_and(|answer| answer.status().is_success()) {
                return stripe;
            }
            assert!(
                started.elapsed() < STARTUP,
                "localstripe did not answer within {STARTUP:?}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The status GET `path` answers.
    pub(crate) async fn status(&self, path: &str) -> u16 {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(SECRET_KEY)
            .send()
            .await
            .expect("localstripe answers")
            .status()
            .as_u16()
    }

    /// GET `path` of the fake's API, as JSON; panics unless it answers 200.
    pub(crate) async fn get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(SECRET_KEY)
            .send()
            .await
            .expect("localstripe answers");
        let status = response.status();
        let body: Value = response.json().await.expect("JSON");
        assert!(status.is_success(), "GET {path}: {status} {body}");
        body
    }

    /// A PaymentMethod for test card `number`, as the app would create with Stripe's SDK.
    pub(crate) async fn payment_method(&self, number: &str) -> String {
        let response = self
            .client
            .post(format!("{}/v1/payment_methods", self.base))
            .bearer_auth(SECRET_KEY)
            .form(&[
                ("type", "card"),
                ("card[number]", number),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2030"),
                ("card[cvc]", "123"),
            ])
            .send()
            .await
            .expect("localstripe answers");
        let status = response.status();
        let body: Value = response.json().await.expect("JSON");
        assert!(status.is_success(), "payment method: {status} {body}");
        body["id"].as_str().expect("id").to_owned()
    }
}
