//! Customers as a service, with a real billing service (sandbox processor) on its own store
//! and a fake reservations lookup.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use storage::{StorageConfig, Store};

use super::*;
use crate::billing::{self, SandboxProvider};
use crate::clock::ManualClock;
use crate::ids::VehicleId;
use crate::ports::BoxFuture;

mod confirmation;
mod privacy;
mod profiles;

#[derive(Default)]
struct FakeLookup {
    open: Mutex<HashSet<CustomerId>>,
}

impl FakeLookup {
    fn set_open(&self, customer: CustomerId, open: bool) {
        let mut set = self.open.lock().unwrap();
        if open {
            set.insert(customer);
        } else {
            set.remove(&customer);
        }
    }
}

impl ReservationLookup for FakeLookup {
    fn customer_has_open(&self, customer: CustomerId) -> BoxFuture<'_, Result<bool, AskError>> {
        let open = self.open.lock().unwrap().contains(&customer);
        Box::pin(async move { Ok(open) })
    }

    fn vehicle_has_open(&self, _vehicle: VehicleId) -> BoxFuture<'_, Result<bool, AskError>> {
        Box::pin(async { Ok(false) })
    }

    fn busy(
        &self,
        _vehicles: Vec<VehicleId>,
        _from: DateTime<Utc>,
        _to: DateTime<Utc>,
    ) -> BoxFuture<'_, Result<HashSet<VehicleId>, AskError>> {
        Box::pin(async { Ok(HashSet::new()) })
    }
}

struct Root;

impl Actor for Root {
    type Msg = ();
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<()>, _: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }
}

/// Shared with the accounts' and sessions' tests.
pub(super) struct Fixture {
    pub(super) dir: tempfile::TempDir,
    root: ActorRef<()>,
    stores: [Store; 2],
    lookup: Arc<FakeLookup>,
    pub(super) clock: Arc<ManualClock>,
    pub(super) customers: CustomersHandle,
}

fn storage_config(dir: &Path) -> StorageConfig {
    StorageConfig {
        data_dir: dir.to_owned(),
        cache_capacity_mb: 4,
        flush_every_ms: 50,
        commit_window_us: 1_000,
        ..StorageConfig::default()
    }
}

async fn launch(dir: tempfile::TempDir) -> Fixture {
    launch_with(dir, Config::default()).await
}

/// As [`fixture`] on `dir` with `config` (its data keys, say).
pub(super) async fn launch_with(dir: tempfile::TempDir, config: Config) -> Fixture {
    let clock = Arc::new(ManualClock::new(
        DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
    ));
    let (root, _) = Actor::spawn(None, Root, ()).await.unwrap();
    let billing_store = Store::open(&storage_config(dir.path()), "billing").unwrap();
    let provider = Arc::new(SandboxProvider::open(&billing_store).unwrap());
    let billing = billing::start(
        billing_store.clone(),
        provider,
        clock.clone(),
        &config,
        Some(root.get_cell()),
    )
    .await
    .unwrap();
    let store = Store::open(&storage_config(dir.path()), "customers").unwrap();
    let lookup = Arc::new(FakeLookup::default());
    let reservations: LateBound<dyn ReservationLookup> = LateBound::new("reservations");
    reservations.bind(&(lookup.clone() as Arc<dyn ReservationLookup>));
    let customers = start(
        store.clone(),
        billing,
        reservations,
        clock.clone(),
        &config,
        Some(root.get_cell()),
    )
    .await
    .unwrap();
    Fixture {
        dir,
        root,
        stores: [store, billing_store],
        lookup,
        clock,
        customers,
    }
}

pub(super) async fn fixture() -> Fixture {
    launch(tempfile::tempdir().unwrap()).await
}

impl Fixture {
    pub(super) async fn restart(self) -> Fixture {
        self.restart_with(Config::default()).await
    }

    /// Stops everything and starts again on the same directory with `config`.
    pub(super) async fn restart_with(self, config: Config) -> Fixture {
        let Fixture {
            dir,
            root,
            stores,
            customers,
            ..
        } = self;
        root.stop_children_and_wait(None, Some(Duration::from_secs(5)))
            .await;
        root.stop(None);
        for store in &stores {
            store.close().unwrap();
        }
        drop((stores, customers));
        tokio::time::sleep(Duration::from_millis(100)).await;
        launch_with(dir, config).await
    }
}

/// A valid CPF of its own for customer `n`.
pub(super) fn cpf(n: u32) -> String {
    crate::domain::samples::cpf(100_000_000 + u64::from(n))
}

const CARD: &str = "4111111111111111";

pub(super) fn new_customer(cpf: &str, email: &str) -> NewCustomer {
    NewCustomer {
        name: "Ana Souza".into(),
        cpf: cpf.into(),
        cnh: "79143829831".into(),
        email: email.into(),
        phone: "+55 48 99999-1234".into(),
        password: "senha segura 42".into(),
        card: CardInput {
            number: CARD.into(),
            exp_month: 12,
            exp_year: 2030,
            cvc: "123".into(),
            holder_name: "ANA SOUZA".into(),
        }
        .into(),
        locale: None,
    }
}

pub(super) fn ana() -> NewCustomer {
    new_customer("529.982.247-25", "Ana@Example.com")
}

#[tokio::test]
async fn a_valid_registration_is_stored_and_shown_masked() {
    let f = fixture().await;
    let customer = f.customers.register(ana()).await.unwrap();
    assert_eq!(customer.name, "Ana Souza");
    assert_eq!(customer.cpf.as_deref(), Some("***.982.247-**"));
    assert_eq!(customer.cnh.as_deref(), Some("*******9831"));
    assert_eq!(customer.email.as_deref(), Some("ana@example.com"));
    assert_eq!(customer.phone.as_deref(), Some("+5548999991234"));
    let card = customer.card.clone().unwrap();
    assert_eq!((card.brand.as_str(), card.last4.as_str()), ("visa", "1111"));
    assert_eq!((card.exp_month, card.exp_year), (12, 2030));
    assert_eq!(customer.status, CustomerStatus::PendingConfirmation);
    assert_eq!(customer.created_at, customer.updated_at);

    assert_eq!(f.customers.get(customer.id).await.unwrap(), customer);
    assert_eq!(
        f.customers
            .find_by_email(" ANA@example.com ")
            .await
            .unwrap(),
        Some(customer.id)
    );
    let (code, _) = f.code(customer.id);
    f.customers.confirm_email(customer.id, &code).await.unwrap();
    let token = f.customers.payment_token(customer.id).await.unwrap();
    assert!(
        token.starts_with("tok_") && !token.contains("4111"),
        "{token}"
    );
    assert!(matches!(
        f.customers.get(CustomerId::new()).await,
        Err(CustomersError::NotFound)
    ));
}

#[tokio::test]
async fn an_all_invalid_registration_lists_every_field() {
    let f = fixture().await;
    let input = NewCustomer {
        name: "".into(),
        cpf: "123".into(),
        cnh: "abc".into(),
        email: "nobody".into(),
        phone: "123".into(),
        password: "aaaaaaaa".into(),
        card: CardInput {
            number: "1234".into(),
            exp_month: 0,
            exp_year: 30,
            cvc: "x".into(),
            holder_name: "42".into(),
        }
        .into(),
        locale: None,
    };
    let Err(CustomersError::Invalid(errors)) = f.customers.register(input).await else {
        panic!("expected Invalid");
    };
    let fields: Vec<_> = errors.iter().map(|error| error.field).collect();
    assert_eq!(
        fields,
        [
            "name",
            "cpf",
            "cnh",
            "email",
            "phone",
            "password",
            "card.number",
            "card.exp_month",
            "card.exp_year",
            "card.cvc",
            "card.holder_name"
        ]
    );
    assert!(errors.iter().all(|error| !error.reason.is_empty()));
    let page = f.customers.list(10, None).await.unwrap();
    assert!(page.items.is_empty(), "nothing stored");
}

#[tokio::test]
async fn a_cpf_or_an_email_registers_only_once() {
    let f = fixture().await;
    f.customers.register(ana()).await.unwrap();
    let same_cpf = new_customer("52998224725", "other@example.com");
    assert!(matches!(
        f.customers.register(same_cpf).await,
        Err(CustomersError::Conflict { field: "cpf" })
    ));
    let same_email = new_customer(&cpf(1), "ANA@EXAMPLE.COM");
    assert!(matches!(
        f.customers.register(same_email).await,
        Err(CustomersError::Conflict { field: "email" })
    ));
    assert_eq!(f.customers.list(10, None).await.unwrap().items.len(), 1);

    // Past the fail-fast checks, the transaction alone refuses the taken e-mail.
    let first = f.customers.list(1, None).await.unwrap().items[0].id;
    let mut copy = f.customers.tables.get(first).unwrap().unwrap();
    copy.id = CustomerId::new();
    copy.cpf = Some(cpf(5));
    let (slot, _) = f.customers.tables.privacy.new_key(copy.id).unwrap();
    copy.slot = Some(slot);
    let answer = f
        .customers
        .customers
        .call_or_create(copy.id, |reply| CustomerMsg::Create {
            record: copy.clone(),
            reply,
        })
        .await
        .unwrap();
    assert!(matches!(
        answer,
        Err(CustomersError::Conflict { field: "email" })
    ));
    assert!(
        f.customers
            .tables
            .customers
            .get(&copy.id)
            .unwrap()
            .is_none()
    );
    assert!(!f.customers.tables.cpf_taken(&cpf(5)).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_concurrent_registrations_with_one_email_exactly_one_wins() {
    let f = fixture().await;
    for round in 0..3 {
        let email = format!("race{round}@example.com");
        let first = f.customers.clone();
        let second = f.customers.clone();
        let a = new_customer(&cpf(round * 2 + 10), &email);
        let b = new_customer(&cpf(round * 2 + 11), &email);
        let (a, b) = tokio::join!(
            tokio::spawn(async move { first.register(a).await }),
            tokio::spawn(async move { second.register(b).await }),
        );
        let results = [a.unwrap(), b.unwrap()];
        let winners = results.iter().filter(|result| result.is_ok()).count();
        assert_eq!(winners, 1, "{results:?}");
        assert!(
            results
                .iter()
                .any(|result| matches!(result, Err(CustomersError::Conflict { field: "email" }))),
            "{results:?}"
        );
        let owner = f.customers.find_by_email(&email).await.unwrap();
        let winner = results
            .iter()
            .find_map(|result| result.as_ref().ok())
            .unwrap();
        assert_eq!(owner, Some(winner.id));
    }
    // The losers' CPFs were not claimed: they can register with another e-mail.
    let page = f.customers.list(100, None).await.unwrap();
    assert_eq!(page.items.len(), 3);
}

#[tokio::test]
async fn logins_check_the_password_and_do_not_tell_unknown_emails() {
    let f = fixture().await;
    let customer = f.customers.register(ana()).await.unwrap();
    assert_eq!(
        f.customers
            .authenticate("ana@example.com", "senha segura 42")
            .await
            .unwrap(),
        customer.id
    );
    assert_eq!(
        f.customers
            .authenticate("ANA@example.com", "senha segura 42")
            .await
            .unwrap(),
        customer.id
    );
    assert!(matches!(
        f.customers
            .authenticate("ana@example.com", "senha segura 43")
            .await,
        Err(CustomersError::BadCredentials)
    ));
    assert!(matches!(
        f.customers
            .authenticate("bob@example.com", "senha segura 42")
            .await,
        Err(CustomersError::BadCredentials)
    ));
    assert!(matches!(
        f.customers.authenticate("not an e-mail", "x").await,
        Err(CustomersError::BadCredentials)
    ));
}
