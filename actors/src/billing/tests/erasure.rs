//! Forgetting a customer: the money stays in the ledger, the person and the card go.

use super::*;

#[tokio::test]
async fn forgetting_a_customer_keeps_the_money_and_drops_the_person_and_the_card() {
    let f = fixture().await;
    let customer = CustomerId::new();
    let token = f.token(VISA).await;
    let mut ids = Vec::new();
    for amount in [10_000, 6_000] {
        let id = ReservationId::new();
        let request = HoldRequest {
            reservation_id: id,
            customer_id: customer,
            card_token: token.clone(),
            amount_cents: amount,
        };
        f.billing.hold(request).await.unwrap();
        ids.push(id);
    }
    // An open hold still needs the card: the erasure waits for its settlement.
    assert!(matches!(
        f.billing
            .forget_customer(customer, vec![token.clone()])
            .await,
        Err(BillingError::Unsettled)
    ));
    f.billing.settle(ids[0], 8_000).await.unwrap();
    f.billing.void(ids[1]).await.unwrap();
    let (other, _) = f.hold(MASTERCARD, 5_000).await;
    let before: Vec<_> = ids.iter().map(|id| f.tables_header(*id)).collect();

    let changed = f
        .billing
        .forget_customer(customer, vec![token.clone()])
        .await
        .unwrap();
    // Two headers, the card, its two payments and the three calls naming it.
    assert_eq!(changed, 2 + 1 + 2 + 3);
    let after: Vec<_> = ids.iter().map(|id| f.tables_header(*id)).collect();
    let pseudonym = after[0].customer_id;
    assert_ne!(pseudonym, customer);
    for (before, after) in before.iter().zip(&after) {
        assert_eq!(after.customer_id, pseudonym, "one pseudonym per erasure");
        assert_eq!(after.card_token, "");
        assert_eq!(
            (
                after.reservation_id,
                after.hold_cents,
                after.settle_total_cents
            ),
            (
                before.reservation_id,
                before.hold_cents,
                before.settle_total_cents
            )
        );
    }
    assert_eq!(
        f.billing
            .summary(ids[0])
            .await
            .unwrap()
            .unwrap()
            .captured_cents,
        8_000,
        "the amounts stay"
    );
    assert_ne!(
        f.tables_header(other).customer_id,
        pseudonym,
        "others untouched"
    );
    assert_eq!(
        f.billing
            .forget_customer(customer, vec![token.clone()])
            .await
            .unwrap(),
        0,
        "idempotent"
    );
    // The processor no longer knows the card.
    assert!(matches!(
        f.sandbox.authorize_hold(&token, 100, "after-erasure").await,
        Err(PaymentError::UnknownToken)
    ));
    // Durable: the same after a restart.
    let f = f.restart().await;
    assert_eq!(f.tables_header(ids[0]).customer_id, pseudonym);
    assert_eq!(f.tables_header(ids[1]).card_token, "");
}
