//! Profiles over time: updates, erasure, what reaches the disk, restarts, listings.

use std::path::Path;

use super::*;

#[tokio::test]
async fn updates_validate_move_the_email_and_refuse_a_taken_one() {
    let f = fixture().await;
    let ana = f.register_confirmed(ana()).await;
    let bia = f
        .customers
        .register(new_customer(&cpf(2), "bia@example.com"))
        .await
        .unwrap();

    let mut taken = CustomerPatch {
        email: Some("BIA@example.com".into()),
        name: Some("Ana Maria Souza".into()),
        ..CustomerPatch::default()
    };
    for (given, reason) in [
        (None, "required"),
        (Some("senha errada 1"), "does not match"),
    ] {
        taken.current_password = given.map(String::from);
        let Err(CustomersError::Invalid(errors)) =
            f.customers.update(ana.id, taken.clone(), None).await
        else {
            panic!("a new e-mail without the password in use");
        };
        assert_eq!(errors[0].field, "current_password");
        assert!(errors[0].reason.contains(reason), "{errors:?}");
    }
    taken.current_password = Some("senha segura 42".into());
    assert!(matches!(
        f.customers.update(ana.id, taken, None).await,
        Err(CustomersError::Conflict { field: "email" })
    ));
    assert_eq!(f.customers.get(ana.id).await.unwrap().name, "Ana Souza");

    let invalid = CustomerPatch {
        email: Some("nope".into()),
        phone: Some("1".into()),
        password: Some("short1".into()),
        ..CustomerPatch::default()
    };
    let Err(CustomersError::Invalid(errors)) = f.customers.update(ana.id, invalid, None).await
    else {
        panic!("expected Invalid");
    };
    assert_eq!(
        errors.iter().map(|error| error.field).collect::<Vec<_>>(),
        ["email", "phone", "password"]
    );

    let patch = CustomerPatch {
        email: Some("ana.souza@example.com".into()),
        password: Some("nova senha 7".into()),
        current_password: Some("senha segura 42".into()),
        card: Some(
            CardInput {
                number: "5555 5555 5555 4444".into(),
                exp_month: 3,
                exp_year: 2031,
                cvc: "321".into(),
                holder_name: "ANA SOUZA".into(),
            }
            .into(),
        ),
        ..CustomerPatch::default()
    };
    let old_token = f.customers.payment_token(ana.id).await.unwrap();
    let updated = f.customers.update(ana.id, patch, None).await.unwrap();
    // The new address is the login once its code is confirmed.
    assert_eq!(updated.email.as_deref(), Some("ana@example.com"));
    let (code, _) = f.code(ana.id);
    let updated = f.customers.confirm_email(ana.id, &code).await.unwrap();
    assert_eq!(updated.email.as_deref(), Some("ana.souza@example.com"));
    let card = updated.card.unwrap();
    assert_eq!(
        (card.brand.as_str(), card.last4.as_str()),
        ("mastercard", "4444")
    );
    assert_ne!(f.customers.payment_token(ana.id).await.unwrap(), old_token);
    assert_eq!(
        f.customers.find_by_email("ana@example.com").await.unwrap(),
        None
    );
    assert_eq!(
        f.customers
            .authenticate("ana.souza@example.com", "nova senha 7")
            .await
            .unwrap(),
        ana.id
    );
    assert!(
        f.customers
            .authenticate("ana.souza@example.com", "senha segura 42")
            .await
            .is_err()
    );
    // The old e-mail is free again.
    let again = new_customer(&cpf(3), "ana@example.com");
    assert!(f.customers.register(again).await.is_ok());
    assert_eq!(f.customers.get(bia.id).await.unwrap(), bia);
}

#[tokio::test]
async fn erasure_waits_for_open_reservations_then_frees_the_documents() {
    let f = fixture().await;
    let customer = f.customers.register(ana()).await.unwrap();
    f.lookup.set_open(customer.id, true);
    assert!(matches!(
        f.customers.erase(customer.id).await,
        Err(CustomersError::OpenReservation)
    ));
    assert_eq!(f.customers.get(customer.id).await.unwrap(), customer);

    f.lookup.set_open(customer.id, false);
    let erased = f.customers.erase(customer.id).await.unwrap();
    assert_eq!(erased.status, CustomerStatus::Erased);
    assert_eq!(erased.name, "erased customer");
    assert_eq!(
        (
            erased.cpf,
            erased.cnh,
            erased.email,
            erased.phone,
            erased.card
        ),
        (None, None, None, None, None)
    );
    assert_eq!(erased.id, customer.id);
    let again = f.customers.erase(customer.id).await.unwrap();
    assert_eq!(again.status, CustomerStatus::Erased);

    assert!(matches!(
        f.customers
            .authenticate("ana@example.com", "senha segura 42")
            .await,
        Err(CustomersError::BadCredentials)
    ));
    assert!(matches!(
        f.customers.payment_token(customer.id).await,
        Err(CustomersError::Erased)
    ));
    let patch = CustomerPatch {
        name: Some("Ana".into()),
        ..CustomerPatch::default()
    };
    assert!(matches!(
        f.customers.update(customer.id, patch, None).await,
        Err(CustomersError::Erased)
    ));
    // The person may register again, with the same CPF and e-mail.
    let back = f.customers.register(ana()).await.unwrap();
    assert_ne!(back.id, customer.id);
    assert_eq!(
        f.customers.find_by_email("ana@example.com").await.unwrap(),
        Some(back.id)
    );
}

fn files_contain(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_contain(&path, needle)
        } else {
            let bytes = std::fs::read(&path).unwrap();
            bytes.windows(needle.len()).any(|window| window == needle)
        }
    })
}

#[tokio::test]
async fn the_card_number_is_stored_nowhere() {
    let f = fixture().await;
    let customer = f.customers.register(ana()).await.unwrap();
    let view = format!("{customer:?}");
    assert!(!view.contains(CARD) && view.contains("1111"));
    let record = f.customers.tables.get(customer.id).unwrap().unwrap();
    assert_eq!(record.card.map(|card| card.last4), Some("1111".to_owned()));

    let f = f.restart().await; // everything flushed and closed
    let dir = f.dir.path();
    assert!(
        files_contain(dir, b"$argon2id$"),
        "the scan sees stored data (the password hash)"
    );
    // Sealed under the customer's key, found through blind indexes: no document in the clear.
    for personal in [
        &b"52998224725"[..],
        b"79143829831",
        b"5548999991234",
        b"ana@example.com",
        b"Ana Souza",
    ] {
        assert!(
            !files_contain(dir, personal),
            "{} is on the disk in the clear",
            String::from_utf8_lossy(personal)
        );
    }
    assert!(
        !files_contain(dir, CARD.as_bytes()),
        "the card number was stored"
    );
    assert!(
        !files_contain(dir, b"4111 1111"),
        "the card number was stored"
    );
    assert!(
        !files_contain(dir, b"senha segura 42"),
        "the password was stored"
    );
}

#[tokio::test]
async fn accounts_survive_reopening_the_store() {
    let f = fixture().await;
    let ana = f.register_confirmed(ana()).await;
    let bia = f
        .customers
        .register(new_customer(&cpf(4), "bia@example.com"))
        .await
        .unwrap();
    f.customers.erase(bia.id).await.unwrap();

    let f = f.restart().await;
    assert_eq!(f.customers.get(ana.id).await.unwrap(), ana);
    assert_eq!(
        f.customers.get(bia.id).await.unwrap().status,
        CustomerStatus::Erased
    );
    assert_eq!(
        f.customers
            .authenticate("ana@example.com", "senha segura 42")
            .await
            .unwrap(),
        ana.id
    );
    assert!(f.customers.payment_token(ana.id).await.is_ok());
    assert!(matches!(
        f.customers
            .register(new_customer("52998224725", "x@example.com"))
            .await,
        Err(CustomersError::Conflict { field: "cpf" })
    ));
    assert!(
        f.customers
            .register(new_customer(&cpf(4), "bia@example.com"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn listing_pages_in_creation_order() {
    let f = fixture().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let email = format!("c{n}@example.com");
        ids.push(
            f.customers
                .register(new_customer(&cpf(20 + n), &email))
                .await
                .unwrap()
                .id,
        );
    }
    let first = f.customers.list(2, None).await.unwrap();
    assert_eq!(
        first.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        ids[..2]
    );
    let second = f.customers.list(2, first.next_cursor).await.unwrap();
    assert_eq!(
        second.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        ids[2..4]
    );
    let last = f.customers.list(2, second.next_cursor).await.unwrap();
    assert_eq!(
        last.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        ids[4..]
    );
    assert_eq!(last.next_cursor, None);
}

#[tokio::test]
async fn erasure_needs_the_reservations_service() {
    let f = fixture().await;
    let customer = f.customers.register(ana()).await.unwrap();
    let unbound = CustomersHandle {
        reservations: LateBound::new("reservations"),
        ..f.customers.clone()
    };
    assert!(matches!(
        unbound.erase(customer.id).await,
        Err(CustomersError::Ask(AskError::Unavailable { .. }))
    ));
    assert!(matches!(
        f.customers.erase(CustomerId::new()).await,
        Err(CustomersError::NotFound)
    ));
}
