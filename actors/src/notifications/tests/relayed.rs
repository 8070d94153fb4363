//! Events that travel the whole way: the confirmation code over SMTP, webhooks of events
//! relayed from an outbox, and the real customers service answering where to write.

use std::sync::Arc;

use chrono::TimeDelta;

use super::events::{Contacts, confirmed, email_of, now, subscriber};
use super::smtp_server::SmtpServer;
use super::webhooks::{receiver, with_webhooks};
use super::{Harness, notify_config};
use crate::config::NotifyConfig;
use crate::domain::Locale;
use crate::events::{DomainEvent, EventData, EventRelay, EventSubscriber, RelayOptions, Subjects};
use crate::ids::ReservationId;
use crate::notifications::{Channel, MessageState};

#[tokio::test]
async fn the_confirmation_code_reaches_the_new_address_over_smtp() {
    let server = SmtpServer::start(0).await;
    let harness = Harness::start(NotifyConfig {
        email: "smtp".into(),
        smtp_url: format!("smtp://127.0.0.1:{}", server.port()),
        public_base_url: "https://app.ev-rental.test/".into(),
        ..notify_config()
    })
    .await;
    let contacts = Contacts::default();
    let ana = contacts.add("Ana", "ana@example.com", Locale::PtBr);
    contacts.changing_to(ana, "ana.new@example.com");
    let event = DomainEvent::new(
        "customers",
        now(&harness),
        Subjects::customer(ana),
        EventData::ConfirmationRequested {
            code: "042917".into(),
            expires_at: now(&harness) + TimeDelta::minutes(30),
            address_change: true,
        },
    );
    subscriber(&harness, &contacts)
        .deliver(&[event])
        .await
        .unwrap();
    assert_eq!(harness.handle.deliver_due().await.unwrap().delivered, 1);
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["ana.new@example.com"]);
    // The bodies are quoted-printable: soft line breaks and `=` itself are escaped.
    let data = received[0].data.replace("=\r\n", "").replace("=3D", "=");
    assert!(
        data.contains("Subject: Confirme seu novo e-mail: 042917"),
        "{data}"
    );
    assert!(data.contains("digo: 042917"), "{data}");
    assert!(
        data.contains("https://app.ev-rental.test/confirm-email?code=042917"),
        "{data}"
    );
}

#[tokio::test]
async fn relayed_events_reach_the_operators_signed_once_each_and_codes_never() {
    let (receiver, url) = receiver(&[]).await;
    let harness = Harness::start(with_webhooks(&url)).await;
    let contacts = Contacts::default();
    let ana = contacts.add("Ana", "ana@example.com", Locale::PtBr);
    let relay = EventRelay::new(
        std::slice::from_ref(&harness.store),
        RelayOptions::default(),
    );
    let subscriber = Arc::new(subscriber(&harness, &contacts));
    relay.subscribe(subscriber.clone());
    let at = now(&harness);
    let booked = confirmed(at, ana, ReservationId::new(), TimeDelta::hours(2));
    let code = DomainEvent::new(
        "customers",
        at,
        Subjects::customer(ana),
        EventData::ConfirmationRequested {
            code: "042917".into(),
            expires_at: at + TimeDelta::minutes(30),
            address_change: false,
        },
    );
    let outbox = harness.store.outbox();
    outbox.append_alone(&booked).unwrap();
    outbox.append_alone(&code).unwrap();
    assert_eq!(relay.relay_now().await.unwrap(), 2);
    // Offered again, as after a crash before the outbox's removal reached the disk.
    outbox.append_alone(&booked).unwrap();
    assert_eq!(relay.relay_now().await.unwrap(), 1);

    let report = harness.handle.deliver_due().await.unwrap();
    assert_eq!(report.delivered, 3, "one webhook and two e-mails");
    assert_eq!(harness.handle.deliver_due().await.unwrap().attempted, 0);
    let hooks = receiver.hooks.lock().unwrap().clone();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert!(hooks[0].verified);
    assert_eq!(hooks[0].body["type"], "reservation.confirmed");
    assert_eq!(hooks[0].body["data"]["id"], booked.id.to_string());
    assert_eq!(hooks[0].body["data"]["data"]["hold_cents"], 13_500);
    assert_eq!(hooks[0].body["data"]["customer_id"], ana.to_string());
    assert!(!hooks[0].body.to_string().contains("ana@example.com"));
}

#[tokio::test]
async fn in_the_whole_system_a_relayed_event_is_written_to_the_customer_on_file() {
    let system = crate::testing::TestSystem::start().await;
    let customer = system.customer(1, crate::testing::cards::VISA).await;
    let services = system.services();
    let profile = services.customers.get(customer).await.unwrap();
    let reservation = ReservationId::new();
    let event = confirmed(system.now(), customer, reservation, TimeDelta::hours(2));
    let outbox = system
        .system()
        .stores()
        .get("reservations")
        .unwrap()
        .outbox();
    outbox.append_alone(&event).unwrap();
    services.events.relay_now().await.unwrap();

    let message = services
        .notifications
        .status(Channel::Email, &event.id.to_string())
        .unwrap()
        .expect("the confirmation is queued");
    let email = email_of(&message);
    // Addressed to the customer, whose address is asked for when it leaves; nothing of the
    // person is in the queue.
    assert_eq!(email.to, format!("customer:{customer}"));
    assert!(!email.text.contains(&profile.name), "{}", email.text);
    let reminder = services
        .notifications
        .status(Channel::Email, &format!("reminder:{reservation}"))
        .unwrap()
        .expect("the reminder is queued");
    assert_eq!(reminder.state, MessageState::Pending);
}
