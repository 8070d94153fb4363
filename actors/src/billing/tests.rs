//! Billing as a service: started on a temporary store with the sandbox processor and a manual
//! clock, driven through its handle.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use storage::{StorageConfig, Store};

use super::*;
use crate::clock::ManualClock;
use crate::domain::{CardExpiry, CardNumber, Cvc};
use crate::ids::CustomerId;

mod domain_events;
mod erasure;
mod reconciliation;
mod rental_events;

struct Root;

impl Actor for Root {
    type Msg = ();
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<()>, _: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }
}

pub(super) struct Fixture {
    dir: tempfile::TempDir,
    root: ActorRef<()>,
    store: Store,
    sandbox: SandboxProvider,
    pub(super) billing: BillingHandle,
}

fn start_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

fn storage_config(dir: &std::path::Path) -> StorageConfig {
    StorageConfig {
        data_dir: dir.to_owned(),
        cache_capacity_mb: 4,
        flush_every_ms: 50,
        commit_window_us: 1_000,
        ..StorageConfig::default()
    }
}

async fn launch(dir: tempfile::TempDir) -> Fixture {
    let store = Store::open(&storage_config(dir.path()), "billing").unwrap();
    let clock = Arc::new(ManualClock::new(start_time()));
    // The processor keeps the service's time, so that a day means the same to both.
    let sandbox = SandboxProvider::open(&store)
        .unwrap()
        .with_clock(clock.clone());
    let (root, _) = Actor::spawn(None, Root, ()).await.unwrap();
    let billing = start(
        store.clone(),
        Arc::new(sandbox.clone()),
        clock,
        &Config::default(),
        Some(root.get_cell()),
    )
    .await
    .unwrap();
    Fixture {
        dir,
        root,
        store,
        sandbox,
        billing,
    }
}

pub(super) async fn fixture() -> Fixture {
    launch(tempfile::tempdir().unwrap()).await
}

impl Fixture {
    /// Stops every actor, closes the store and starts billing again on the same directory.
    pub(super) async fn restart(self) -> Fixture {
        let Fixture {
            dir,
            root,
            store,
            sandbox,
            billing,
        } = self;
        root.stop_children_and_wait(None, Some(Duration::from_secs(5)))
            .await;
        root.stop(None);
        store.close().unwrap();
        drop((store, sandbox, billing));
        tokio::time::sleep(Duration::from_millis(100)).await;
        launch(dir).await
    }

    async fn token(&self, number: &str) -> String {
        let number = CardNumber::parse(number).unwrap();
        let today = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let card = CardDetails {
            cvc: Cvc::parse("123", number.brand()).unwrap(),
            number,
            expiry: CardExpiry::new(12, 2030, today).unwrap(),
            holder_name: "ANA SOUZA".into(),
        };
        let key = CustomerId::new().to_string();
        self.billing.tokenize_card(card, key).await.unwrap().token
    }

    pub(super) async fn hold(
        &self,
        number: &str,
        amount_cents: i64,
    ) -> (ReservationId, Result<ChargeSummary, BillingError>) {
        let reservation_id = ReservationId::new();
        let request = HoldRequest {
            reservation_id,
            customer_id: CustomerId::new(),
            card_token: self.token(number).await,
            amount_cents,
        };
        (reservation_id, self.billing.hold(request).await)
    }

    async fn kinds(&self, id: ReservationId) -> Vec<(EntryKind, i64)> {
        let ledger = self.billing.ledger(id).await.unwrap();
        ledger
            .iter()
            .map(|entry| (entry.kind, entry.amount_cents))
            .collect()
    }
}

pub(super) const VISA: &str = "4111111111111111";
const MASTERCARD: &str = "5555555555554444";

#[tokio::test]
async fn a_hold_settled_for_exactly_its_amount_is_captured_whole() {
    let f = fixture().await;
    let (id, held) = f.hold(VISA, 10_000).await;
    let held = held.unwrap();
    assert_eq!(held.status, ChargeStatus::Held);
    assert_eq!((held.held_cents, held.captured_cents), (10_000, 0));
    assert_eq!(held.currency, "BRL");

    let settled = f.billing.settle(id, 10_000).await.unwrap();
    assert_eq!(settled.status, ChargeStatus::Captured);
    assert_eq!((settled.captured_cents, settled.charged_cents), (10_000, 0));
    assert_eq!(
        f.kinds(id).await,
        [(EntryKind::Hold, 10_000), (EntryKind::Capture, 10_000)]
    );
    let ledger = f.billing.ledger(id).await.unwrap();
    assert_eq!(
        ledger.iter().map(|entry| entry.seq).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(ledger.iter().all(|entry| entry.provider_ref.is_some()));
    assert_eq!(f.billing.summary(id).await.unwrap(), Some(settled));
}

#[tokio::test]
async fn overtime_above_the_hold_is_captured_then_charged() {
    let f = fixture().await;
    let (id, _) = f.hold(MASTERCARD, 10_000).await;
    let settled = f.billing.settle(id, 13_500).await.unwrap();
    assert_eq!(settled.status, ChargeStatus::Captured);
    assert_eq!(
        (settled.captured_cents, settled.charged_cents),
        (10_000, 3_500)
    );
    assert_eq!(
        f.kinds(id).await,
        [
            (EntryKind::Hold, 10_000),
            (EntryKind::Capture, 10_000),
            (EntryKind::Charge, 3_500)
        ]
    );
}

#[tokio::test]
async fn a_no_show_captures_the_fee_and_releases_the_rest() {
    let f = fixture().await;
    let (id, _) = f.hold(VISA, 10_000).await;
    let settled = f.billing.settle(id, 2_500).await.unwrap();
    assert_eq!((settled.captured_cents, settled.charged_cents), (2_500, 0));
    assert_eq!(
        f.kinds(id).await,
        [
            (EntryKind::Hold, 10_000),
            (EntryKind::Capture, 2_500),
            (EntryKind::Release, 7_500)
        ]
    );
}

#[tokio::test]
async fn a_cancelled_reservation_voids_its_hold() {
    let f = fixture().await;
    let (id, _) = f.hold(VISA, 10_000).await;
    let voided = f.billing.void(id).await.unwrap();
    assert_eq!(voided.status, ChargeStatus::Voided);
    assert_eq!(voided.captured_cents, 0);
    assert_eq!(
        f.kinds(id).await,
        [(EntryKind::Hold, 10_000), (EntryKind::Void, 10_000)]
    );
    assert!(matches!(
        f.billing.settle(id, 500).await,
        Err(BillingError::AlreadyResolved)
    ));
    assert_eq!(f.billing.settle(id, 0).await.unwrap(), voided);

    // A settlement of 0 is a void too.
    let (other, _) = f.hold(VISA, 4_000).await;
    let zero = f.billing.settle(other, 0).await.unwrap();
    assert_eq!(zero.status, ChargeStatus::Voided);
    assert!(matches!(
        f.billing.void(f.hold(VISA, 1).await.0).await,
        Ok(ChargeSummary {
            status: ChargeStatus::Voided,
            ..
        })
    ));
}

#[tokio::test]
async fn declined_and_poor_cards_are_refused_and_recorded() {
    let f = fixture().await;
    let (id, declined) = f.hold("4000000000000002", 10_000).await;
    assert!(
        matches!(&declined, Err(BillingError::Declined { reason }) if reason == "card declined"),
        "{declined:?}"
    );
    let summary = f.billing.summary(id).await.unwrap().unwrap();
    assert_eq!(
        (summary.status, summary.held_cents),
        (ChargeStatus::Declined, 0)
    );
    assert_eq!(f.kinds(id).await, [(EntryKind::HoldDeclined, 10_000)]);
    let note = f.billing.ledger(id).await.unwrap()[0].note.clone();
    assert!(note.unwrap().contains("card declined"));
    assert!(matches!(
        f.billing.settle(id, 100).await,
        Err(BillingError::NoHold)
    ));

    let (poor, refused) = f.hold("4000000000009995", 10_000).await;
    assert!(matches!(refused, Err(BillingError::InsufficientFunds)));
    assert_eq!(f.kinds(poor).await, [(EntryKind::HoldDeclined, 10_000)]);

    let unknown = HoldRequest {
        reservation_id: ReservationId::new(),
        customer_id: CustomerId::new(),
        card_token: "tok_forged".into(),
        amount_cents: 100,
    };
    assert!(matches!(
        f.billing.hold(unknown).await,
        Err(BillingError::UnknownCard)
    ));
    let zero = HoldRequest {
        amount_cents: 0,
        ..HoldRequest {
            reservation_id: ReservationId::new(),
            customer_id: CustomerId::new(),
            card_token: f.token(VISA).await,
            amount_cents: 0,
        }
    };
    assert!(matches!(
        f.billing.hold(zero).await,
        Err(BillingError::InvalidAmount)
    ));
}

#[tokio::test]
async fn repeated_operations_answer_the_same_without_acting_twice() {
    let f = fixture().await;
    let token = f.token(VISA).await;
    let request = HoldRequest {
        reservation_id: ReservationId::new(),
        customer_id: CustomerId::new(),
        card_token: token.clone(),
        amount_cents: 10_000,
    };
    let id = request.reservation_id;
    let first = f.billing.hold(request.clone()).await.unwrap();
    let again = f
        .billing
        .hold(HoldRequest {
            amount_cents: 99_999,
            ..request.clone()
        })
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(f.kinds(id).await, [(EntryKind::Hold, 10_000)]);

    let settled = f.billing.settle(id, 12_000).await.unwrap();
    assert_eq!(f.billing.settle(id, 12_000).await.unwrap(), settled);
    assert_eq!(
        f.billing.settle(id, 50_000).await.unwrap(),
        settled,
        "the first total stands"
    );
    assert_eq!(f.kinds(id).await.len(), 3);
    assert!(matches!(
        f.billing.void(id).await,
        Err(BillingError::AlreadyResolved)
    ));

    let (voided, _) = f.hold(VISA, 5_000).await;
    let first_void = f.billing.void(voided).await.unwrap();
    assert_eq!(f.billing.void(voided).await.unwrap(), first_void);
    assert_eq!(f.kinds(voided).await.len(), 2);

    // Declines are idempotent too.
    let (declined, _) = f.hold("4000000000000002", 10_000).await;
    let retry = f.billing.hold(HoldRequest {
        reservation_id: declined,
        customer_id: CustomerId::new(),
        card_token: token,
        amount_cents: 10_000,
    });
    assert!(matches!(retry.await, Err(BillingError::Declined { .. })));
    assert_eq!(f.kinds(declined).await.len(), 1);
}

#[tokio::test]
async fn a_step_done_at_the_provider_before_a_crash_is_recorded_once_on_retry() {
    let f = fixture().await;
    let (id, _) = f.hold(VISA, 10_000).await;
    let hold_ref = f.billing.ledger(id).await.unwrap()[0]
        .provider_ref
        .clone()
        .unwrap();
    // The capture reached the processor, then the process died before the append.
    let hold_ref = ProviderRef(hold_ref);
    f.sandbox
        .capture(&hold_ref, 6_000, &format!("{id}:capture"))
        .await
        .unwrap();
    let settled = f.billing.settle(id, 6_000).await.unwrap();
    assert_eq!(settled.captured_cents, 6_000);
    assert_eq!(
        f.kinds(id).await,
        [
            (EntryKind::Hold, 10_000),
            (EntryKind::Capture, 6_000),
            (EntryKind::Release, 4_000)
        ]
    );
    // A capture under a new key would be refused: the processor captured only once.
    assert!(f.sandbox.capture(&hold_ref, 6_000, "other").await.is_err());
}

#[tokio::test]
async fn refunds_come_from_the_capture_then_the_charge_and_are_bounded() {
    let f = fixture().await;
    let (id, _) = f.hold(VISA, 10_000).await;
    f.billing.settle(id, 13_000).await.unwrap();
    let refunded = f.billing.refund(id, 11_000).await.unwrap();
    assert_eq!(refunded.refunded_cents, 11_000);
    let kinds = f.kinds(id).await;
    assert_eq!(
        &kinds[3..],
        [(EntryKind::Refund, 10_000), (EntryKind::Refund, 1_000)]
    );
    assert!(matches!(
        f.billing.refund(id, 2_001).await,
        Err(BillingError::RefundExceedsPaid {
            refundable_cents: 2_000
        })
    ));
    assert!(matches!(
        f.billing.refund(id, 0).await,
        Err(BillingError::InvalidAmount)
    ));
    assert_eq!(
        f.billing.refund(id, 2_000).await.unwrap().refunded_cents,
        13_000
    );
    assert!(f.billing.audit().await.unwrap().violations.is_empty());
}

#[tokio::test]
async fn unknown_reservations_have_no_charge() {
    let f = fixture().await;
    let id = ReservationId::new();
    assert!(matches!(
        f.billing.settle(id, 100).await,
        Err(BillingError::NotFound)
    ));
    assert!(matches!(
        f.billing.void(id).await,
        Err(BillingError::NotFound)
    ));
    assert_eq!(f.billing.summary(id).await.unwrap(), None);
    assert!(f.billing.ledger(id).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_audit_finds_an_unresolved_hold() {
    let f = fixture().await;
    let (settled, _) = f.hold(VISA, 10_000).await;
    let (open, _) = f.hold(VISA, 8_000).await;
    let (_, _) = f.hold("4000000000000002", 8_000).await;
    f.billing.settle(settled, 9_000).await.unwrap();
    let audit = f.billing.audit().await.unwrap();
    assert_eq!(audit.charges, 3);
    assert_eq!(audit.unresolved_holds, [open]);
    assert!(audit.violations.is_empty(), "{:?}", audit.violations);
    f.billing.void(open).await.unwrap();
    assert!(f.billing.audit().await.unwrap().unresolved_holds.is_empty());
}

#[tokio::test]
async fn the_ledger_survives_a_restart() {
    let f = fixture().await;
    let (id, _) = f.hold(VISA, 10_000).await;
    let settled = f.billing.settle(id, 12_500).await.unwrap();
    let (open, _) = f.hold(VISA, 3_000).await;
    let before = f.billing.ledger(id).await.unwrap();

    let f = f.restart().await;
    assert_eq!(f.billing.ledger(id).await.unwrap(), before);
    assert_eq!(f.billing.summary(id).await.unwrap(), Some(settled.clone()));
    assert_eq!(f.billing.settle(id, 12_500).await.unwrap(), settled);
    // The sandbox's records survived too: the open hold can still be captured.
    let captured = f.billing.settle(open, 3_000).await.unwrap();
    assert_eq!(captured.captured_cents, 3_000);
}

impl Fixture {
    /// The charge header of `id` as stored.
    pub(super) fn tables_header(&self, id: ReservationId) -> model::ChargeHeader {
        self.billing.tables.charges.get(&id).unwrap().unwrap()
    }
}
