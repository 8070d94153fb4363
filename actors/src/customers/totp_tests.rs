//! Two-factor authentication of administrators on the customers' fixture, with the manual
//! clock deciding which code is current.

use chrono::TimeDelta;
use totp_rs::Secret;

use super::tests::fixture;
use super::*;
use crate::clock::Clock;
use crate::config::Config;

const ADMIN: &str = "root@evrental.com.br";
const PASSWORD: &str = "admin senha 2024";

/// The code an authenticator app shows at `now` for the setup's URI.
fn code_at(setup: &TotpSetup, now: chrono::DateTime<chrono::Utc>) -> String {
    let secret = setup
        .otpauth_uri
        .split(['?', '&'])
        .find_map(|part| part.strip_prefix("secret="))
        .expect("the URI carries the secret");
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    let totp = totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        0,
        30,
        bytes,
        None,
        String::new(),
    );
    totp.generate(u64::try_from(now.timestamp()).unwrap())
}

#[tokio::test]
async fn setup_confirm_then_every_login_needs_a_fresh_code_or_a_recovery_code() {
    let f = fixture().await;
    let admin = f.customers.ensure_admin(ADMIN, PASSWORD).await.unwrap();
    let setup = f.customers.totp_setup(admin).await.unwrap();
    assert!(
        setup
            .otpauth_uri
            .starts_with("otpauth://totp/ev-rental:root%40evrental.com.br?secret="),
        "{}",
        setup.otpauth_uri
    );
    assert_eq!(setup.recovery_codes.len(), RECOVERY_CODES);
    // Not on until confirmed.
    assert_eq!(
        f.customers.login(ADMIN, PASSWORD, None).await.unwrap(),
        admin
    );
    assert!(matches!(
        f.customers.totp_confirm(admin, "000000").await,
        Err(CustomersError::Invalid(_))
    ));
    let code = code_at(&setup, f.clock.now());
    f.customers.totp_confirm(admin, &code).await.unwrap();
    assert!(matches!(
        f.customers.totp_setup(admin).await,
        Err(CustomersError::TotpAlreadyEnabled)
    ));

    assert!(matches!(
        f.customers.login(ADMIN, PASSWORD, None).await,
        Err(CustomersError::TotpRequired)
    ));
    // The confirmation used this step's code: it does not log in again.
    assert!(matches!(
        f.customers.login(ADMIN, PASSWORD, Some(&code)).await,
        Err(CustomersError::BadCredentials)
    ));
    f.clock.advance(TimeDelta::seconds(30));
    let next = code_at(&setup, f.clock.now());
    assert_eq!(
        f.customers
            .login(ADMIN, PASSWORD, Some(&next))
            .await
            .unwrap(),
        admin
    );
    assert!(
        matches!(
            f.customers.login(ADMIN, PASSWORD, Some(&next)).await,
            Err(CustomersError::BadCredentials)
        ),
        "a code is accepted once"
    );
    // A right code with a wrong password is still a wrong password.
    f.clock.advance(TimeDelta::seconds(30));
    let later = code_at(&setup, f.clock.now());
    assert!(matches!(
        f.customers
            .login(ADMIN, "not the password", Some(&later))
            .await,
        Err(CustomersError::BadCredentials)
    ));

    let recovery = &setup.recovery_codes[3];
    assert_eq!(
        f.customers
            .login(ADMIN, PASSWORD, Some(recovery))
            .await
            .unwrap(),
        admin
    );
    assert!(matches!(
        f.customers.login(ADMIN, PASSWORD, Some(recovery)).await,
        Err(CustomersError::BadCredentials)
    ));

    // The factor survives a restart, and so does the record of the codes used.
    let before = f.clock.now();
    let f = f.restart().await;
    assert!(matches!(
        f.customers.login(ADMIN, PASSWORD, Some(recovery)).await,
        Err(CustomersError::BadCredentials)
    ));
    // The restarted fixture's clock starts over: carry on from where it was.
    f.clock.set(before + TimeDelta::seconds(30));
    let after = code_at(&setup, f.clock.now());
    assert_eq!(
        f.customers
            .login(ADMIN, PASSWORD, Some(&after))
            .await
            .unwrap(),
        admin
    );
}

#[tokio::test]
async fn with_totp_required_an_admin_without_it_may_only_set_it_up() {
    let f = fixture().await;
    let admin = f.customers.ensure_admin(ADMIN, PASSWORD).await.unwrap();
    let mut config = Config::default();
    config.auth.require_admin_totp = true;
    let f = f.restart_with(config).await;
    match f.customers.login(ADMIN, PASSWORD, None).await {
        Err(CustomersError::TotpSetupRequired(principal)) => assert_eq!(principal, admin),
        other => panic!("expected TotpSetupRequired, got {other:?}"),
    }
    // The wrong password does not reveal that step.
    assert!(matches!(
        f.customers.login(ADMIN, "wrong password", None).await,
        Err(CustomersError::BadCredentials)
    ));
    let setup = f.customers.totp_setup(admin).await.unwrap();
    let code = code_at(&setup, f.clock.now());
    f.customers.totp_confirm(admin, &code).await.unwrap();
    f.clock.advance(TimeDelta::seconds(30));
    let next = code_at(&setup, f.clock.now());
    assert_eq!(
        f.customers
            .login(ADMIN, PASSWORD, Some(&next))
            .await
            .unwrap(),
        admin
    );
}
