//! E-mail through an SMTP relay with lettre (tokio, rustls).
//!
//! The URL decides the transport security, as lettre's `from_url` reads it:
//! - `smtps://host[:465]`: implicit TLS (the connection is TLS from its first byte);
//! - `smtp://host[:587]?tls=required`: STARTTLS, and the session fails if the relay does not
//!   offer it;
//! - `smtp://host[:25]`: clear text, for a relay on the same host or private network only
//!   (and for the tests' server);
//!
//! with `user:password@` for AUTH. No connection pool: messages are few, and each attempt then
//! succeeds or fails on its own connection.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::error::{NotificationsError, SendError};
use super::mailer::{Mailer, build_message};
use super::model::Email;
use crate::ports::BoxFuture;

/// Sends through one SMTP relay.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    /// The transport holds the relay's credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for the relay at `url`, sending as `from`; a session longer than `timeout` fails.
    pub fn new(url: &str, from: Mailbox, timeout: Duration) -> Result<Self, NotificationsError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(NotificationsError::Smtp)?
            .timeout(Some(timeout))
            .build();
        Ok(SmtpMailer { transport, from })
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let message = build_message(&self.from, email)?;
            self.transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(SendError::Smtp)
        })
    }
}
