//! Refresh-token sessions: rotation, reuse detection, expiry, logout, races, durability.

use std::path::Path;
use std::sync::Arc;

use chrono::Duration;

use super::tests::{ana, cpf, fixture, new_customer};
use super::*;
use crate::clock::Clock;

fn ttl() -> Duration {
    Duration::days(30)
}

async fn ana_session(customers: &CustomersHandle) -> (Principal, IssuedRefresh) {
    let id = customers.register(ana()).await.unwrap().id;
    let principal = Principal::customer(id);
    let issued = customers.start_session(principal, ttl()).await.unwrap();
    (principal, issued)
}

fn is_invalid<T: std::fmt::Debug>(result: Result<T, CustomersError>) -> bool {
    matches!(result, Err(CustomersError::InvalidRefreshToken))
}

#[tokio::test]
async fn tokens_rotate_within_their_family() {
    let f = fixture().await;
    let (principal, first) = ana_session(&f.customers).await;
    assert_eq!(first.token.len(), 64);
    assert_eq!(first.expires_at, f.clock.now() + ttl());

    f.clock.advance(Duration::minutes(15));
    let (answered, second) = f
        .customers
        .rotate_session(&first.token, ttl())
        .await
        .unwrap();
    assert_eq!(answered, principal);
    assert_eq!(second.family, first.family);
    assert_ne!(second.token, first.token);
    assert_eq!(second.expires_at, f.clock.now() + ttl());

    let (answered, third) = f
        .customers
        .rotate_session(&second.token, ttl())
        .await
        .unwrap();
    assert_eq!(answered, principal);
    assert_eq!(third.family, first.family);
    assert!(third.token != first.token && third.token != second.token);
    assert_eq!(f.customers.sessions.tokens.len(), 3);
    assert_eq!(f.customers.sessions.families.len(), 1);

    // Another login is another family.
    let other = f.customers.start_session(principal, ttl()).await.unwrap();
    assert_ne!(other.family, first.family);
}

#[tokio::test]
async fn a_replayed_token_revokes_its_whole_family() {
    let f = fixture().await;
    let (_, first) = ana_session(&f.customers).await;
    let (_, second) = f
        .customers
        .rotate_session(&first.token, ttl())
        .await
        .unwrap();
    let (_, newest) = f
        .customers
        .rotate_session(&second.token, ttl())
        .await
        .unwrap();

    assert!(matches!(
        f.customers.rotate_session(&first.token, ttl()).await,
        Err(CustomersError::RefreshTokenReused)
    ));
    assert!(
        is_invalid(f.customers.rotate_session(&newest.token, ttl()).await),
        "the newest token died with its family"
    );
    let family = f
        .customers
        .sessions
        .families
        .get(&first.family)
        .unwrap()
        .unwrap();
    assert_eq!(family.revoked_at, Some(f.clock.now()));
    // Replays after the revocation change nothing more.
    assert!(is_invalid(
        f.customers.rotate_session(&second.token, ttl()).await
    ));
}

#[tokio::test]
async fn expired_malformed_and_unknown_tokens_are_invalid() {
    let f = fixture().await;
    let (principal, issued) = ana_session(&f.customers).await;
    let short = f
        .customers
        .start_session(principal, Duration::minutes(10))
        .await
        .unwrap();
    f.clock.advance(Duration::minutes(10));
    assert!(is_invalid(
        f.customers.rotate_session(&short.token, ttl()).await
    ));
    // Refused, not revoked: an expired token is not a replay.
    let family = f.customers.sessions.families.get(&short.family).unwrap();
    assert_eq!(family.and_then(|family| family.revoked_at), None);

    for token in [
        String::new(),
        "x".repeat(64),
        issued.token.to_uppercase(),
        format!("{}0", issued.token),
        "0".repeat(64),
    ] {
        assert!(
            is_invalid(f.customers.rotate_session(&token, ttl()).await),
            "{token}"
        );
    }
    assert!(
        f.customers
            .rotate_session(&issued.token, ttl())
            .await
            .is_ok(),
        "a long-lived token of the same customer still works"
    );
}

#[tokio::test]
async fn logout_revokes_and_is_idempotent() {
    let f = fixture().await;
    let (principal, first) = ana_session(&f.customers).await;
    let (_, second) = f
        .customers
        .rotate_session(&first.token, ttl())
        .await
        .unwrap();
    let elsewhere = f.customers.start_session(principal, ttl()).await.unwrap();

    f.customers.end_session(&second.token).await.unwrap();
    assert!(is_invalid(
        f.customers.rotate_session(&second.token, ttl()).await
    ));
    f.customers.end_session(&second.token).await.unwrap();
    f.customers.end_session(&first.token).await.unwrap();
    f.customers.end_session("not a token").await.unwrap();
    f.customers.end_session(&"0".repeat(64)).await.unwrap();
    assert!(
        f.customers
            .rotate_session(&elsewhere.token, ttl())
            .await
            .is_ok(),
        "another session of the same customer is untouched"
    );
}

#[tokio::test]
async fn an_erased_customer_loses_its_sessions() {
    let f = fixture().await;
    let (principal, issued) = ana_session(&f.customers).await;
    let customer = principal.customer_id().unwrap();
    f.customers.erase(customer).await.unwrap();
    assert!(is_invalid(
        f.customers.rotate_session(&issued.token, ttl()).await
    ));
    assert!(matches!(
        f.customers.start_session(principal, ttl()).await,
        Err(CustomersError::Erased)
    ));
    let stranger = Principal {
        subject: uuid::Uuid::now_v7(),
        role: Role::Admin,
    };
    assert!(matches!(
        f.customers.start_session(stranger, ttl()).await,
        Err(CustomersError::NotFound)
    ));
}

#[tokio::test]
async fn admins_hold_sessions_too() {
    let f = fixture().await;
    let admin = f
        .customers
        .ensure_admin("root@evrental.com.br", "admin senha 2024")
        .await
        .unwrap();
    let issued = f.customers.start_session(admin, ttl()).await.unwrap();
    let (answered, _) = f
        .customers
        .rotate_session(&issued.token, ttl())
        .await
        .unwrap();
    assert_eq!(answered, admin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn of_concurrent_rotations_of_one_token_exactly_one_succeeds() {
    let f = fixture().await;
    let (_, issued) = ana_session(&f.customers).await;
    // All twenty are released at once, so their look-ups overlap.
    let start = Arc::new(tokio::sync::Barrier::new(20));
    let rotations: Vec<_> = (0..20)
        .map(|_| {
            let customers = f.customers.clone();
            let token = issued.token.clone();
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                customers.rotate_session(&token, ttl()).await
            })
        })
        .collect();
    let mut results = Vec::new();
    for rotation in rotations {
        results.push(rotation.await.unwrap());
    }
    let winners: Vec<_> = results
        .iter()
        .filter_map(|result| result.as_ref().ok())
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    // The first loser found the token spent and revoked the family; later ones found it
    // revoked.
    let reused = results
        .iter()
        .filter(|result| matches!(result, Err(CustomersError::RefreshTokenReused)))
        .count();
    let invalid = results
        .iter()
        .filter(|result| matches!(result, Err(CustomersError::InvalidRefreshToken)))
        .count();
    assert_eq!((reused, invalid), (1, 18), "{results:?}");
    let (_, successor) = winners[0];
    assert!(is_invalid(
        f.customers.rotate_session(&successor.token, ttl()).await
    ));
    assert_eq!(f.customers.sessions.tokens.len(), 2, "one successor only");
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
async fn tokens_are_stored_only_as_hashes_and_survive_restarts() {
    let f = fixture().await;
    let (principal, first) = ana_session(&f.customers).await;
    let (_, second) = f
        .customers
        .rotate_session(&first.token, ttl())
        .await
        .unwrap();
    let other = f
        .customers
        .register(new_customer(&cpf(9), "bia@example.com"))
        .await
        .unwrap();
    let bia = f
        .customers
        .start_session(Principal::customer(other.id), ttl())
        .await
        .unwrap();
    let printed = format!("{second:?}");
    assert!(!printed.contains(&second.token), "{printed}");

    let tokens = [&first.token, &second.token, &bia.token];
    for entry in f.customers.sessions.tokens.iter() {
        let (key, record) = entry.unwrap();
        let value = storage::codec::encode(&record).unwrap();
        for token in tokens {
            assert_ne!(&key, token);
            assert!(
                !value
                    .windows(token.len())
                    .any(|window| window == token.as_bytes())
            );
        }
    }

    let f = f.restart().await; // everything flushed and closed
    assert!(
        files_contain(f.dir.path(), b"$argon2id$"),
        "the scan sees stored data"
    );
    for token in tokens {
        assert!(
            !files_contain(f.dir.path(), token.as_bytes()),
            "stored in clear"
        );
    }
    let (answered, _) = f
        .customers
        .rotate_session(&second.token, ttl())
        .await
        .unwrap();
    assert_eq!(answered, principal);
    assert!(matches!(
        f.customers.rotate_session(&first.token, ttl()).await,
        Err(CustomersError::RefreshTokenReused)
    ));
    assert!(
        f.customers.rotate_session(&bia.token, ttl()).await.is_ok(),
        "the other family was not touched"
    );
}
