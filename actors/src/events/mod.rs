//! Domain events and their way out of each service: the transactional outbox and the relay.
//!
//! A service that changes state appends the events the change causes to its store's outbox
//! ([`storage::Outbox`]) in the same transaction as the change ([`append`]), so the event exists
//! if and only if the change does. The [`EventRelay`] moves committed events to every
//! [`EventSubscriber`] (the notifications service, the operator's event log and the reports),
//! in order per store and at least once; subscribers deduplicate by [`DomainEvent::id`]. No
//! subscriber reads another service's store: everything it learns comes in these messages.

mod model;
mod relay;

pub use model::{DomainEvent, EventData, Place, Subjects};
pub use relay::{EventRelay, EventSubscriber, RelayError, RelayOptions, SubscriberError};

use storage::{Outbox, Tx, TxOpError};

/// Appends `events` to `outbox` inside the running transaction `tx` (the outbox must be among
/// the transaction's members: [`Outbox::member`]).
pub fn append(outbox: &Outbox, tx: &Tx<'_>, events: &[DomainEvent]) -> Result<(), TxOpError> {
    for event in events {
        outbox.append(tx, event)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
