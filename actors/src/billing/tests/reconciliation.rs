//! The daily reconciliation against the sandbox, on the service's clock.

use super::*;

#[tokio::test]
async fn the_daily_reconciliation_finds_a_payment_the_ledger_never_recorded() {
    let f = fixture().await;
    let (reservation, held) = f.hold(VISA, 6_000).await;
    held.expect("held");
    f.billing.settle(reservation, 5_000).await.expect("settled");
    let day = start_time().date_naive();
    let agreed = f.billing.reconcile_and_record(day).await.unwrap();
    assert!(agreed.provider_listed);
    assert_eq!((agreed.matched, agreed.differences.len()), (1, 0));
    assert_eq!(f.billing.reconciliation_differences().unwrap(), 0);

    // A sale made at the processor behind the ledger's back (its dashboard, a lost answer).
    let token = f.token(VISA).await;
    let stray = f
        .sandbox
        .charge(&token, 1_234, "made-elsewhere")
        .await
        .unwrap();
    let found = f.billing.reconcile_and_record(day).await.unwrap();
    assert_eq!(found.differences.len(), 1, "{found:?}");
    assert_eq!(found.differences[0].reference, stray.0);
    assert_eq!(found.differences[0].kind, DifferenceKind::MissingInLedger);
    assert_eq!(f.billing.reconciliation_report(day).unwrap(), Some(found));
    assert_eq!(f.billing.reconciliation_differences().unwrap(), 1);
}
