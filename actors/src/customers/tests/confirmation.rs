//! E-mail confirmation through the service: codes, tries, expiry, resends, changed addresses,
//! and the events written with each change.

use chrono::TimeDelta;

use super::*;
use crate::domain::{Cents, Locale};
use crate::error_kind::{ErrorKind, Kinded};
use crate::events::{DomainEvent, EventData};
use crate::ports::ContactLookup;

impl Fixture {
    /// Every event in the customers store's outbox (nothing relays them here), in order.
    pub(super) fn outbox(&self) -> Vec<DomainEvent> {
        self.stores[0]
            .outbox()
            .peek::<DomainEvent>(100_000)
            .unwrap()
            .into_iter()
            .map(|(_, event)| event)
            .collect()
    }

    /// The events of `customer`, by type.
    pub(super) fn types_of(&self, customer: CustomerId) -> Vec<&'static str> {
        self.outbox()
            .iter()
            .filter(|event| event.subjects.customer_id == Some(customer))
            .map(DomainEvent::type_name)
            .collect()
    }

    /// The latest code sent to `customer`, and whether it confirms a changed address.
    pub(super) fn code(&self, customer: CustomerId) -> (String, bool) {
        self.outbox()
            .into_iter()
            .rev()
            .filter(|event| event.subjects.customer_id == Some(customer))
            .find_map(|event| match event.data {
                EventData::ConfirmationRequested {
                    code,
                    address_change,
                    ..
                } => Some((code, address_change)),
                _ => None,
            })
            .expect("a code was sent")
    }

    /// Registers `input` and confirms its address.
    pub(super) async fn register_confirmed(&self, input: NewCustomer) -> Customer {
        let customer = self.customers.register(input).await.unwrap();
        let (code, _) = self.code(customer.id);
        self.customers
            .confirm_email(customer.id, &code)
            .await
            .unwrap()
    }
}

/// A code that is not `code`.
fn other_than(code: &str) -> String {
    let first = if code.starts_with('9') { '0' } else { '9' };
    format!("{first}{}", &code[1..])
}

fn code_field(error: CustomersError) -> String {
    match error {
        CustomersError::Invalid(fields) if fields[0].field == "code" => fields[0].reason.clone(),
        other => panic!("expected an invalid code, got {other:?}"),
    }
}

#[tokio::test]
async fn a_new_customer_waits_for_the_code_and_may_not_book_until_then() {
    let f = fixture().await;
    let ana = f.customers.register(ana()).await.unwrap();
    assert_eq!(ana.status, CustomerStatus::PendingConfirmation);
    assert!(matches!(
        f.customers.payment_token(ana.id).await,
        Err(CustomersError::EmailUnconfirmed)
    ));
    assert_eq!(
        CustomersError::EmailUnconfirmed.kind(),
        ErrorKind::EmailUnconfirmed
    );
    // A pending account logs in: it confirms logged in.
    f.customers
        .authenticate("ana@example.com", "senha segura 42")
        .await
        .unwrap();
    let (code, address_change) = f.code(ana.id);
    assert!(!address_change);
    let wrong = f.customers.confirm_email(ana.id, &other_than(&code)).await;
    assert!(code_field(wrong.unwrap_err()).contains("4 tries left"));
    for malformed in ["12345", "abcdef"] {
        let refused = f.customers.confirm_email(ana.id, malformed).await;
        assert!(code_field(refused.unwrap_err()).contains("six digits"));
    }
    let confirmed = f.customers.confirm_email(ana.id, &code).await.unwrap();
    assert_eq!(confirmed.status, CustomerStatus::Active);
    assert_eq!(
        f.customers.get(ana.id).await.unwrap().status,
        CustomerStatus::Active
    );
    f.customers.payment_token(ana.id).await.unwrap();
    // Once is enough: nothing waits any more.
    assert!(matches!(
        f.customers.confirm_email(ana.id, &code).await,
        Err(CustomersError::InvalidState(_))
    ));
    assert_eq!(
        f.types_of(ana.id),
        [
            "customer.registered",
            "customer.confirmation_requested",
            "customer.email_confirmed"
        ]
    );
    let registered = f.outbox().remove(0);
    assert_eq!(registered.source, "customers");
    assert_eq!(
        registered.data,
        EventData::CustomerRegistered {
            pending_confirmation: true
        }
    );
    // Confirmed survives a restart.
    let f = f.restart().await;
    assert_eq!(
        f.customers.get(ana.id).await.unwrap().status,
        CustomerStatus::Active
    );
}

#[tokio::test]
async fn an_expired_code_is_refused_and_a_new_one_works() {
    let f = fixture().await;
    let ana = f.customers.register(ana()).await.unwrap();
    let (code, _) = f.code(ana.id);
    f.clock.advance(TimeDelta::minutes(30));
    let expired = f.customers.confirm_email(ana.id, &code).await;
    assert!(code_field(expired.unwrap_err()).contains("expired"));
    f.customers.resend_confirmation(ana.id).await.unwrap();
    let (fresh, _) = f.code(ana.id);
    if fresh != code {
        let old = f.customers.confirm_email(ana.id, &code).await;
        assert!(code_field(old.unwrap_err()).contains("wrong code"));
    }
    f.customers.confirm_email(ana.id, &fresh).await.unwrap();
}

#[tokio::test]
async fn five_wrong_tries_spend_the_code() {
    let f = fixture().await;
    let ana = f.customers.register(ana()).await.unwrap();
    let (code, _) = f.code(ana.id);
    for _ in 0..5 {
        let wrong = f.customers.confirm_email(ana.id, &other_than(&code)).await;
        code_field(wrong.unwrap_err());
    }
    let spent = f.customers.confirm_email(ana.id, &code).await;
    assert!(code_field(spent.unwrap_err()).contains("ask for a new one"));
    // The count of tries is durable.
    let f = f.restart().await;
    let spent = f.customers.confirm_email(ana.id, &code).await;
    assert!(code_field(spent.unwrap_err()).contains("ask for a new one"));
    f.clock.advance(TimeDelta::seconds(60));
    f.customers.resend_confirmation(ana.id).await.unwrap();
    let (fresh, _) = f.code(ana.id);
    f.customers.confirm_email(ana.id, &fresh).await.unwrap();
}

#[tokio::test]
async fn codes_are_resent_at_most_once_a_minute_and_five_times_an_hour() {
    let f = fixture().await;
    let ana = f.customers.register(ana()).await.unwrap();
    let wait = |result: Result<Customer, CustomersError>| match result {
        Err(CustomersError::ConfirmationRateLimited { retry_after_s }) => retry_after_s,
        other => panic!("expected a wait, got {other:?}"),
    };
    assert_eq!(wait(f.customers.resend_confirmation(ana.id).await), 60);
    f.clock.advance(TimeDelta::seconds(45));
    assert_eq!(wait(f.customers.resend_confirmation(ana.id).await), 15);
    // The registration's code and four more make five in the hour.
    for _ in 0..4 {
        f.clock.advance(TimeDelta::seconds(60));
        f.customers.resend_confirmation(ana.id).await.unwrap();
    }
    f.clock.advance(TimeDelta::seconds(60));
    // The first went 4 × 60 + 45 + 60 = 345 s ago.
    assert_eq!(
        wait(f.customers.resend_confirmation(ana.id).await),
        3_600 - 345
    );
    assert_eq!(
        CustomersError::ConfirmationRateLimited { retry_after_s: 1 }.kind(),
        ErrorKind::RateLimited
    );
    f.clock.advance(TimeDelta::seconds(3_600 - 345));
    f.customers.resend_confirmation(ana.id).await.unwrap();
    let sent = f
        .types_of(ana.id)
        .into_iter()
        .filter(|kind| *kind == "customer.confirmation_requested")
        .count();
    assert_eq!(sent, 6);
    let (code, _) = f.code(ana.id);
    f.customers.confirm_email(ana.id, &code).await.unwrap();
}

#[tokio::test]
async fn a_changed_address_becomes_the_login_only_once_confirmed() {
    let f = fixture().await;
    let ana = f.register_confirmed(ana()).await;
    let patch = CustomerPatch {
        email: Some("Ana.Nova@Example.com".into()),
        current_password: Some("senha segura 42".into()),
        ..CustomerPatch::default()
    };
    let pending = f.customers.update(ana.id, patch, None).await.unwrap();
    assert_eq!(pending.email.as_deref(), Some("ana@example.com"));
    assert_eq!(pending.status, CustomerStatus::Active);
    assert!(pending.email_change_pending);
    f.customers.payment_token(ana.id).await.unwrap();
    let old = f.customers.contact(ana.id, false).await.unwrap().unwrap();
    assert_eq!(old.email, "ana@example.com");
    let new = f.customers.contact(ana.id, true).await.unwrap().unwrap();
    assert_eq!(new.email, "ana.nova@example.com");
    assert_eq!(
        f.customers
            .find_by_email("ana.nova@example.com")
            .await
            .unwrap(),
        None
    );
    let (code, address_change) = f.code(ana.id);
    assert!(address_change);
    let confirmed = f.customers.confirm_email(ana.id, &code).await.unwrap();
    assert_eq!(confirmed.email.as_deref(), Some("ana.nova@example.com"));
    assert!(!confirmed.email_change_pending);
    assert_eq!(
        f.customers
            .find_by_email("ana.nova@example.com")
            .await
            .unwrap(),
        Some(ana.id)
    );
    assert_eq!(
        f.customers.find_by_email("ana@example.com").await.unwrap(),
        None
    );
    f.customers
        .authenticate("ana.nova@example.com", "senha segura 42")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_changed_address_taken_meanwhile_is_a_conflict_at_confirmation() {
    let f = fixture().await;
    let ana = f.register_confirmed(ana()).await;
    let patch = CustomerPatch {
        email: Some("shared@example.com".into()),
        current_password: Some("senha segura 42".into()),
        ..CustomerPatch::default()
    };
    f.customers.update(ana.id, patch, None).await.unwrap();
    let (code, _) = f.code(ana.id);
    f.customers
        .register(new_customer(&cpf(7), "shared@example.com"))
        .await
        .unwrap();
    assert!(matches!(
        f.customers.confirm_email(ana.id, &code).await,
        Err(CustomersError::Conflict { field: "email" })
    ));
    let still = f.customers.get(ana.id).await.unwrap();
    assert_eq!(still.email.as_deref(), Some("ana@example.com"));
}

#[tokio::test]
async fn an_erased_customer_confirms_nothing_and_the_erasure_is_an_event() {
    let f = fixture().await;
    let ana = f.customers.register(ana()).await.unwrap();
    let (code, _) = f.code(ana.id);
    f.customers.erase(ana.id).await.unwrap();
    assert!(matches!(
        f.customers.confirm_email(ana.id, &code).await,
        Err(CustomersError::Erased)
    ));
    assert!(matches!(
        f.customers.resend_confirmation(ana.id).await,
        Err(CustomersError::Erased)
    ));
    assert_eq!(f.customers.contact(ana.id, true).await.unwrap(), None);
    assert_eq!(
        f.types_of(ana.id),
        [
            "customer.registered",
            "customer.confirmation_requested",
            "customer.erased"
        ]
    );
}

#[tokio::test]
async fn without_confirmation_a_new_customer_is_active_at_once() {
    let mut config = Config::default();
    config.notify.require_email_confirmation = false;
    let f = launch_with(tempfile::tempdir().unwrap(), config).await;
    let ana = f.customers.register(ana()).await.unwrap();
    assert_eq!(ana.status, CustomerStatus::Active);
    f.customers.payment_token(ana.id).await.unwrap();
    assert_eq!(f.types_of(ana.id), ["customer.registered"]);
    assert_eq!(
        f.outbox()[0].data,
        EventData::CustomerRegistered {
            pending_confirmation: false
        }
    );
}

#[tokio::test]
async fn the_locale_is_kept_shown_changed_and_answered_as_the_contact() {
    let f = fixture().await;
    let mut input = ana();
    input.locale = Some("en".into());
    let ana = f.register_confirmed(input).await;
    assert_eq!(ana.locale, Locale::En);
    let contact = f.customers.contact(ana.id, false).await.unwrap().unwrap();
    assert_eq!(contact.locale, Locale::En);
    assert_eq!(contact.name, "Ana Souza");
    let patch = CustomerPatch {
        locale: Some("pt-BR".into()),
        ..CustomerPatch::default()
    };
    let changed = f.customers.update(ana.id, patch, None).await.unwrap();
    assert_eq!(changed.locale, Locale::PtBr);
    let f = f.restart().await;
    assert_eq!(f.customers.get(ana.id).await.unwrap().locale, Locale::PtBr);
    let mut bad = new_customer(&cpf(8), "bia@example.com");
    bad.locale = Some("fr".into());
    let Err(CustomersError::Invalid(fields)) = f.customers.register(bad).await else {
        panic!("a language not offered is refused");
    };
    assert_eq!(fields[0].field, "locale");
}

#[tokio::test]
async fn debts_and_payments_are_events() {
    let f = fixture().await;
    let ana = f.register_confirmed(ana()).await;
    let reservation = ReservationId::new();
    f.customers
        .record_outstanding(ana.id, reservation, 1_500)
        .await
        .unwrap();
    f.customers
        .record_outstanding(ana.id, reservation, 1_500)
        .await
        .unwrap();
    f.customers
        .record_outstanding(ana.id, reservation, 0)
        .await
        .unwrap();
    let balance: Vec<_> = f
        .outbox()
        .into_iter()
        .filter(|event| event.type_name().starts_with("balance."))
        .map(|event| event.data)
        .collect();
    assert_eq!(
        balance,
        [
            EventData::BalanceOutstanding {
                amount_cents: Cents::new(1_500),
                owed_cents: Cents::new(1_500)
            },
            EventData::BalancePaid {
                amount_cents: Cents::new(1_500)
            }
        ]
    );
}
