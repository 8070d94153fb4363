//! Domain events fed to the subscriber: what is queued for whom, in which language, when;
//! deduplication of redelivered events; the reminder's not-before time and its withdrawal;
//! erasure.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

use super::webhooks::{receiver, with_webhooks};
use super::{Harness, notify_config};
use crate::ask::AskError;
use crate::clock::Clock;
use crate::domain::{Cents, Locale};
use crate::events::{DomainEvent, EventData, EventSubscriber, Place, Subjects};
use crate::ids::{CustomerId, ReservationId, VehicleId};
use crate::notifications::{Channel, Email, EventMessages, Message, MessageState, Payload};
use crate::ports::{BoxFuture, Contact, ContactLookup};

/// Contacts as the customers service would answer them: a confirmed address, and perhaps one
/// waiting for confirmation.
/// A customer's contact and the address they are changing to, if any.
pub(super) type Entry = (Contact, Option<String>);

#[derive(Clone, Default)]
pub(super) struct Contacts {
    pub(super) known: Arc<Mutex<HashMap<CustomerId, Entry>>>,
}

impl Contacts {
    pub(super) fn add(&self, name: &str, email: &str, locale: Locale) -> CustomerId {
        let id = CustomerId::new();
        let contact = Contact {
            email: email.into(),
            name: name.into(),
            locale,
        };
        self.known.lock().unwrap().insert(id, (contact, None));
        id
    }

    pub(super) fn changing_to(&self, customer: CustomerId, new_email: &str) {
        if let Some(entry) = self.known.lock().unwrap().get_mut(&customer) {
            entry.1 = Some(new_email.into());
        }
    }
}

impl ContactLookup for Contacts {
    fn contact(
        &self,
        customer: CustomerId,
        address_being_confirmed: bool,
    ) -> BoxFuture<'_, Result<Option<Contact>, AskError>> {
        let found = self.known.lock().unwrap().get(&customer).cloned();
        Box::pin(async move {
            Ok(found.map(|(contact, pending)| match pending {
                Some(email) if address_being_confirmed => Contact { email, ..contact },
                _ => contact,
            }))
        })
    }
}

pub(super) fn now(harness: &Harness) -> DateTime<Utc> {
    harness.clock.now()
}

pub(super) fn subscriber(harness: &Harness, contacts: &Contacts) -> EventMessages {
    EventMessages::new(harness.handle.clone(), Arc::new(contacts.clone()))
}

pub(super) fn confirmed(
    at: DateTime<Utc>,
    customer: CustomerId,
    reservation: ReservationId,
    start_in: TimeDelta,
) -> DomainEvent {
    let start_at = at + start_in;
    DomainEvent::new(
        "reservations",
        at,
        Subjects::reservation(reservation, customer, VehicleId::new()),
        EventData::ReservationConfirmed {
            plate: "QHT1A23".into(),
            model: "BYD Dolphin".into(),
            place: Some(Place {
                lat: -27.5954,
                lon: -48.548,
            }),
            start_at,
            end_at: start_at + TimeDelta::hours(3),
            hold_cents: Cents::new(13_500),
            hourly_rate_cents: Cents::new(4_500),
        },
    )
}

fn cancelled(at: DateTime<Utc>, customer: CustomerId, reservation: ReservationId) -> DomainEvent {
    DomainEvent::new(
        "reservations",
        at,
        Subjects::reservation(reservation, customer, VehicleId::new()),
        EventData::ReservationCancelled {
            by: "customer".into(),
            released_cents: Cents::new(13_500),
        },
    )
}

pub(super) fn email_of(message: &Message) -> &Email {
    match &message.payload {
        Payload::Email(email) => email,
        Payload::Webhook { .. } => panic!("not an e-mail: {message:?}"),
    }
}

fn queued(harness: &Harness, key: &str) -> Message {
    harness
        .handle
        .status(Channel::Email, key)
        .unwrap()
        .unwrap_or_else(|| panic!("nothing queued under {key}"))
}

#[tokio::test]
async fn a_booking_queues_its_confirmation_now_and_its_reminder_for_later_in_portuguese() {
    let harness = Harness::start(notify_config()).await;
    let contacts = Contacts::default();
    let ana = contacts.add("Ana Souza", "ana@example.com", Locale::PtBr);
    let reservation = ReservationId::new();
    let event = confirmed(now(&harness), ana, reservation, TimeDelta::hours(2));
    subscriber(&harness, &contacts)
        .deliver(std::slice::from_ref(&event))
        .await
        .unwrap();

    let confirmation = queued(&harness, &event.id.to_string());
    let email = email_of(&confirmation);
    // Queued to the customer: the address is asked for when the e-mail leaves.
    assert_eq!(email.to, format!("customer:{ana}"));
    assert_eq!(email.subject, "Reserva confirmada: BYD Dolphin (QHT1A23)");
    assert!(email.text.starts_with("Olá,"), "{}", email.text);
    assert!(!email.text.contains("Ana"), "{}", email.text);
    // t0 is 10:00 UTC: the window is 12:00 to 15:00 UTC, 09:00 to 12:00 in Florianópolis.
    assert!(
        email
            .text
            .contains("de 23/11/2026 09:00 até 23/11/2026 12:00"),
        "{}",
        email.text
    );
    assert!(email.text.contains("R$ 135,00"), "{}", email.text);
    assert!(email.html.contains("openstreetmap.org"), "{}", email.html);

    let reminder = queued(&harness, &format!("reminder:{reservation}"));
    assert_eq!(reminder.state, MessageState::Pending);
    assert_eq!(
        reminder.next_attempt_at,
        now(&harness) + TimeDelta::minutes(90)
    );
    assert_eq!(
        email_of(&reminder).subject,
        "Sua reserva começa às 09:00: BYD Dolphin (QHT1A23)"
    );

    let first = harness.handle.deliver_due().await.unwrap();
    assert_eq!(first.delivered, 1, "the confirmation only");
    assert_eq!(
        queued(&harness, &format!("reminder:{reservation}")).state,
        MessageState::Pending
    );
    harness.clock.advance(TimeDelta::minutes(89));
    assert_eq!(harness.handle.deliver_due().await.unwrap().attempted, 0);
    harness.clock.advance(TimeDelta::minutes(1));
    assert_eq!(harness.handle.deliver_due().await.unwrap().delivered, 1);
    assert_eq!(
        queued(&harness, &format!("reminder:{reservation}")).state,
        MessageState::Delivered
    );
}

#[tokio::test]
async fn a_redelivered_batch_queues_nothing_new() {
    let harness = Harness::start(notify_config()).await;
    let contacts = Contacts::default();
    let ana = contacts.add("Ana", "ana@example.com", Locale::PtBr);
    let events = [
        confirmed(
            now(&harness),
            ana,
            ReservationId::new(),
            TimeDelta::hours(2),
        ),
        DomainEvent::new(
            "customers",
            now(&harness),
            Subjects::customer(ana),
            EventData::BalanceOutstanding {
                amount_cents: Cents::new(4_550),
                owed_cents: Cents::new(4_550),
            },
        ),
    ];
    let subscriber = subscriber(&harness, &contacts);
    subscriber.deliver(&events).await.unwrap();
    let before = harness.handle.pending().unwrap();
    assert_eq!(before.len(), 3, "confirmation, reminder, balance");
    subscriber.deliver(&events).await.unwrap();
    assert_eq!(harness.handle.pending().unwrap(), before);
    assert_eq!(harness.handle.messages_for(ana).unwrap(), 3);
}

#[tokio::test]
async fn a_cancellation_withdraws_the_reminder_for_good_and_says_the_hold_was_released() {
    let harness = Harness::start(notify_config()).await;
    let contacts = Contacts::default();
    let ana = contacts.add("Ana", "ana@example.com", Locale::En);
    let reservation = ReservationId::new();
    let booked = confirmed(now(&harness), ana, reservation, TimeDelta::hours(2));
    let subscriber = subscriber(&harness, &contacts);
    subscriber
        .deliver(std::slice::from_ref(&booked))
        .await
        .unwrap();
    harness.clock.advance(TimeDelta::minutes(10));
    let cancel = cancelled(now(&harness), ana, reservation);
    subscriber
        .deliver(std::slice::from_ref(&cancel))
        .await
        .unwrap();

    let key = format!("reminder:{reservation}");
    assert_eq!(queued(&harness, &key).state, MessageState::Cancelled);
    let notice = queued(&harness, &cancel.id.to_string());
    assert_eq!(email_of(&notice).subject, "Booking cancelled");
    assert!(email_of(&notice).text.contains("R$135.00"));

    // The booking's event offered again (a relay that lost its removal) brings nothing back.
    subscriber.deliver(&[booked, cancel]).await.unwrap();
    assert_eq!(queued(&harness, &key).state, MessageState::Cancelled);
    harness.clock.advance(TimeDelta::hours(3));
    let report = harness.handle.deliver_due().await.unwrap();
    assert_eq!(report.delivered, 2, "the confirmation and the cancellation");
    assert_eq!(queued(&harness, &key).state, MessageState::Cancelled);
}

#[tokio::test]
async fn a_booking_too_close_to_its_start_gets_no_reminder() {
    let harness = Harness::start(notify_config()).await;
    let contacts = Contacts::default();
    let ana = contacts.add("Ana", "ana@example.com", Locale::PtBr);
    let reservation = ReservationId::new();
    let event = confirmed(now(&harness), ana, reservation, TimeDelta::minutes(20));
    subscriber(&harness, &contacts)
        .deliver(&[event])
        .await
        .unwrap();
    assert!(
        harness
            .handle
            .status(Channel::Email, &format!("reminder:{reservation}"))
            .unwrap()
            .is_none()
    );
    assert_eq!(harness.handle.pending().unwrap().len(), 1);
}

#[tokio::test]
async fn a_receipt_in_english_has_english_amounts_and_the_subject_of_its_ending() {
    let harness = Harness::start(notify_config()).await;
    let contacts = Contacts::default();
    let bob = contacts.add("Bob", "bob@example.com", Locale::En);
    let end_at = now(&harness);
    let event = DomainEvent::new(
        "reservations",
        end_at + TimeDelta::minutes(61),
        Subjects::reservation(ReservationId::new(), bob, VehicleId::new()),
        EventData::RentalEnded {
            ended_by: "system".into(),
            released_at: end_at + TimeDelta::minutes(61),
            end_at,
            hold_cents: Cents::new(13_500),
            total_cents: Cents::new(136_956),
            overtime_cents: Cents::new(123_456),
            outstanding_cents: Cents::new(123_456),
            settlement_pending: false,
        },
    );
    subscriber(&harness, &contacts)
        .deliver(std::slice::from_ref(&event))
        .await
        .unwrap();
    let receipt = queued(&harness, &event.id.to_string());
    let email = email_of(&receipt);
    assert_eq!(email.subject, "Your rental was ended automatically");
    assert!(email.text.contains("Total: R$1,369.56"), "{}", email.text);
    assert!(
        email.text.contains("Outstanding: R$1,234.56"),
        "{}",
        email.text
    );
    assert!(
        email.text.contains("at 23 Nov 2026, 08:01"),
        "{}",
        email.text
    );
    assert!(email.html.contains("lang=\"en\""));
}

#[tokio::test]
async fn an_unknown_or_erased_customer_gets_nothing_and_an_erasure_deletes_only_their_messages() {
    let (_receiver, url) = receiver(&[]).await;
    let harness = Harness::start(with_webhooks(&url)).await;
    let contacts = Contacts::default();
    let ana = contacts.add("Ana", "ana@example.com", Locale::PtBr);
    let bia = contacts.add("Bia", "bia@example.com", Locale::PtBr);
    let subscriber = subscriber(&harness, &contacts);
    let at = now(&harness);
    let events = [
        confirmed(at, ana, ReservationId::new(), TimeDelta::hours(2)),
        confirmed(at, bia, ReservationId::new(), TimeDelta::hours(2)),
        confirmed(
            at,
            CustomerId::new(),
            ReservationId::new(),
            TimeDelta::hours(2),
        ),
    ];
    subscriber.deliver(&events).await.unwrap();
    // Ana's confirmation is sent (finished), her reminder waits (pending): both must go.
    harness.handle.deliver_due().await.unwrap();
    assert_eq!(harness.handle.messages_for(ana).unwrap(), 2);

    let erased = DomainEvent::new(
        "customers",
        at,
        Subjects::customer(ana),
        EventData::CustomerErased,
    );
    subscriber
        .deliver(std::slice::from_ref(&erased))
        .await
        .unwrap();
    assert_eq!(harness.handle.messages_for(ana).unwrap(), 0);
    assert!(
        harness
            .handle
            .status(Channel::Email, &events[0].id.to_string())
            .unwrap()
            .is_none()
    );
    assert_eq!(harness.handle.messages_for(bia).unwrap(), 2);
    assert!(
        harness
            .handle
            .status(Channel::Email, &events[1].id.to_string())
            .unwrap()
            .is_some()
    );
    // The unknown customer got no e-mail; every event, erasure included, is a webhook.
    assert!(
        harness
            .handle
            .status(Channel::Email, &events[2].id.to_string())
            .unwrap()
            .is_none()
    );
    for event in events.iter().chain([&erased]) {
        assert!(
            harness
                .handle
                .status(Channel::Webhook, &event.id.to_string())
                .unwrap()
                .is_some(),
            "webhook of {}",
            event.type_name()
        );
    }
    // After the erasure, the customer's events offered again find no contact to write to.
    contacts.known.lock().unwrap().remove(&ana);
    subscriber.deliver(&events[..1]).await.unwrap();
    assert_eq!(harness.handle.messages_for(ana).unwrap(), 0);
}
