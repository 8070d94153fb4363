//! Operator refunds and the provider's events on a whole billing service (sandbox provider,
//! manual clock): idempotency by key through an outage, events found by the provider's
//! reference (also after a restart), applied once, and counted in the audit.

use super::tests::{Fixture, VISA, fixture};
use super::*;

fn order(amount_cents: i64, reason: &str, key: &str) -> RefundOrder {
    RefundOrder {
        amount_cents,
        reason: Some(reason.to_owned()),
        idempotency_key: Some(key.to_owned()),
    }
}

async fn captured(f: &Fixture, amount: i64) -> (ReservationId, String) {
    let (id, held) = f.hold(VISA, amount).await;
    held.unwrap();
    f.billing.settle(id, amount).await.unwrap();
    let hold_ref = f.billing.ledger(id).await.unwrap()[0]
        .provider_ref
        .clone()
        .unwrap();
    (id, hold_ref)
}

fn notice(event_id: &str, event: ProviderEvent) -> ProviderNotice {
    ProviderNotice {
        provider: "stripe".into(),
        event_id: event_id.into(),
        event,
    }
}

#[tokio::test]
async fn a_refund_the_outage_interrupted_completes_once_on_its_retry_with_the_same_key() {
    let f = fixture().await;
    let (id, _) = captured(&f, 10_000).await;
    f.billing.provider_outage().set_down(true);
    let refused = f
        .billing
        .refund_order(id, order(2_500, "late car", "k1"))
        .await;
    assert!(
        matches!(
            refused,
            Err(BillingError::Provider(PaymentError::Unavailable(_)))
        ),
        "{refused:?}"
    );
    assert_eq!(
        crate::error_kind::Kinded::kind(&refused.unwrap_err()),
        crate::ErrorKind::Unavailable
    );
    f.billing.provider_outage().set_down(false);
    let done = f
        .billing
        .refund_order(id, order(2_500, "late car", "k1"))
        .await
        .unwrap();
    assert_eq!(done.refunded_cents, 2_500);
    let again = f
        .billing
        .refund_order(id, order(2_500, "late car", "k1"))
        .await
        .unwrap();
    assert_eq!(again.refunded_cents, 2_500, "the same key refunds once");
    let mismatch = f
        .billing
        .refund_order(id, order(2_500, "other", "k1"))
        .await;
    assert!(matches!(mismatch, Err(BillingError::IdempotencyMismatch)));
    let ledger = f.billing.ledger(id).await.unwrap();
    let refund = ledger.last().unwrap();
    assert_eq!(
        (refund.kind, refund.amount_cents, refund.note.as_deref()),
        (EntryKind::Refund, 2_500, Some("late car"))
    );
    let audit = f.billing.audit().await.unwrap();
    assert_eq!(audit.events.get("operator_refund"), Some(&1));
    assert!(audit.violations.is_empty(), "{:?}", audit.violations);
}

#[tokio::test]
async fn provider_events_are_found_by_reference_applied_once_and_audited() {
    let f = fixture().await;
    let (id, payment) = captured(&f, 10_000).await;
    f.billing.refund(id, 1_000).await.unwrap();
    let refunded = |total, event_id: &str| {
        notice(
            event_id,
            ProviderEvent::Refunded {
                payment: ProviderRef(payment.clone()),
                refunded_cents: total,
            },
        )
    };
    let ours = f.billing.apply_provider_event(refunded(1_000, "e1")).await;
    assert_eq!(ours.unwrap(), EventOutcome::Unchanged, "our own refund");
    let outside = f.billing.apply_provider_event(refunded(4_000, "e2")).await;
    assert_eq!(outside.unwrap(), EventOutcome::Applied);
    let replay = f.billing.apply_provider_event(refunded(4_000, "e2")).await;
    assert_eq!(replay.unwrap(), EventOutcome::Duplicate);
    let restated = f.billing.apply_provider_event(refunded(4_000, "e3")).await;
    assert_eq!(restated.unwrap(), EventOutcome::Unchanged);
    assert_eq!(
        f.billing.summary(id).await.unwrap().unwrap().refunded_cents,
        4_000
    );

    // The index and the processed events survive a restart.
    let f = f.restart().await;
    let dispute = |event_id: &str| {
        notice(
            event_id,
            ProviderEvent::DisputeOpened {
                payment: ProviderRef(payment.clone()),
                dispute_id: "dp_1".into(),
                amount_cents: 6_000,
                reason: "fraudulent".into(),
            },
        )
    };
    assert_eq!(
        f.billing.apply_provider_event(dispute("e4")).await.unwrap(),
        EventOutcome::Applied
    );
    assert_eq!(
        f.billing.apply_provider_event(dispute("e5")).await.unwrap(),
        EventOutcome::Unchanged,
        "the same dispute told again"
    );
    assert_eq!(
        f.billing
            .apply_provider_event(refunded(4_000, "e2"))
            .await
            .unwrap(),
        EventOutcome::Duplicate
    );
    let unknown = notice(
        "e6",
        ProviderEvent::HoldCancelled {
            hold: ProviderRef("pi_unknown".into()),
            reason: None,
        },
    );
    assert_eq!(
        f.billing.apply_provider_event(unknown).await.unwrap(),
        EventOutcome::UnknownPayment
    );
    let audit = f.billing.audit().await.unwrap();
    assert_eq!(audit.events.get("provider_refund"), Some(&1));
    assert_eq!(audit.incidents.get("payment_dispute"), Some(&1));
    assert!(audit.violations.is_empty(), "{:?}", audit.violations);
}

#[tokio::test]
async fn a_hold_cancelled_at_the_provider_is_voided_in_the_ledger_only_while_open() {
    let f = fixture().await;
    let (id, held) = f.hold(VISA, 8_000).await;
    held.unwrap();
    let hold = f.billing.ledger(id).await.unwrap()[0]
        .provider_ref
        .clone()
        .unwrap();
    let cancelled = |event_id: &str| {
        notice(
            event_id,
            ProviderEvent::HoldCancelled {
                hold: ProviderRef(hold.clone()),
                reason: Some("expired".into()),
            },
        )
    };
    assert_eq!(
        f.billing
            .apply_provider_event(cancelled("c1"))
            .await
            .unwrap(),
        EventOutcome::Applied
    );
    let summary = f.billing.summary(id).await.unwrap().unwrap();
    assert_eq!(summary.status, ChargeStatus::Voided);
    assert!(f.billing.unresolved().unwrap().is_empty());
    assert_eq!(
        f.billing
            .apply_provider_event(cancelled("c2"))
            .await
            .unwrap(),
        EventOutcome::Unchanged
    );
    let (captured_id, captured_hold) = captured(&f, 5_000).await;
    let late = notice(
        "c3",
        ProviderEvent::HoldCancelled {
            hold: ProviderRef(captured_hold),
            reason: None,
        },
    );
    assert_eq!(
        f.billing.apply_provider_event(late).await.unwrap(),
        EventOutcome::Unchanged,
        "a captured hold is not voided by a late cancellation"
    );
    assert_eq!(
        f.billing
            .summary(captured_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        ChargeStatus::Captured
    );
}

#[tokio::test]
async fn a_notification_not_applied_is_recorded_and_deduplicated() {
    let f = fixture().await;
    let first = f
        .billing
        .record_provider_notification("mercadopago", "112233")
        .await
        .unwrap();
    assert_eq!(first, EventOutcome::Ignored);
    let again = f
        .billing
        .record_provider_notification("mercadopago", "112233")
        .await
        .unwrap();
    assert_eq!(again, EventOutcome::Duplicate);
    let other_provider = f
        .billing
        .record_provider_notification("stripe", "112233")
        .await
        .unwrap();
    assert_eq!(other_provider, EventOutcome::Ignored);
}

#[test]
fn a_payments_state_says_in_events_what_changed_at_the_provider() {
    let state = |voided: bool, refunded: i64, disputed: bool| PaymentState {
        payment: ProviderPayment {
            reference: "130".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            authorized_cents: 6_000,
            captured_cents: if voided { 0 } else { 6_000 },
            refunded_cents: refunded,
            voided,
        },
        disputed,
        detail: Some("expired".into()),
    };
    let reference = ProviderRef("130".into());
    assert_eq!(events_of(&state(false, 0, false)), []);
    assert_eq!(
        events_of(&state(true, 0, false)),
        [ProviderEvent::HoldCancelled {
            hold: reference.clone(),
            reason: Some("expired".into())
        }]
    );
    assert_eq!(
        events_of(&state(false, 1_500, true)),
        [
            ProviderEvent::Refunded {
                payment: reference.clone(),
                refunded_cents: 1_500
            },
            ProviderEvent::DisputeOpened {
                payment: reference,
                dispute_id: "130:dispute".into(),
                amount_cents: 6_000,
                reason: "expired".into()
            }
        ]
    );
}
