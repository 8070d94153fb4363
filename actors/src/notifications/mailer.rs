//! The seam between the queue and whatever carries e-mail: SMTP in production, the log out of
//! the box, a recorder in tests. A mailer sends one message per call and says whether it left;
//! retrying is the queue's business, never the mailer's.

use lettre::message::{Mailbox, MultiPart};

use super::error::SendError;
use super::model::Email;
use crate::ports::BoxFuture;

/// Sends one e-mail.
pub trait Mailer: Send + Sync + 'static {
    /// Hands `email` to the carrier; `Ok` means it was accepted for delivery.
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), SendError>>;
}

/// Writes each e-mail to the log instead of sending it, like a web framework's console mail
/// backend: a fresh install works without a relay, and a developer reads the links there.
#[derive(Debug, Clone)]
pub struct LogMailer {
    from: Mailbox,
}

impl LogMailer {
    /// A log backend that names `from` as the sender.
    pub fn new(from: Mailbox) -> Self {
        LogMailer { from }
    }
}

impl Mailer for LogMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            tracing::info!(
                from = %self.from,
                to = %masked(&email.to),
                subject = %email.subject,
                body = %email.text,
                "e-mail (log backend, not sent)"
            );
            Ok(())
        })
    }
}

/// The e-mail as lettre sends it: both bodies as `multipart/alternative`, so a client shows the
/// HTML and a text-only client the text.
pub(crate) fn build_message(from: &Mailbox, email: &Email) -> Result<lettre::Message, SendError> {
    let to: Mailbox = email.to.parse().map_err(SendError::Address)?;
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(SendError::Build)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email {
            to: "Ana <ana@example.com>".into(),
            subject: "Sua reserva".into(),
            text: "Olá, Ana".into(),
            html: "<p>Olá, Ana</p>".into(),
        }
    }

    #[test]
    fn an_email_carries_both_bodies_as_alternatives() {
        let from: Mailbox = "EV Rental <no-reply@example.com>".parse().unwrap();
        let message = build_message(&from, &email()).unwrap();
        let text = String::from_utf8_lossy(&message.formatted()).into_owned();
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(text.contains("text/plain"), "{text}");
        assert!(text.contains("text/html"), "{text}");
        assert!(
            text.contains("To: \"Ana\" <ana@example.com>")
                || text.contains("To: Ana <ana@example.com>"),
            "{text}"
        );
    }

    #[test]
    fn a_recipient_that_is_not_an_address_cannot_be_built() {
        let from: Mailbox = "no-reply@example.com".parse().unwrap();
        let mut bad = email();
        bad.to = "not an address".into();
        assert!(matches!(
            build_message(&from, &bad),
            Err(SendError::Address(_))
        ));
    }

    #[tokio::test]
    async fn the_log_backend_accepts_every_email() {
        let mailer = LogMailer::new("no-reply@example.com".parse().unwrap());
        assert!(mailer.send(&email()).await.is_ok());
    }
}

/// An address as the log shows it: its first character and its domain (`a***@example.com`),
/// enough to tell messages apart, not enough to keep a person's address in the log.
fn masked(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod masking_tests {
    #[test]
    fn the_log_shows_an_address_masked() {
        assert_eq!(super::masked("joaquina@example.com"), "j***@example.com");
        assert_eq!(super::masked("nothing"), "***");
    }
}
