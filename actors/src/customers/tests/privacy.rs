//! Personal data at rest: sealed, erased for good, keys swept and rotated, sessions ended.

use super::*;
use crate::clock::Clock;
use crate::customers::stored;

fn keyed(key: u8, previous: &[u8]) -> Config {
    let mut config = Config::default();
    config.auth.data_key = hex::encode([key; 32]);
    config.auth.previous_data_keys = previous.iter().map(|key| hex::encode([*key; 32])).collect();
    config
}

#[tokio::test]
async fn erasure_destroys_the_key_so_old_copies_of_the_record_cannot_be_opened() {
    let f = fixture().await;
    let ana = f.customers.register(ana()).await.unwrap();
    // What sled may keep in an old log segment after the erasure overwrites the record.
    let before = f.customers.tables.customers.get(&ana.id).unwrap().unwrap();
    let slot = before.slot.unwrap();
    assert!(stored::open(before.clone(), &f.customers.tables.privacy).is_ok());

    f.customers.erase(ana.id).await.unwrap();
    assert!(matches!(
        stored::open(before.clone(), &f.customers.tables.privacy),
        Err(VaultError::NoKey(_))
    ));
    let vault = std::fs::read(f.dir.path().join(crate::customers::privacy::VAULT_FILE)).unwrap();
    assert!(
        vault[slot as usize * 128..][..128]
            .iter()
            .all(|byte| *byte == 0),
        "the key's slot is zeroed in the file"
    );
    // The CPF and e-mail are free again, and the erased record keeps only its id and debts.
    assert!(!f.customers.tables.cpf_taken("52998224725").unwrap());
    let f = f.restart().await;
    let erased = f.customers.get(ana.id).await.unwrap();
    assert_eq!(erased.status, CustomerStatus::Erased);
    assert_eq!((erased.email, erased.cpf), (None, None));
}

#[tokio::test]
async fn keys_no_record_names_are_destroyed_at_start() {
    let f = fixture().await;
    let ana = f.customers.register(ana()).await.unwrap();
    // A registration that stored its key and crashed before its record was committed.
    let orphan = CustomerId::new();
    let (slot, _) = f.customers.tables.privacy.new_key(orphan).unwrap();
    assert!(f.customers.tables.privacy.key(orphan, slot).is_ok());

    let f = f.restart().await;
    assert!(f.customers.tables.privacy.key(orphan, slot).is_err());
    assert_eq!(
        f.customers.get(ana.id).await.unwrap(),
        ana,
        "named keys stay"
    );
}

#[tokio::test]
async fn a_rotated_data_key_rewraps_every_key_and_moves_the_blind_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let f = launch_with(dir, keyed(1, &[])).await;
    let ana = f.customers.register(ana()).await.unwrap();

    // Without the key it was sealed under, nothing opens: the start fails.
    let f = f.restart_with(keyed(2, &[1])).await;
    assert_eq!(f.customers.get(ana.id).await.unwrap(), ana);
    assert_eq!(
        f.customers.find_by_email("ana@example.com").await.unwrap(),
        Some(ana.id)
    );
    assert!(matches!(
        f.customers
            .register(new_customer("52998224725", "other@example.com"))
            .await,
        Err(CustomersError::Conflict { field: "cpf" })
    ));

    // Once rotated, the old key is no longer needed.
    let f = f.restart_with(keyed(2, &[])).await;
    assert_eq!(f.customers.get(ana.id).await.unwrap(), ana);
    assert_eq!(
        f.customers
            .authenticate("ana@example.com", "senha segura 42")
            .await
            .unwrap(),
        ana.id
    );
}

#[tokio::test]
async fn a_password_change_ends_every_other_session() {
    let f = fixture().await;
    let ana = f.customers.register(ana()).await.unwrap();
    let principal = Principal::customer(ana.id);
    let ttl = chrono::Duration::days(30);
    let phone = f.customers.start_session(principal, ttl).await.unwrap();
    let laptop = f.customers.start_session(principal, ttl).await.unwrap();
    let stolen = f.customers.start_session(principal, ttl).await.unwrap();

    let patch = CustomerPatch {
        password: Some("outra senha 99".into()),
        current_password: Some("senha segura 42".into()),
        ..CustomerPatch::default()
    };
    f.customers
        .update(ana.id, patch, Some(phone.family))
        .await
        .unwrap();
    assert!(f.customers.rotate_session(&phone.token, ttl).await.is_ok());
    for ended in [laptop, stolen] {
        assert!(matches!(
            f.customers.rotate_session(&ended.token, ttl).await,
            Err(CustomersError::InvalidRefreshToken)
        ));
    }
    assert!(
        f.customers
            .login("ana@example.com", "senha segura 42", None)
            .await
            .is_err()
    );
    assert!(
        f.customers
            .login("ana@example.com", "outra senha 99", None)
            .await
            .is_ok()
    );

    // A change of name alone ends nothing.
    let other = f.customers.start_session(principal, ttl).await.unwrap();
    let patch = CustomerPatch {
        name: Some("Ana Maria Souza".into()),
        ..CustomerPatch::default()
    };
    f.customers.update(ana.id, patch, None).await.unwrap();
    assert!(f.customers.rotate_session(&other.token, ttl).await.is_ok());
}

#[tokio::test]
async fn expired_sessions_are_purged_with_their_families() {
    let f = fixture().await;
    let ana = f.customers.register(ana()).await.unwrap();
    let principal = Principal::customer(ana.id);
    let short = chrono::Duration::hours(1);
    let first = f.customers.start_session(principal, short).await.unwrap();
    f.clock.advance(chrono::Duration::minutes(30));
    let (_, second) = f
        .customers
        .rotate_session(&first.token, short)
        .await
        .unwrap();
    let lasting = f
        .customers
        .start_session(principal, chrono::Duration::days(30))
        .await
        .unwrap();
    assert_eq!(f.customers.sessions.tokens.len(), 3);

    f.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(f.customers.purge_sessions(f.clock.now()).await.unwrap(), 1);
    // The spent first token went; its successor still lives, and so does its family.
    assert!(
        f.customers
            .rotate_session(&second.token, short)
            .await
            .is_ok()
    );
    f.clock.advance(chrono::Duration::hours(2));
    assert_eq!(f.customers.purge_sessions(f.clock.now()).await.unwrap(), 2);
    assert_eq!(f.customers.sessions.families.len(), 1);
    assert_eq!(f.customers.sessions.by_subject.len(), 1);
    assert!(
        f.customers
            .rotate_session(&lasting.token, short)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn administrators_no_longer_configured_are_disabled_and_come_back_with_their_id() {
    let f = fixture().await;
    let first = f
        .customers
        .provision_admin(Some(("root@evrental.com.br", "admin senha 2024")))
        .await
        .unwrap();
    let admin = first.admin.unwrap();
    let session = f
        .customers
        .start_session(admin, chrono::Duration::days(30))
        .await
        .unwrap();

    let next = f
        .customers
        .provision_admin(Some(("ops@evrental.com.br", "outra senha 2025")))
        .await
        .unwrap();
    assert_eq!(next.disabled, 1);
    assert!(matches!(
        f.customers
            .login("root@evrental.com.br", "admin senha 2024", None)
            .await,
        Err(CustomersError::BadCredentials)
    ));
    assert!(
        f.customers
            .rotate_session(&session.token, chrono::Duration::days(30))
            .await
            .is_err(),
        "its sessions ended"
    );
    assert!(
        f.customers
            .login("ops@evrental.com.br", "outra senha 2025", None)
            .await
            .is_ok()
    );

    let again = f
        .customers
        .provision_admin(Some(("root@evrental.com.br", "admin senha 2024")))
        .await
        .unwrap();
    assert_eq!(again.admin, Some(admin), "the same id");
    assert!(
        f.customers
            .login("root@evrental.com.br", "admin senha 2024", None)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_customer_holding_the_configured_address_does_not_stop_the_start() {
    let f = fixture().await;
    f.customers
        .register(new_customer(&cpf(1), "root@evrental.com.br"))
        .await
        .unwrap();
    let provisioned = f
        .customers
        .provision_admin(Some(("root@evrental.com.br", "admin senha 2024")))
        .await
        .unwrap();
    assert!(provisioned.address_taken);
    assert_eq!(provisioned.admin, None);
}
