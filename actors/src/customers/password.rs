//! Password hashing: argon2id with the OWASP-recommended parameters (m = 19 MiB, t = 2,
//! p = 1). A hash costs tens of milliseconds of CPU, so it always runs on tokio's blocking
//! pool, never on an async worker and never inside an actor handler (it would stall every
//! other message of that actor).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use std::sync::LazyLock;

use tokio::sync::Semaphore;

use super::error::CustomersError;

/// Memory cost in KiB.
const MEMORY_KIB: u32 = 19_456;
/// Iterations.
const ITERATIONS: u32 = 2;
/// Lanes.
const PARALLELISM: u32 = 1;

/// A hash of a random password with the same parameters, verified against when an e-mail is
/// unknown so that a failed login takes the same time whether or not the account exists.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$xqPB9UL1evSCGT5Wn5Q3UA$glunDBKX6UkZM9SNlZ8G43eeb/PEx4Vm2/gXpCvkPT4";

fn argon2() -> Result<Argon2<'static>, CustomersError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|error| CustomersError::PasswordHashing(error.into()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_now(password: &str) -> Result<String, CustomersError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|error| CustomersError::PasswordHashing(error.into()))?;
    let hash = argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|error| CustomersError::PasswordHashing(error.into()))?;
    Ok(hash.to_string())
}

fn verify_now(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    argon2().is_ok_and(|argon2| argon2.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Hashes running at once: every core but one. A burst of sign-ups or logins then waits its
/// turn here, asynchronously and at no cost, instead of flooding the blocking pool with
/// hundreds of threads that crowd the runtime's workers off the CPU and stall every request
/// and every actor. (Measured with the simulator on 2 cores: 200 simultaneous sign-ups
/// without this limit pushed the median reservation to 1.2 s.)
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(hashing_slots()));

fn hashing_slots() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |cores| cores.get().saturating_sub(1))
        .max(1)
}

/// Runs a hash or a verification on the blocking pool, within the [`HASHING`] limit.
async fn limited<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CustomersError> {
    let _slot = HASHING
        .acquire()
        .await
        .map_err(|error| CustomersError::PasswordHashing(error.into()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| CustomersError::PasswordHashing(error.into()))
}

/// Hashes `password` (PHC string) on the blocking pool.
pub(crate) async fn hash(password: String) -> Result<String, CustomersError> {
    limited(move || hash_now(&password)).await?
}

/// Whether `password` matches `hash`; with no hash (unknown e-mail, erased account) the dummy
/// hash is verified anyway and the answer is `false`.
pub(crate) async fn verify(password: String, hash: Option<String>) -> Result<bool, CustomersError> {
    limited(move || match hash {
        Some(hash) => verify_now(&password, &hash),
        None => {
            let _ = verify_now(&password, DUMMY_HASH);
            false
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_carry_the_parameters() {
        let hashed = hash("senha segura 1".into()).await.unwrap();
        assert!(
            hashed.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hashed}"
        );
        assert!(
            verify("senha segura 1".into(), Some(hashed.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("senha segura 2".into(), Some(hashed.clone()))
                .await
                .unwrap()
        );
        assert_ne!(
            hash("senha segura 1".into()).await.unwrap(),
            hashed,
            "salted"
        );
        assert!(!verify("anything".into(), None).await.unwrap());
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_hashes_run_at_once_than_the_limit() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(limited(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!(most >= 1 && most <= hashing_slots(), "{most} at once");
    }
}
