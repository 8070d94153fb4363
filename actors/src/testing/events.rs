//! A subscriber that remembers every event relayed to it, for tests that check what the system
//! said happened, in which order, with which figures.

use std::sync::{Arc, Mutex};

use crate::events::{DomainEvent, EventData, EventSubscriber, SubscriberError};
use crate::ids::ReservationId;
use crate::ports::BoxFuture;

/// Records relayed events (a redelivered event is recorded again: tests can see duplicates).
#[derive(Clone, Default)]
pub struct EventRecorder {
    events: Arc<Mutex<Vec<DomainEvent>>>,
}

impl EventRecorder {
    /// Every event recorded, in arrival order.
    pub fn all(&self) -> Vec<DomainEvent> {
        self.events
            .lock()
            .map(|events| events.clone())
            .unwrap_or_default()
    }

    /// The types of the events recorded, in arrival order.
    pub fn types(&self) -> Vec<&'static str> {
        self.all().iter().map(DomainEvent::type_name).collect()
    }

    /// The events about one reservation, in arrival order.
    pub fn of_reservation(&self, reservation: ReservationId) -> Vec<DomainEvent> {
        self.all()
            .into_iter()
            .filter(|event| event.subjects.reservation_id == Some(reservation))
            .collect()
    }

    /// The payloads of the events of `type_name`, in arrival order.
    pub fn data_of(&self, type_name: &str) -> Vec<EventData> {
        self.all()
            .into_iter()
            .filter(|event| event.type_name() == type_name)
            .map(|event| event.data)
            .collect()
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        if let Ok(mut events) = self.events.lock() {
            events.clear();
        }
    }
}

impl EventSubscriber for EventRecorder {
    fn name(&self) -> &'static str {
        "test recorder"
    }

    fn deliver<'a>(
        &'a self,
        events: &'a [DomainEvent],
    ) -> BoxFuture<'a, Result<(), SubscriberError>> {
        Box::pin(async move {
            if let Ok(mut recorded) = self.events.lock() {
                recorded.extend_from_slice(events);
            }
            Ok(())
        })
    }
}
