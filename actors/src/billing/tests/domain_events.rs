//! The events a charge writes into the billing store's outbox, on a whole billing service: one
//! per change the ledger records, with the figures of that change.

use super::*;
use crate::domain::Cents;
use crate::events::{DomainEvent, EventData};

/// The events written about reservation `id`, in outbox order.
fn written(f: &Fixture, id: ReservationId) -> Vec<EventData> {
    let events: Vec<(u64, DomainEvent)> = f.store.outbox().peek(10_000).unwrap();
    events
        .into_iter()
        .map(|(_, event)| event)
        .filter(|event| event.subjects.reservation_id == Some(id))
        .inspect(|event| assert_eq!(event.source, "billing"))
        .map(|event| event.data)
        .collect()
}

fn held(amount: i64) -> EventData {
    EventData::ChargeHeld {
        amount_cents: Cents::new(amount),
    }
}

fn captured(captured: i64, extra: i64, released: i64) -> EventData {
    EventData::ChargeCaptured {
        captured_cents: Cents::new(captured),
        extra_cents: Cents::new(extra),
        released_cents: Cents::new(released),
    }
}

#[tokio::test]
async fn a_rental_tells_its_hold_then_one_capture_with_the_overtime_beyond_it() {
    let f = fixture().await;
    let (id, _) = f.hold(MASTERCARD, 10_000).await;
    assert_eq!(written(&f, id), [held(10_000)]);
    f.billing.settle(id, 13_500).await.unwrap();
    f.billing.settle(id, 13_500).await.unwrap();
    assert_eq!(
        written(&f, id),
        [held(10_000), captured(10_000, 3_500, 0)],
        "a settlement asked twice is told once"
    );
    let events: Vec<(u64, DomainEvent)> = f.store.outbox().peek(10).unwrap();
    let customer = f.tables_header(id).customer_id;
    assert!(
        events
            .iter()
            .all(|(_, event)| event.subjects.customer_id == Some(customer))
    );
}

#[tokio::test]
async fn an_extension_holds_again_and_the_settlement_releases_what_the_holds_did_not_need() {
    let f = fixture().await;
    let (id, _) = f.hold(VISA, 10_000).await;
    let token = f.token(VISA).await;
    f.billing.hold_more(id, token, 5_000).await.unwrap();
    f.billing.settle(id, 12_000).await.unwrap();
    assert_eq!(
        written(&f, id),
        [held(10_000), held(5_000), captured(12_000, 0, 3_000)]
    );
}

#[tokio::test]
async fn a_cancel_voids_and_a_no_show_fee_is_a_capture() {
    let f = fixture().await;
    let (cancelled, _) = f.hold(VISA, 10_000).await;
    f.billing.void(cancelled).await.unwrap();
    f.billing.void(cancelled).await.unwrap();
    assert_eq!(
        written(&f, cancelled),
        [
            held(10_000),
            EventData::ChargeVoided {
                released_cents: Cents::new(10_000)
            }
        ]
    );

    let (no_show, _) = f.hold(VISA, 10_000).await;
    f.billing.settle(no_show, 2_500).await.unwrap();
    assert_eq!(
        written(&f, no_show),
        [held(10_000), captured(2_500, 0, 7_500)]
    );
}

#[tokio::test]
async fn a_declined_hold_tells_nothing_and_a_refused_extra_is_refused() {
    let f = fixture().await;
    let (declined, _) = f.hold("4000000000000002", 10_000).await;
    assert_eq!(written(&f, declined), []);

    let (id, _) = f.hold(HOLDS_ONLY_CARD, 10_000).await;
    let refused = f.billing.settle(id, 14_000).await;
    assert!(
        matches!(refused, Err(BillingError::SettlementIncomplete { .. })),
        "{refused:?}"
    );
    assert_eq!(
        written(&f, id),
        [
            held(10_000),
            captured(10_000, 0, 0),
            EventData::ChargeRefused {
                amount_cents: Cents::new(4_000)
            }
        ]
    );
    let token = f.token(VISA).await;
    f.billing.collect_outstanding(id, token).await.unwrap();
    assert_eq!(written(&f, id).last(), Some(&captured(0, 4_000, 0)));
}

#[tokio::test]
async fn refunds_are_told_once_each_also_those_a_provider_reports_twice() {
    let f = fixture().await;
    let (id, _) = f.hold(VISA, 10_000).await;
    f.billing.settle(id, 10_000).await.unwrap();
    f.billing.refund(id, 1_000).await.unwrap();
    let payment = f.billing.ledger(id).await.unwrap()[0]
        .provider_ref
        .clone()
        .unwrap();
    let refunded = ProviderNotice {
        provider: "stripe".into(),
        event_id: "evt_1".into(),
        event: ProviderEvent::Refunded {
            payment: ProviderRef(payment),
            refunded_cents: 4_000,
        },
    };
    let first = f.billing.apply_provider_event(refunded.clone()).await;
    assert_eq!(first.unwrap(), EventOutcome::Applied);
    let replay = f.billing.apply_provider_event(refunded.clone()).await;
    assert_eq!(replay.unwrap(), EventOutcome::Duplicate);
    let restated = ProviderNotice {
        event_id: "evt_2".into(),
        ..refunded
    };
    let restated = f.billing.apply_provider_event(restated).await;
    assert_eq!(restated.unwrap(), EventOutcome::Unchanged);
    let refunds = |amount| EventData::ChargeRefunded {
        amount_cents: Cents::new(amount),
    };
    assert_eq!(
        written(&f, id),
        [
            held(10_000),
            captured(10_000, 0, 0),
            refunds(1_000),
            refunds(3_000)
        ]
    );
}
