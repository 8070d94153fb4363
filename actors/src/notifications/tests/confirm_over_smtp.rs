//! Registration confirmed through a real SMTP exchange in the whole system: the customers
//! service writes the code into its outbox, the relay hands it to notifications, the e-mail
//! reaches the test's SMTP server, and the code read from that e-mail activates the account.

use super::smtp_server::SmtpServer;
use crate::customers::CustomerStatus;
use crate::testing::{TestSystem, cards::VISA, new_customer};

/// The six digits in a `Subject:` line of a message as the SMTP server received it.
fn code_in_subject(data: &str) -> String {
    let unfolded = data.replace("=\r\n", "").replace("=3D", "=");
    let subject = unfolded
        .lines()
        .find(|line| line.starts_with("Subject:"))
        .expect("a subject");
    subject
        .split(|c: char| !c.is_ascii_digit())
        .find(|word| word.len() == 6)
        .expect("six digits in the subject")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_customer_confirms_with_the_code_of_the_email_the_smtp_server_received() {
    let server = SmtpServer::start(0).await;
    let port = server.port();
    let system = TestSystem::start_with(move |config| {
        config.notify.email = "smtp".into();
        config.notify.smtp_url = format!("smtp://127.0.0.1:{port}");
    })
    .await;
    let services = system.services().clone();
    let registered = services
        .customers
        .register(new_customer(7, VISA))
        .await
        .unwrap();
    assert_eq!(registered.status, CustomerStatus::PendingConfirmation);
    services.events.relay_now().await.unwrap();
    services.notifications.deliver_due().await.unwrap();

    let address = registered.email.clone().expect("an address");
    let received: Vec<_> = server
        .received()
        .into_iter()
        .filter(|message| message.to == [address.clone()])
        .collect();
    assert_eq!(received.len(), 1, "one confirmation e-mail to {address}");
    let code = code_in_subject(&received[0].data);
    let confirmed = services
        .customers
        .confirm_email(registered.id, &code)
        .await
        .unwrap();
    assert_eq!(confirmed.status, CustomerStatus::Active);

    // Relayed again (at least once), the event sends nothing more.
    services.events.relay_now().await.unwrap();
    services.notifications.deliver_due().await.unwrap();
    let again = server
        .received()
        .into_iter()
        .filter(|message| message.to == [address.clone()])
        .count();
    assert_eq!(again, 1);
    server.stop().await;
}
