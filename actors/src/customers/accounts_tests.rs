//! Administrator accounts and the login of both kinds of account, on the customers' fixture.

use super::tests::{ana, cpf, fixture, new_customer};
use super::*;

const ADMIN: &str = "root@evrental.com.br";
const ADMIN_PASSWORD: &str = "admin senha 2024";

#[tokio::test]
async fn an_admin_is_created_once_and_keeps_its_id_across_restarts() {
    let f = fixture().await;
    let first = f
        .customers
        .ensure_admin(" Root@EVRental.com.br ", ADMIN_PASSWORD)
        .await
        .unwrap();
    assert_eq!(first.role, Role::Admin);
    assert_eq!(f.customers.admins.admins.len(), 1);
    let record = f
        .customers
        .admins
        .admins
        .get(&ADMIN.to_owned())
        .unwrap()
        .unwrap();
    assert_eq!(record.id, first.subject);
    assert_eq!(record.email, ADMIN);
    assert!(record.password_hash.starts_with("$argon2id$"));

    let again = f
        .customers
        .ensure_admin(ADMIN, ADMIN_PASSWORD)
        .await
        .unwrap();
    assert_eq!(again, first);
    let unchanged = f
        .customers
        .admins
        .admins
        .get(&ADMIN.to_owned())
        .unwrap()
        .unwrap();
    assert_eq!(
        unchanged.password_hash, record.password_hash,
        "not re-hashed"
    );

    let f = f.restart().await;
    let after_restart = f
        .customers
        .ensure_admin(ADMIN, ADMIN_PASSWORD)
        .await
        .unwrap();
    assert_eq!(after_restart, first, "same id after a restart");
    assert_eq!(f.customers.admins.admins.len(), 1);
    assert_eq!(
        f.customers
            .login(ADMIN, ADMIN_PASSWORD, None)
            .await
            .unwrap(),
        first
    );
}

#[tokio::test]
async fn a_changed_password_replaces_the_hash_and_keeps_the_id() {
    let f = fixture().await;
    let first = f
        .customers
        .ensure_admin(ADMIN, ADMIN_PASSWORD)
        .await
        .unwrap();
    f.clock.advance(chrono::Duration::minutes(5));
    let changed = f
        .customers
        .ensure_admin(ADMIN, "nova senha 2025")
        .await
        .unwrap();
    assert_eq!(changed, first);
    let record = f
        .customers
        .admins
        .admins
        .get(&ADMIN.to_owned())
        .unwrap()
        .unwrap();
    assert_eq!(
        record.updated_at,
        record.created_at + chrono::Duration::minutes(5)
    );
    assert!(matches!(
        f.customers.login(ADMIN, ADMIN_PASSWORD, None).await,
        Err(CustomersError::BadCredentials)
    ));
    assert_eq!(
        f.customers
            .login(ADMIN, "nova senha 2025", None)
            .await
            .unwrap(),
        first
    );
}

#[tokio::test]
async fn admin_input_is_validated_with_the_customers_policy() {
    let f = fixture().await;
    let Err(CustomersError::Invalid(errors)) =
        f.customers.ensure_admin("not an e-mail", "aaaaaaaa").await
    else {
        panic!("expected Invalid");
    };
    let fields: Vec<_> = errors.iter().map(|error| error.field).collect();
    assert_eq!(fields, ["email", "password"]);
    assert!(f.customers.admins.admins.is_empty());
}

#[tokio::test]
async fn one_email_names_one_account_of_either_kind() {
    let f = fixture().await;
    let customer = f.customers.register(ana()).await.unwrap();
    assert!(matches!(
        f.customers
            .ensure_admin("ANA@example.com", ADMIN_PASSWORD)
            .await,
        Err(CustomersError::Conflict { field: "email" })
    ));
    assert!(f.customers.admins.admins.is_empty());

    f.customers
        .ensure_admin(ADMIN, ADMIN_PASSWORD)
        .await
        .unwrap();
    assert!(matches!(
        f.customers
            .register(new_customer(&cpf(7), "ROOT@evrental.com.br"))
            .await,
        Err(CustomersError::Conflict { field: "email" })
    ));
    let patch = CustomerPatch {
        email: Some(ADMIN.into()),
        current_password: Some("senha segura 42".into()),
        ..CustomerPatch::default()
    };
    assert!(matches!(
        f.customers.update(customer.id, patch, None).await,
        Err(CustomersError::Conflict { field: "email" })
    ));
    assert_eq!(
        f.customers.get(customer.id).await.unwrap().email.as_deref(),
        Some("ana@example.com")
    );
    assert_eq!(f.customers.list(10, None).await.unwrap().items.len(), 1);
}

#[tokio::test]
async fn login_answers_the_principal_of_either_kind_and_nothing_else() {
    let f = fixture().await;
    let admin = f
        .customers
        .ensure_admin(ADMIN, ADMIN_PASSWORD)
        .await
        .unwrap();
    let customer = f.customers.register(ana()).await.unwrap();
    let bia = f
        .customers
        .register(new_customer(&cpf(3), "bia@example.com"))
        .await
        .unwrap();

    let logged = f
        .customers
        .login("Root@EVRental.com.br", ADMIN_PASSWORD, None)
        .await
        .unwrap();
    assert_eq!(
        logged,
        Principal {
            subject: admin.subject,
            role: Role::Admin
        }
    );
    let logged = f
        .customers
        .login("ana@example.com", "senha segura 42", None)
        .await
        .unwrap();
    assert_eq!(logged.role, Role::Customer);
    assert_eq!(logged.subject, customer.id.as_uuid());
    assert_eq!(logged.customer_id(), Some(customer.id));
    assert_ne!(logged.subject, admin.subject);

    f.customers.erase(bia.id).await.unwrap();
    for (email, password) in [
        (ADMIN, "senha segura 42"),
        ("ana@example.com", ADMIN_PASSWORD),
        ("nobody@example.com", "senha segura 42"),
        ("bia@example.com", "senha segura 42"),
        ("not an e-mail", "senha segura 42"),
        ("", ""),
    ] {
        assert!(
            matches!(
                f.customers.login(email, password, None).await,
                Err(CustomersError::BadCredentials)
            ),
            "{email}"
        );
    }
    // The customers' own check still answers as before.
    assert_eq!(
        f.customers
            .authenticate("ana@example.com", "senha segura 42")
            .await
            .unwrap(),
        customer.id
    );
    assert!(matches!(
        f.customers.authenticate(ADMIN, ADMIN_PASSWORD).await,
        Err(CustomersError::BadCredentials)
    ));
}
