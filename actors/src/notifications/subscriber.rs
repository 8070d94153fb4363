//! The notifications service as a subscriber of the domain events: every public event becomes
//! an operator webhook, and the events a customer must hear of become e-mails in their
//! language.
//!
//! Every message is durably queued before [`EventSubscriber::deliver`] answers `Ok`, so the
//! relay removes an event only once what it causes is on disk. A redelivered event queues
//! nothing new: its messages are keyed by the event id (a reminder by its reservation) and the
//! queue deduplicates per channel and key. The contact is asked from the customers service at
//! intake; an unknown or erased customer gets nothing.

use std::sync::Arc;

use super::intents::{self, Intent, MailIntent};
use super::model::{Channel, Email};
use super::{NotificationsError, NotificationsHandle};
use crate::ask::{ASK_TIMEOUT, AskError};
use crate::error_kind::with_causes;
use crate::events::{DomainEvent, EventData, EventSubscriber, SubscriberError};
use crate::ports::{BoxFuture, ContactLookup};

/// The subscriber that turns relayed events into queued messages.
pub struct EventMessages {
    notifications: NotificationsHandle,
    contacts: Arc<dyn ContactLookup>,
    /// One batch at a time, whatever store it comes from: a message whose contact was read
    /// just before the customer's erasure is then queued before the erasure's event is taken
    /// in, so the erasure finds it and deletes it instead of racing past it.
    intake: tokio::sync::Mutex<()>,
}

impl EventMessages {
    /// A subscriber queuing through `notifications` and asking `contacts` where to write.
    pub fn new(notifications: NotificationsHandle, contacts: Arc<dyn ContactLookup>) -> Self {
        notifications.bind_contacts(&contacts);
        EventMessages {
            notifications,
            contacts,
            intake: tokio::sync::Mutex::new(()),
        }
    }

    async fn take(&self, event: &DomainEvent) -> Result<(), NotificationsError> {
        let handle = &self.notifications;
        // Positions stay on the event stream: a webhook per car every few seconds would bury
        // the operators' endpoint under what the console shows live anyway.
        let position = matches!(event.data, EventData::VehicleMoved { .. });
        if event.data.is_public() && !position && handle.webhooks_enabled() {
            handle
                .enqueue_webhook(&event.id.to_string(), event.type_name(), &event.to_json())
                .await?;
        }
        let now = handle.inner.clock.now();
        for intent in intents::intents(event, now, handle.inner.reminder_before) {
            match intent {
                Intent::Erase(customer) => {
                    let erased = handle.erase_customer(customer).await?;
                    tracing::info!(%customer, erased, "messages of an erased customer deleted");
                }
                Intent::Withdraw(key) => {
                    handle.cancel(Channel::Email, &key).await?;
                }
                Intent::Mail(mail) => self.mail(event, mail).await?,
            }
        }
        Ok(())
    }

    async fn mail(
        &self,
        event: &DomainEvent,
        mail: MailIntent<'_>,
    ) -> Result<(), NotificationsError> {
        let lookup = self.contacts.contact(mail.customer, mail.to_new_address);
        let contact = tokio::time::timeout(ASK_TIMEOUT, lookup)
            .await
            .unwrap_or(Err(AskError::Timeout {
                actor: "customers (contact)".into(),
                timeout: ASK_TIMEOUT,
            }))
            .map_err(NotificationsError::Contact)?;
        let Some(contact) = contact else {
            tracing::debug!(event = %event.id, "no contact for the customer; nothing written");
            return Ok(());
        };
        let rendered = intents::render(
            &mail.mail,
            contact.locale,
            &contact.name,
            self.notifications.public_base_url(),
        );
        // Queued to the customer, not to the address: see `addressing`.
        let email = Email {
            to: super::addressing::recipient(mail.customer, mail.to_new_address),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
        };
        let queued = self
            .notifications
            .enqueue_customer_email(&mail.key, Some(mail.customer), email, mail.not_before)
            .await;
        match queued {
            Ok(_) => Ok(()),
            // An address the mailer cannot use will not get better by offering the event
            // again: the other messages of the batch must not wait on it.
            Err(NotificationsError::Invalid(field)) => {
                tracing::warn!(event = %event.id, %field, "e-mail not queued");
                Ok(())
            }
            Err(error) => Err(error),
        }
    }
}

impl EventSubscriber for EventMessages {
    fn name(&self) -> &'static str {
        "notifications"
    }

    fn deliver<'a>(
        &'a self,
        events: &'a [DomainEvent],
    ) -> BoxFuture<'a, Result<(), SubscriberError>> {
        Box::pin(async move {
            let _turn = self.intake.lock().await;
            for event in events {
                self.take(event).await.map_err(|error| SubscriberError {
                    reason: format!(
                        "event {} ({}): {}",
                        event.id,
                        event.type_name(),
                        with_causes(&error)
                    ),
                    source: Some(Box::new(error)),
                })?;
            }
            Ok(())
        })
    }
}
