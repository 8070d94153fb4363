use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use storage::{StorageConfig, Store, TxAbort};

use super::*;
use crate::ids::CustomerId;

#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<DomainEvent>>,
    /// Refuses this many batches before taking one.
    refusals_left: AtomicUsize,
}

impl EventSubscriber for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    fn deliver<'a>(
        &'a self,
        events: &'a [DomainEvent],
    ) -> crate::ports::BoxFuture<'a, Result<(), SubscriberError>> {
        Box::pin(async move {
            if self
                .refusals_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok()
            {
                return Err(SubscriberError {
                    reason: "down".into(),
                    source: None,
                });
            }
            self.seen.lock().unwrap().extend_from_slice(events);
            Ok(())
        })
    }
}

fn store(dir: &std::path::Path, name: &str) -> Store {
    let config = StorageConfig {
        data_dir: dir.to_owned(),
        ..StorageConfig::default()
    };
    Store::open(&config, name).unwrap()
}

fn registered(customer: CustomerId) -> DomainEvent {
    DomainEvent::new(
        "customers",
        Utc::now(),
        Subjects::customer(customer),
        EventData::CustomerRegistered {
            pending_confirmation: true,
        },
    )
}

fn write_with_event(store: &Store, event: &DomainEvent) {
    let records = store.table::<CustomerId, u32>("records").unwrap();
    let outbox = store.outbox();
    store
        .transaction(&[&records, outbox.member()], |tx| {
            tx.table(&records)?
                .insert(&event.subjects.customer_id.unwrap(), &1)?;
            append(outbox, tx, std::slice::from_ref(event))?;
            Ok::<_, TxAbort<()>>(())
        })
        .unwrap();
}

#[tokio::test]
async fn every_subscriber_gets_each_store_s_events_in_order_and_the_outbox_empties() {
    let dir = tempfile::tempdir().unwrap();
    let first = store(dir.path(), "customers");
    let second = store(dir.path(), "vehicles");
    let relay = EventRelay::new(&[first.clone(), second.clone()], RelayOptions::default());
    let a = Arc::new(Recorder::default());
    let b = Arc::new(Recorder::default());
    relay.subscribe(a.clone());
    relay.subscribe(b.clone());
    let events: Vec<DomainEvent> = (0..300).map(|_| registered(CustomerId::new())).collect();
    for event in &events[..200] {
        write_with_event(&first, event);
    }
    for event in &events[200..] {
        write_with_event(&second, event);
    }
    assert_eq!(relay.pending(), 300);
    assert_eq!(relay.relay_now().await.unwrap(), 300);
    assert_eq!(relay.pending(), 0);
    for recorder in [&a, &b] {
        let seen = recorder.seen.lock().unwrap();
        assert_eq!(*seen, events, "store order, then the next store");
    }
    assert_eq!(
        relay.relay_now().await.unwrap(),
        0,
        "nothing is delivered twice"
    );
}

#[tokio::test]
async fn a_refused_batch_stays_and_is_offered_again_to_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path(), "customers");
    let relay = EventRelay::new(std::slice::from_ref(&store), RelayOptions::default());
    let steady = Arc::new(Recorder::default());
    let flaky = Arc::new(Recorder::default());
    flaky.refusals_left.store(1, Ordering::SeqCst);
    relay.subscribe(steady.clone());
    relay.subscribe(flaky.clone());
    let event = registered(CustomerId::new());
    write_with_event(&store, &event);
    let error = relay.relay_now().await.unwrap_err();
    assert!(matches!(
        error,
        RelayError::Subscriber {
            subscriber: "recorder",
            ..
        }
    ));
    assert_eq!(relay.pending(), 1, "kept for the next pass");
    assert_eq!(relay.relay_now().await.unwrap(), 1);
    assert_eq!(
        flaky.seen.lock().unwrap().as_slice(),
        std::slice::from_ref(&event)
    );
    // The subscriber that took it the first time sees it again, with the same id.
    let seen = steady.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].id, seen[1].id);
}

#[tokio::test]
async fn undelivered_events_survive_a_restart_of_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let event = registered(CustomerId::new());
    {
        let store = store(dir.path(), "customers");
        write_with_event(&store, &event);
        store.commit().await.unwrap();
        store.close().unwrap();
    }
    let store = store(dir.path(), "customers");
    let relay = EventRelay::new(&[store], RelayOptions::default());
    let recorder = Arc::new(Recorder::default());
    relay.subscribe(recorder.clone());
    assert_eq!(relay.relay_now().await.unwrap(), 1);
    assert_eq!(recorder.seen.lock().unwrap().as_slice(), [event]);
}

#[tokio::test]
async fn the_background_loop_delivers_what_a_commit_woke_it_for() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path(), "customers");
    let relay = EventRelay::new(std::slice::from_ref(&store), RelayOptions::default());
    let recorder = Arc::new(Recorder::default());
    relay.subscribe(recorder.clone());
    let tasks = relay.start();
    let event = registered(CustomerId::new());
    write_with_event(&store, &event);
    store.commit().await.unwrap();
    crate::testing::eventually("the event is relayed", || {
        let count = recorder.seen.lock().unwrap().len();
        async move { count == 1 }
    })
    .await;
    for task in tasks {
        task.abort();
    }
}

fn moved(vehicle: crate::ids::VehicleId) -> DomainEvent {
    DomainEvent::new(
        "location",
        Utc::now(),
        Subjects::vehicle(vehicle),
        EventData::VehicleMoved {
            lat: -27.59,
            lon: -48.55,
            speed_kmh: None,
            battery_pct: None,
            recorded_at: Utc::now(),
        },
    )
}

#[tokio::test]
async fn positions_alone_travel_without_a_flush_and_a_change_s_event_waits_for_one() {
    let dir = tempfile::tempdir().unwrap();
    // No periodic flush during the test: every flush counted is one the relay asked for.
    let config = StorageConfig {
        data_dir: dir.path().to_owned(),
        flush_every_ms: 3_600_000,
        ..StorageConfig::default()
    };
    let location = Store::open(&config, "location").unwrap();
    let relay = EventRelay::new(std::slice::from_ref(&location), RelayOptions::default());
    let recorder = Arc::new(Recorder::default());
    relay.subscribe(recorder.clone());
    let flushes = || location.flush_stats().flushes;

    let before = flushes();
    for _ in 0..3 {
        location
            .outbox()
            .append_alone(&moved(crate::ids::VehicleId::new()))
            .unwrap();
    }
    assert_eq!(relay.relay_now().await.unwrap(), 3);
    assert_eq!(flushes(), before, "a batch of positions waited for a flush");

    location
        .outbox()
        .append_alone(&moved(crate::ids::VehicleId::new()))
        .unwrap();
    write_with_event(&location, &registered(CustomerId::new()));
    assert_eq!(relay.relay_now().await.unwrap(), 2);
    assert!(
        flushes() > before,
        "a batch holding a change's event was delivered before it was on disk"
    );
    assert_eq!(recorder.seen.lock().unwrap().len(), 5);
}
