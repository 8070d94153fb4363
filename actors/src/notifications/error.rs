//! Everything the notifications service can refuse or fail with, and why one attempt failed.

use storage::StorageError;

use crate::ask::AskError;
use crate::domain::InvalidField;
use crate::error_kind::{ErrorKind, Kinded};

/// Why a notifications request did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum NotificationsError {
    /// A field of the message cannot be sent (an address that is not one, an empty key).
    #[error("invalid message: {0}")]
    Invalid(InvalidField),
    /// A webhook was asked for while `notify.webhook_url` is empty: nobody would receive it.
    #[error("operator webhooks are not configured (notify.webhook_url)")]
    WebhooksOff,
    /// The SMTP relay's URL could not be turned into a transport at start.
    #[error("the SMTP relay is not usable")]
    Smtp(#[source] lettre::transport::smtp::Error),
    /// The HTTP client of the webhooks could not be built at start.
    #[error("the webhook client could not be built")]
    WebhookClient(#[source] reqwest::Error),
    /// No message has this id (never queued, purged, or erased with its customer).
    #[error("no message {0}")]
    NotFound(uuid::Uuid),
    /// Only a given-up message can be put back in the queue.
    #[error("message {id} is {} (only a given-up message can be retried)", state.as_str())]
    NotGivenUp {
        /// The message.
        id: uuid::Uuid,
        /// Its state.
        state: super::model::MessageState,
    },
    /// The customers service did not say where to write (it retries with the event).
    #[error("the contact of a customer could not be read")]
    Contact(#[source] AskError),
    /// The delivery loop did not answer.
    #[error(transparent)]
    Ask(#[from] AskError),
    /// The notifications store failed.
    #[error("the notifications store failed")]
    Storage(#[from] StorageError),
}

impl Kinded for NotificationsError {
    fn kind(&self) -> ErrorKind {
        match self {
            NotificationsError::Invalid(_) => ErrorKind::Invalid,
            NotificationsError::WebhooksOff | NotificationsError::NotGivenUp { .. } => {
                ErrorKind::InvalidState
            }
            NotificationsError::NotFound(_) => ErrorKind::NotFound,
            NotificationsError::Contact(error) => error.kind(),
            NotificationsError::Smtp(_) | NotificationsError::WebhookClient(_) => {
                ErrorKind::Internal
            }
            NotificationsError::Ask(error) => error.kind(),
            NotificationsError::Storage(error) => error.kind(),
        }
    }
}

/// Why one attempt to send a message failed. Every cause is retried: a relay or an endpoint
/// that refuses today may accept tomorrow, and the attempt budget bounds the cost.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The e-mail could not be put together (an address lettre does not accept).
    #[error("the e-mail could not be built")]
    Build(#[source] lettre::error::Error),
    /// The recipient is not an address.
    #[error("the recipient is not an address")]
    Address(#[source] lettre::address::AddressError),
    /// The SMTP session failed (connection refused, a 4xx or 5xx reply, TLS).
    #[error("the SMTP session failed")]
    Smtp(#[source] lettre::transport::smtp::Error),
    /// The webhook request did not get an answer.
    #[error("the webhook request failed")]
    Http(#[source] reqwest::Error),
    /// The webhook endpoint answered, but not with 2xx.
    #[error("the webhook endpoint answered {0}")]
    Status(u16),
    /// The customer's address could not be had: erased, unknown, or the customers service did
    /// not answer.
    #[error("the customer's address is not available: {0}")]
    Recipient(String),
    /// A webhook is queued but webhooks are no longer configured.
    #[error("operator webhooks are not configured")]
    WebhooksOff,
    /// The attempt took longer than `notify.send_timeout_s`.
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
}
