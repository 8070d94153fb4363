//! The confirmation codes the server e-mails, read from its relayed domain events, so that the
//! benchmarks' customers confirm their address as real ones do (the setting stays on: the
//! figures are the production path's).

use std::collections::HashMap;
use std::sync::Mutex;

use actors::events::{DomainEvent, EventData, EventSubscriber, SubscriberError};
use actors::ports::BoxFuture;

/// The latest code sent to each customer (by id, as the API writes it).
#[derive(Default)]
pub struct Inbox {
    codes: Mutex<HashMap<String, String>>,
}

impl Inbox {
    /// The latest code sent to `customer`, forgotten once read.
    pub fn take(&self, customer: &str) -> Option<String> {
        self.codes.lock().ok()?.remove(customer)
    }
}

impl EventSubscriber for Inbox {
    fn name(&self) -> &'static str {
        "bench inbox"
    }

    fn deliver<'a>(
        &'a self,
        events: &'a [DomainEvent],
    ) -> BoxFuture<'a, Result<(), SubscriberError>> {
        Box::pin(async move {
            for event in events {
                if let (EventData::ConfirmationRequested { code, .. }, Some(customer)) =
                    (&event.data, event.subjects.customer_id)
                    && let Ok(mut codes) = self.codes.lock()
                {
                    codes.insert(customer.to_string(), code.clone());
                }
            }
            Ok(())
        })
    }
}
