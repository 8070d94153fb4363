//! The car units' command channel through real HTTP and a real WebSocket client.

use std::time::Duration;

use crate::helpers::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(app: &TestApp, vehicle: &str, token: &str) -> Result<Socket, WsError> {
    let url = format!("ws://{}/v1/units/{vehicle}/commands", app.address);
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    connect_async(request).await.map(|(socket, _)| socket)
}

/// The next JSON text frame, skipping pings.
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s")
            .expect("the socket is open")
            .expect("a frame");
        match frame {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// The reason of the close frame the server sends next (within 5 s), skipping other frames.
async fn close_reason(socket: &mut Socket) -> Option<String> {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => {
                    return frame.map(|frame| frame.reason.to_string());
                }
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("a close frame within 5 s")
}

async fn ack(socket: &mut Socket, command: &Value, result: &str) {
    let frame = json!({"command_id": command["command_id"], "result": result});
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
}

/// A customer holding a reservation, starting now, of a registered car.
struct Rental {
    vehicle: String,
    device_token: String,
    customer: String,
    reservation: String,
}

async fn rental(app: &TestApp, n: u32) -> Rental {
    let (_, customer) = app.customer(n, VISA).await;
    let (vehicle, device_token) = app.vehicle(n, 3_000).await;
    let reservation = app
        .post(
            "/v1/reservations",
            &customer,
            json!({"vehicle_id": vehicle, "start_at": in_minutes(0), "end_at": in_minutes(120)}),
        )
        .await
        .expect(201);
    Rental {
        vehicle,
        device_token,
        customer,
        reservation: reservation["id"].as_str().unwrap().to_owned(),
    }
}

fn unlock(app: &TestApp, rental: &Rental) -> tokio::task::JoinHandle<(u16, Value)> {
    let (client, url, token) = (
        app.client.clone(),
        app.url(&format!("/v1/vehicles/{}/unlock", rental.vehicle)),
        rental.customer.clone(),
    );
    tokio::spawn(async move {
        let response = client.post(url).bearer_auth(token).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

#[tokio::test]
async fn an_unlock_travels_to_the_unit_and_completes_with_its_acknowledgement() {
    let app = TestApp::spawn_ws(|_| {}).await;
    let rental = rental(&app, 1).await;
    let mut socket = connect(&app, &rental.vehicle, &rental.device_token)
        .await
        .unwrap();

    let request = unlock(&app, &rental);
    let command = next_json(&mut socket).await;
    assert_eq!(command["action"], "unlock");
    assert!(command["expires_at"].is_string());
    ack(&mut socket, &command, "done").await;

    let (status, body) = request.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "done");
    assert_eq!(body["command_id"], command["command_id"]);
    let reservation = app
        .get(
            &format!("/v1/reservations/{}", rental.reservation),
            &rental.customer,
        )
        .await
        .expect(200);
    assert_eq!(reservation["status"], "active");

    // The same acknowledgement again counts once: no error frame, nothing changes.
    ack(&mut socket, &command, "done").await;
    let lock = tokio::spawn({
        let (client, url, token) = (
            app.client.clone(),
            app.url(&format!("/v1/vehicles/{}/lock", rental.vehicle)),
            rental.customer.clone(),
        );
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let next = next_json(&mut socket).await;
    assert_eq!(
        next["action"], "lock",
        "the duplicate ack produced no error frame: {next}"
    );
    ack(&mut socket, &next, "done").await;
    assert_eq!(lock.await.unwrap(), 200);
}

#[tokio::test]
async fn a_silent_unit_makes_the_unlock_expire_and_its_late_answer_does_not_count() {
    let app = TestApp::spawn_ws(|_| {}).await;
    let rental = rental(&app, 2).await;
    let mut socket = connect(&app, &rental.vehicle, &rental.device_token)
        .await
        .unwrap();
    let request = unlock(&app, &rental);
    let command = next_json(&mut socket).await;
    let (status, body) = request.await.unwrap();
    assert_eq!(status, 504, "{body}");

    ack(&mut socket, &command, "done").await;
    // The late "done" is answered by locking the car again and recording an incident; once
    // that incident is there, the acknowledgement has been handled.
    let locks = app.system().services().locks.clone();
    actors::testing::eventually("the late unlock relocked", || {
        let locks = locks.clone();
        async move {
            locks.incidents().is_ok_and(|incidents| {
                incidents
                    .iter()
                    .any(|incident| incident.kind.as_str() == "late_unlock_relocked")
            })
        }
    })
    .await;
    let reservation = app
        .get(
            &format!("/v1/reservations/{}", rental.reservation),
            &rental.customer,
        )
        .await
        .expect(200);
    assert_eq!(
        reservation["status"], "confirmed",
        "a late acknowledgement never unlocks"
    );
}

#[tokio::test]
async fn an_offline_unit_gets_504_and_nothing_stays_pending() {
    let app = TestApp::spawn_ws(|_| {}).await;
    let rental = rental(&app, 3).await;
    let (status, _) = unlock(&app, &rental).await.unwrap();
    assert_eq!(status, 504);
    let vehicle = rental.vehicle.parse().unwrap();
    let pending = app
        .system()
        .services()
        .locks
        .pending_commands(vehicle)
        .await
        .unwrap();
    assert!(pending.is_empty(), "{pending:?}");
}

#[tokio::test]
async fn a_unit_that_reconnects_receives_its_unexpired_command() {
    let app = TestApp::spawn_ws(|_| {}).await;
    let rental = rental(&app, 4).await;
    // Out of coverage when the customer taps unlock...
    let request = unlock(&app, &rental);
    app.until_a_command_waits(&rental.vehicle).await;
    // ...and back before the command expires.
    let mut socket = connect(&app, &rental.vehicle, &rental.device_token)
        .await
        .unwrap();
    let command = next_json(&mut socket).await;
    assert_eq!(command["action"], "unlock");
    ack(&mut socket, &command, "done").await;
    assert_eq!(request.await.unwrap().0, 200);
}

#[tokio::test]
async fn a_new_connection_replaces_the_old_one() {
    let app = TestApp::spawn_ws(|_| {}).await;
    let rental = rental(&app, 5).await;
    let mut old = connect(&app, &rental.vehicle, &rental.device_token)
        .await
        .unwrap();
    let mut new = connect(&app, &rental.vehicle, &rental.device_token)
        .await
        .unwrap();

    let closed = close_reason(&mut old).await;
    assert_eq!(closed.as_deref(), Some("replaced by a newer connection"));

    let request = unlock(&app, &rental);
    let command = next_json(&mut new).await;
    ack(&mut new, &command, "done").await;
    assert_eq!(request.await.unwrap().0, 200);
}

#[tokio::test]
async fn a_refusing_unit_is_a_502_with_its_reason() {
    let app = TestApp::spawn_ws(|_| {}).await;
    let rental = rental(&app, 6).await;
    let mut socket = connect(&app, &rental.vehicle, &rental.device_token)
        .await
        .unwrap();
    let request = unlock(&app, &rental);
    let command = next_json(&mut socket).await;
    let frame = json!({"command_id": command["command_id"], "result": "failed", "reason": "battery too low"});
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
    let (status, body) = request.await.unwrap();
    assert_eq!(status, 502);
    assert!(
        body["detail"].as_str().unwrap().contains("battery too low"),
        "{body}"
    );
}

#[tokio::test]
async fn unreadable_frames_are_answered_with_an_error_and_the_channel_stays_open() {
    let app = TestApp::spawn_ws(|_| {}).await;
    let rental = rental(&app, 7).await;
    let mut socket = connect(&app, &rental.vehicle, &rental.device_token)
        .await
        .unwrap();
    socket
        .send(Message::Text("{\"hello\": 1}".into()))
        .await
        .unwrap();
    let error = next_json(&mut socket).await;
    assert!(
        error["error"].as_str().unwrap().contains("unreadable"),
        "{error}"
    );
    let unknown = json!({"command_id": uuid::Uuid::now_v7(), "result": "done"});
    socket
        .send(Message::Text(unknown.to_string().into()))
        .await
        .unwrap();
    let error = next_json(&mut socket).await;
    assert!(
        error["error"].as_str().unwrap().contains("unknown command"),
        "{error}"
    );

    let request = unlock(&app, &rental);
    let command = next_json(&mut socket).await;
    ack(&mut socket, &command, "done").await;
    assert_eq!(request.await.unwrap().0, 200);
}

#[tokio::test]
async fn wrong_or_foreign_device_tokens_are_refused_with_401() {
    let app = TestApp::spawn_ws(|_| {}).await;
    let (vehicle, _) = app.vehicle(8, 3_000).await;
    let (_, other_token) = app.vehicle(9, 3_000).await;
    for token in ["not-a-token", other_token.as_str()] {
        match connect(&app, &vehicle, token).await {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 401),
            other => panic!(
                "expected a 401 refusal, got {:?}",
                other.map(|_| "a connection")
            ),
        }
    }
}

#[tokio::test]
async fn a_unit_that_stops_answering_pings_is_dropped() {
    let app = TestApp::spawn_ws(|config| {
        config.fleet.unit_ping_interval_s = 1;
        config.fleet.unit_silence_timeout_s = 2;
    })
    .await;
    let rental = rental(&app, 10).await;
    let mut socket = connect(&app, &rental.vehicle, &rental.device_token)
        .await
        .unwrap();
    // Not reading means not answering pings (the client answers them as it reads).
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    // The car counts as offline: an unlock expires without reaching anyone.
    assert_eq!(unlock(&app, &rental).await.unwrap().0, 504);
    // What reached the socket: pings, perhaps the close frame (the connection may break before
    // the client reads it, as it answers the buffered pings), and no command.
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(frame)) = socket.next().await {
            match frame {
                Message::Text(text) => panic!("a dropped unit received {text}"),
                Message::Close(frame) => {
                    let reason = frame.map(|frame| frame.reason.to_string());
                    assert_eq!(reason.as_deref(), Some("no answer to pings"));
                    return;
                }
                _ => continue,
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the server kept the silent unit's connection open"
    );
}

#[tokio::test]
async fn a_reason_over_200_characters_is_truncated_and_the_unit_told() {
    let app = TestApp::spawn_ws(|_| {}).await;
    let rental = rental(&app, 9).await;
    let mut socket = connect(&app, &rental.vehicle, &rental.device_token)
        .await
        .unwrap();
    let request = unlock(&app, &rental);
    let command = next_json(&mut socket).await;
    let reason = format!("{}{}", "b".repeat(200), "TAIL");
    let frame = json!({"command_id": command["command_id"], "result": "failed", "reason": reason});
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
    let error = next_json(&mut socket).await;
    assert!(
        error["error"].as_str().unwrap().contains("200 characters"),
        "{error}"
    );
    assert_eq!(error["command_id"], command["command_id"]);
    let (status, body) = request.await.unwrap();
    assert_eq!(status, 502, "the failure still counts: {body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains(&"b".repeat(200)), "{body}");
    assert!(!detail.contains("TAIL"), "{body}");
}

#[tokio::test]
async fn a_message_over_16_kib_ends_the_connection() {
    let app = TestApp::spawn_ws(|_| {}).await;
    let rental = rental(&app, 10).await;
    let mut socket = connect(&app, &rental.vehicle, &rental.device_token)
        .await
        .unwrap();
    // Just under the limit: read (and answered as unreadable), the channel stays open.
    let padding = "p".repeat(16 * 1024 - 64);
    let fits = json!({ "padding": padding }).to_string();
    assert!(fits.len() <= 16 * 1024);
    socket.send(Message::Text(fits.into())).await.unwrap();
    let error = next_json(&mut socket).await;
    assert!(
        error["error"].as_str().unwrap().contains("unreadable"),
        "{error}"
    );
    // Over it: the server drops the connection instead of buffering it.
    let too_big = "q".repeat(16 * 1024 + 1);
    let _ = socket.send(Message::Text(too_big.into())).await;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return true,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await
    .expect("the connection ends within 5 s");
    assert!(ended);
}
