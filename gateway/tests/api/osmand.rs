//! The OsmAnd listener over real HTTP: a tracker registered with a car's `tracker_id` posts
//! in each form Traccar accepts, and the car's position read back through the API carries the
//! converted values; refusals are 400 (or their own status) and counted in `/metrics`.

use crate::helpers::*;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

const TRACKER: &str = "traccar-client-0123456789abcdef";

/// Centro, Florianópolis.
const CENTRO: (f64, f64) = (-27.5954, -48.5480);

async fn app_with_listener() -> TestApp {
    TestApp::spawn_with(|config| config.fleet.osmand_bind = "127.0.0.1:0".into()).await
}

/// Registers car `n` and gives it `tracker` as its tracker id: the car's id.
async fn tracked_car(app: &TestApp, n: u32, tracker: &str) -> String {
    let (vehicle, _) = app.vehicle(n, 3_000).await;
    let changed = app
        .call(
            Method::PATCH,
            &format!("/v1/vehicles/{vehicle}"),
            Some(&app.admin_token),
            Some(json!({"tracker_id": tracker})),
        )
        .await
        .expect(200);
    assert_eq!(changed["tracker_id"], tracker);
    vehicle
}

/// A request to the listener: its status and its body as text.
async fn send(request: reqwest::RequestBuilder) -> (StatusCode, String) {
    let response = request.send().await.expect("request sent");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

async fn get(app: &TestApp, query: &str) -> (StatusCode, String) {
    send(app.client.get(app.osmand_url(&format!("/?{query}")))).await
}

async fn post_form(app: &TestApp, body: String) -> (StatusCode, String) {
    let request = app
        .client
        .post(app.osmand_url("/"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body);
    send(request).await
}

async fn post_json(app: &TestApp, body: &Value) -> (StatusCode, String) {
    let request = app
        .client
        .post(app.osmand_url("/"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.to_string());
    send(request).await
}

async fn position(app: &TestApp, vehicle: &str) -> Value {
    app.get(
        &format!("/v1/vehicles/{vehicle}/position"),
        &app.admin_token,
    )
    .await
    .expect(200)
}

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

fn instant(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("a time"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

/// The sum of a counter's samples whose labels contain `label`.
async fn counter(app: &TestApp, name: &str, label: &str) -> f64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .filter(|line| line.starts_with(name) && line.contains(label))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Whole seconds, so that every form can state the instant exactly.
fn seconds_ago(seconds: i64) -> DateTime<Utc> {
    let at = Utc::now() - TimeDelta::seconds(seconds);
    DateTime::from_timestamp(at.timestamp(), 0).expect("a time")
}

/// The JSON Traccar Client 9 posts: its `locationTemplate` with `params: {"device_id"}` at
/// the root (traccar-client `lib/preferences.dart`), values in the plugin's units.
fn client_json(tracker: &str, at: DateTime<Utc>, (lat, lon): (f64, f64)) -> Value {
    json!({
        "location": {
            "timestamp": at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "coords": {"latitude": lat, "longitude": lon, "accuracy": 4.5, "speed": 5.0,
                       "heading": -1, "altitude": 7.25},
            "is_moving": true, "odometer": 1200, "event": "motionchange",
            "battery": {"level": 0.55, "is_charging": false},
            "activity": {"type": "in_vehicle"}, "extras": {},
            "_": format!("&id={tracker}&lat={lat}&lon={lon}&timestamp={at}&")
        },
        "device_id": tracker
    })
}

/// A phone running Traccar Client reports its own battery: with the option off, a fix from it
/// moves the car and says nothing of its charge (a phone at 15 % must not make the car
/// `battery-low`).
#[tokio::test]
async fn a_phones_battery_is_not_taken_for_the_cars_when_so_configured() {
    let app = TestApp::spawn_with(|config| {
        config.fleet.osmand_bind = "127.0.0.1:0".into();
        config.fleet.osmand_battery_is_car = false;
    })
    .await;
    let vehicle = tracked_car(&app, 1, TRACKER).await;
    let at = seconds_ago(30);
    let (status, _) = get(
        &app,
        &format!(
            "id={TRACKER}&lat={}&lon={}&timestamp={}&batt=15&charge=false",
            CENTRO.0,
            CENTRO.1,
            at.timestamp()
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let fix = position(&app, &vehicle).await;
    assert_eq!(instant(&fix["recorded_at"]), at);
    assert_eq!((number(&fix["lat"]), number(&fix["lon"])), CENTRO);
    assert_eq!(fix["battery_pct"], Value::Null, "{fix}");
    assert_eq!(fix["charging"], Value::Null, "{fix}");

    let json_fix = client_json(TRACKER, seconds_ago(10), (CENTRO.0 + 0.0003, CENTRO.1));
    assert_eq!(post_json(&app, &json_fix).await.0, StatusCode::OK);
    let fix = position(&app, &vehicle).await;
    assert!(
        (number(&fix["lat"]) - (CENTRO.0 + 0.0003)).abs() < 1e-9,
        "{fix}"
    );
    assert_eq!(fix["battery_pct"], Value::Null, "{fix}");
}

#[tokio::test]
async fn query_form_and_json_fixes_reach_the_car_converted() {
    let app = app_with_listener().await;
    let vehicle = tracked_car(&app, 1, TRACKER).await;
    let duplicates_before = counter(&app, "ev_rental_osmand_fixes_total", "duplicate").await;

    // GET with the query form: speed in knots.
    let first = seconds_ago(90);
    let (status, body) = get(
        &app,
        &format!(
            "id={TRACKER}&lat={}&lon={}&timestamp={}&speed=10&bearing=90&altitude=3\
             &accuracy=5&batt=80&charge=true",
            CENTRO.0,
            CENTRO.1,
            first.timestamp()
        ),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, ""),
        "an empty 200"
    );
    let fix = position(&app, &vehicle).await;
    assert_eq!(instant(&fix["recorded_at"]), first);
    assert_eq!((number(&fix["lat"]), number(&fix["lon"])), CENTRO);
    assert!((number(&fix["speed_kmh"]) - 18.52).abs() < 1e-9, "{fix}");
    assert_eq!(fix["heading_deg"], 90.0);
    assert_eq!(fix["altitude_m"], 3.0);
    assert_eq!(fix["accuracy_m"], 5.0);
    assert_eq!(fix["battery_pct"], 80.0);
    assert_eq!(fix["charging"], true);

    // POST with a form body: an ISO 8601 time with an offset, and hdop for the accuracy.
    let second = seconds_ago(60);
    let local = second
        .with_timezone(&chrono::FixedOffset::west_opt(3 * 3600).expect("offset"))
        .to_rfc3339_opts(SecondsFormat::Secs, false);
    let (status, _) = post_form(
        &app,
        format!(
            "id={TRACKER}&location={}%2C{}&timestamp={}&speed=0&hdop=2",
            CENTRO.0 + 0.0003,
            CENTRO.1,
            local.replace('+', "%2B")
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let fix = position(&app, &vehicle).await;
    assert_eq!(instant(&fix["recorded_at"]), second);
    assert_eq!(fix["speed_kmh"], 0.0);
    assert_eq!(fix["accuracy_m"], 10.0, "hdop 2 at 5 m");
    assert_eq!(fix["battery_pct"], Value::Null, "each fix stands alone");

    // POST of Traccar Client 9's JSON: speed in m/s, -1 for an unknown heading, level 0..1.
    let third = seconds_ago(30);
    let json_fix = client_json(TRACKER, third, (CENTRO.0 + 0.0006, CENTRO.1));
    assert_eq!(post_json(&app, &json_fix).await.0, StatusCode::OK);
    let fix = position(&app, &vehicle).await;
    assert_eq!(instant(&fix["recorded_at"]), third);
    assert!((number(&fix["speed_kmh"]) - 18.0).abs() < 1e-9, "{fix}");
    assert_eq!(fix["heading_deg"], Value::Null);
    assert!((number(&fix["battery_pct"]) - 55.0).abs() < 1e-9, "{fix}");
    assert_eq!(fix["charging"], false);
    assert_eq!(fix["altitude_m"], 7.25);
    assert_eq!(fix["accuracy_m"], 4.5);

    // A tracker re-sending after a lost answer: 200 again, stored once.
    assert_eq!(post_json(&app, &json_fix).await.0, StatusCode::OK);
    let from = (first - TimeDelta::seconds(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let to = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let track = app
        .get(
            &format!("/v1/vehicles/{vehicle}/track?from={from}&to={to}"),
            &app.admin_token,
        )
        .await
        .expect(200);
    assert_eq!(
        track["items"].as_array().expect("items").len(),
        3,
        "{track}"
    );
    let duplicates_after = counter(&app, "ev_rental_osmand_fixes_total", "duplicate").await;
    assert!(duplicates_after >= duplicates_before + 1.0);
}

#[tokio::test]
async fn refusals_are_plain_text_and_counted() {
    let app = app_with_listener().await;
    let vehicle = tracked_car(&app, 1, TRACKER).await;
    let unknown_before = counter(&app, "ev_rental_osmand_rejected_total", "unknown_id").await;
    let malformed_before = counter(&app, "ev_rental_osmand_rejected_total", "malformed").await;
    let at = seconds_ago(20).timestamp();

    // Unknown ids, in both forms.
    let (status, body) = get(
        &app,
        &format!("id=nobody-0123456789abcdefgh&lat=1&lon=2&timestamp={at}"),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::BAD_REQUEST, "unknown id")
    );
    let stranger = client_json("8737767034", seconds_ago(20), CENTRO);
    assert_eq!(post_json(&app, &stranger).await.0, StatusCode::BAD_REQUEST);
    let unknown_after = counter(&app, "ev_rental_osmand_rejected_total", "unknown_id").await;
    assert!(
        unknown_after >= unknown_before + 2.0,
        "{unknown_before} -> {unknown_after}"
    );

    // Malformed values: each named in the one-line answer.
    let (status, body) = get(
        &app,
        &format!("id={TRACKER}&lat=north&lon=2&timestamp={at}"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, "malformed: lat: must be a number");
    let (status, body) = get(&app, "lat=1&lon=2").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::BAD_REQUEST, "malformed: id: required")
    );
    let (status, _) = post_json(
        &app,
        &json!({"device_id": TRACKER, "location": {"coords": {}}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let malformed_after = counter(&app, "ev_rental_osmand_rejected_total", "malformed").await;
    assert!(malformed_after >= malformed_before + 3.0);

    // Values the location service refuses: 1000 knots.
    let (status, body) = get(
        &app,
        &format!("id={TRACKER}&lat=-27.6&lon=-48.5&timestamp={at}&speed=1000"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.starts_with("refused: speed_kmh"), "{body}");

    // valid=false: taken (200) and not recorded.
    let (status, _) = get(
        &app,
        &format!("id={TRACKER}&lat=-27.6&lon=-48.5&timestamp={at}&valid=false"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    app.get(
        &format!("/v1/vehicles/{vehicle}/position"),
        &app.admin_token,
    )
    .await
    .expect_problem(404);

    // Other methods, and bodies past the limit.
    let (status, _) = send(app.client.put(app.osmand_url("/"))).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = post_form(&app, format!("id={TRACKER}&pad={}", "x".repeat(70 * 1024))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // A retired car's tracker resolves to nothing.
    app.call(
        Method::DELETE,
        &format!("/v1/vehicles/{vehicle}"),
        Some(&app.admin_token),
        None,
    )
    .await
    .expect(200);
    let (status, body) = get(
        &app,
        &format!("id={TRACKER}&lat=-27.6&lon=-48.5&timestamp={at}"),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::BAD_REQUEST, "unknown id")
    );
}

#[tokio::test]
async fn the_listener_is_off_unless_configured() {
    let app = TestApp::spawn().await;
    assert_eq!(app.osmand_address, None);
}
