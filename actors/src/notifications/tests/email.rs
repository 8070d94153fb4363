//! E-mail through a real SMTP session, failures, retries, give-up, deduplication, restarts.

use chrono::TimeDelta;

use super::smtp_server::SmtpServer;
use super::{Harness, cap, notify_config};
use crate::clock::Clock;
use crate::config::NotifyConfig;
use crate::error_kind::{ErrorKind, Kinded};
use crate::notifications::{Channel, DeliveryReport, MessageState};

fn smtp(port: u16) -> NotifyConfig {
    NotifyConfig {
        email: "smtp".into(),
        smtp_url: format!("smtp://127.0.0.1:{port}"),
        ..notify_config()
    }
}

async fn enqueue(harness: &Harness, key: &str, subject: &str) {
    harness
        .handle
        .enqueue_email(
            key,
            "Ana Souza <ana@example.com>",
            subject,
            "Your car is waiting at Rua Bocaiuva.\n.A line that starts with a dot.",
            "<p>Your car is waiting at <b>Rua Bocaiuva</b>.</p>",
        )
        .await
        .unwrap();
}

fn report(attempted: usize, delivered: usize, retrying: usize, gave_up: usize) -> DeliveryReport {
    DeliveryReport {
        attempted,
        delivered,
        retrying,
        gave_up,
    }
}

#[tokio::test]
async fn an_email_is_delivered_over_smtp_with_its_subject_and_both_bodies() {
    let server = SmtpServer::start(0).await;
    let harness = Harness::start(smtp(server.port())).await;
    enqueue(&harness, "event-1", "Your reservation starts soon").await;

    assert_eq!(
        harness.handle.deliver_due().await.unwrap(),
        report(1, 1, 0, 0)
    );

    let received = server.received();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.from, "no-reply@ev-rental.localhost");
    assert_eq!(mail.to, ["ana@example.com"]);
    let data = &mail.data;
    assert!(
        data.contains("Subject: Your reservation starts soon"),
        "{data}"
    );
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(data.contains("Content-Type: text/plain"), "{data}");
    assert!(
        data.contains("Your car is waiting at Rua Bocaiuva."),
        "{data}"
    );
    assert!(
        data.contains(".A line that starts with a dot.") && !data.contains("..A line"),
        "dot-unstuffed: {data}"
    );
    assert!(data.contains("Content-Type: text/html"), "{data}");
    assert!(data.contains("<b>Rua Bocaiuva</b>"), "{data}");

    let status = harness
        .handle
        .status(Channel::Email, "event-1")
        .unwrap()
        .unwrap();
    assert_eq!(status.state, MessageState::Delivered);
    assert_eq!(status.attempts, 1);
    assert!(harness.handle.pending().unwrap().is_empty());
    assert_eq!(
        harness.handle.deliver_due().await.unwrap(),
        report(0, 0, 0, 0)
    );
    assert_eq!(server.received().len(), 1, "never sent again");
}

#[tokio::test]
async fn with_the_relay_down_the_email_waits_and_is_sent_exactly_once_when_it_is_back() {
    let port = SmtpServer::down_port().await;
    let harness = Harness::start(smtp(port)).await;
    enqueue(&harness, "event-2", "Receipt").await;
    let failed_at = harness.clock.now();

    assert_eq!(
        harness.handle.deliver_due().await.unwrap(),
        report(1, 0, 1, 0)
    );
    let waiting = harness
        .handle
        .status(Channel::Email, "event-2")
        .unwrap()
        .unwrap();
    assert_eq!(waiting.state, MessageState::Pending);
    assert_eq!(waiting.attempts, 1);
    assert!(waiting.last_error.is_some());
    let delay = waiting.next_attempt_at - failed_at;
    assert!(
        delay >= TimeDelta::seconds(5) && delay <= TimeDelta::seconds(10),
        "the first retry waits half the base to the base: {delay}"
    );
    assert_eq!(harness.handle.pending().unwrap().len(), 1);
    // Not due yet: nothing is attempted.
    assert_eq!(
        harness.handle.deliver_due().await.unwrap(),
        report(0, 0, 0, 0)
    );

    let server = SmtpServer::start(port).await;
    harness.clock.advance(cap());
    assert_eq!(
        harness.handle.deliver_due().await.unwrap(),
        report(1, 1, 0, 0)
    );
    harness.clock.advance(cap());
    assert_eq!(
        harness.handle.deliver_due().await.unwrap(),
        report(0, 0, 0, 0)
    );
    assert_eq!(server.received().len(), 1);
    let sent = harness
        .handle
        .status(Channel::Email, "event-2")
        .unwrap()
        .unwrap();
    assert_eq!((sent.state, sent.attempts), (MessageState::Delivered, 2));
}

#[tokio::test]
async fn after_max_attempts_the_email_is_given_up_and_listed_for_operators() {
    let port = SmtpServer::down_port().await;
    let harness = Harness::start(smtp(port)).await;
    enqueue(&harness, "event-3", "Receipt").await;

    assert_eq!(
        harness.handle.deliver_due().await.unwrap(),
        report(1, 0, 1, 0)
    );
    harness.clock.advance(cap());
    assert_eq!(
        harness.handle.deliver_due().await.unwrap(),
        report(1, 0, 1, 0)
    );
    harness.clock.advance(cap());
    assert_eq!(
        harness.handle.deliver_due().await.unwrap(),
        report(1, 0, 0, 1)
    );

    let given_up = harness.handle.gave_up().unwrap();
    assert_eq!(given_up.len(), 1);
    assert_eq!(given_up[0].key, "event-3");
    assert_eq!(given_up[0].attempts, 3);
    assert_eq!(given_up[0].state, MessageState::GaveUp);
    assert!(given_up[0].last_error.is_some());
    assert!(harness.handle.pending().unwrap().is_empty());

    let server = SmtpServer::start(port).await;
    harness.clock.advance(TimeDelta::days(1));
    assert_eq!(
        harness.handle.deliver_due().await.unwrap(),
        report(0, 0, 0, 0)
    );
    assert!(
        server.received().is_empty(),
        "a message given up stays given up"
    );
}

#[tokio::test]
async fn the_same_key_enqueued_twice_sends_one_email() {
    let server = SmtpServer::start(0).await;
    let harness = Harness::start(smtp(server.port())).await;
    let first = harness
        .handle
        .enqueue_email("event-4", "ana@example.com", "First", "a", "<p>a</p>")
        .await
        .unwrap();
    let second = harness
        .handle
        .enqueue_email("event-4", "ana@example.com", "Second", "b", "<p>b</p>")
        .await
        .unwrap();
    assert!(first.created);
    assert!(!second.created);
    assert_eq!(first.id, second.id);
    assert_eq!(harness.handle.pending().unwrap().len(), 1);

    assert_eq!(
        harness.handle.deliver_due().await.unwrap(),
        report(1, 1, 0, 0)
    );
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].data.contains("Subject: First"));

    // Delivered, the key still holds: a late duplicate sends nothing either.
    let late = harness
        .handle
        .enqueue_email("event-4", "ana@example.com", "Third", "c", "<p>c</p>")
        .await
        .unwrap();
    assert_eq!((late.id, late.created), (first.id, false));
    assert_eq!(
        harness.handle.deliver_due().await.unwrap(),
        report(0, 0, 0, 0)
    );
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn pending_emails_survive_a_restart_of_the_service() {
    let port = SmtpServer::down_port().await;
    let harness = Harness::start(smtp(port)).await;
    enqueue(&harness, "event-5", "One").await;
    enqueue(&harness, "event-6", "Two").await;
    assert_eq!(
        harness.handle.deliver_due().await.unwrap(),
        report(2, 0, 2, 0)
    );

    let server = SmtpServer::start(0).await;
    let moved = server.port();
    // The relay moved while the service was down: the new configuration points at it.
    let harness = harness
        .restart(|notify| notify.smtp_url = format!("smtp://127.0.0.1:{moved}"))
        .await;
    let pending = harness.handle.pending().unwrap();
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().all(|message| message.attempts == 1));

    harness.clock.advance(cap());
    assert_eq!(
        harness.handle.deliver_due().await.unwrap(),
        report(2, 2, 0, 0)
    );
    let received = server.received();
    assert_eq!(received.len(), 2);
    for subject in ["Subject: One", "Subject: Two"] {
        assert!(
            received.iter().any(|mail| mail.data.contains(subject)),
            "{subject}"
        );
    }
}

#[tokio::test]
async fn a_recipient_that_is_not_an_address_is_refused_at_enqueue() {
    let harness = Harness::start(notify_config()).await;
    let error = harness
        .handle
        .enqueue_email("event-7", "not an address", "Hi", "a", "<p>a</p>")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Invalid);
    let error = harness
        .handle
        .enqueue_email("", "ana@example.com", "Hi", "a", "<p>a</p>")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Invalid);
    assert!(harness.handle.pending().unwrap().is_empty());
}

#[tokio::test]
async fn the_log_backend_delivers_without_a_relay_in_a_whole_system() {
    let system = crate::testing::TestSystem::start().await;
    let notifications = &system.services().notifications;
    notifications
        .enqueue_email(
            "event-8",
            "ana@example.com",
            "Welcome",
            "Hello",
            "<p>Hello</p>",
        )
        .await
        .unwrap();
    let report = notifications.deliver_due().await.unwrap();
    assert_eq!((report.attempted, report.delivered), (1, 1));
    assert!(notifications.pending().unwrap().is_empty());
    system.system().ready().await.unwrap();
}

#[tokio::test]
async fn finished_messages_are_deleted_after_the_retention_and_pending_ones_never() {
    let harness = Harness::start(NotifyConfig {
        retention_days: 14,
        ..notify_config()
    })
    .await;
    enqueue(&harness, "event-sent", "Sent").await;
    harness.handle.deliver_due().await.unwrap();
    assert_eq!(
        harness
            .handle
            .status(Channel::Email, "event-sent")
            .unwrap()
            .map(|message| message.state),
        Some(MessageState::Delivered)
    );
    // Queued after the run, and no run comes: it stays pending however old it gets.
    enqueue(&harness, "event-waiting", "Waiting").await;

    harness.clock.advance(TimeDelta::days(13));
    assert_eq!(harness.handle.purge_finished().await.unwrap(), 0);
    harness.clock.advance(TimeDelta::days(1));
    assert_eq!(harness.handle.purge_finished().await.unwrap(), 1);
    assert!(
        harness
            .handle
            .status(Channel::Email, "event-sent")
            .unwrap()
            .is_none()
    );
    let waiting = harness
        .handle
        .status(Channel::Email, "event-waiting")
        .unwrap()
        .expect("a pending message is kept");
    assert_eq!(waiting.state, MessageState::Pending);
}
