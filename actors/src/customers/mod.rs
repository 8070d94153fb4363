//! Customers: registration, profiles, logins and erasure.
//!
//! The service owns the `customers` store: one record per account, and unique indexes of CPF
//! and e-mail that are claimed in the same transaction as the record, so two registrations
//! racing for one e-mail cannot both win. Every change is durable (`Store::commit`) before it
//! is acknowledged. Secrets never rest here in the clear: the password only as an argon2id
//! hash, the card only as the processor's token with brand, last four digits and expiry (the
//! number goes straight from validation to `BillingHandle::tokenize_card`), and every personal
//! field sealed under the customer's own key, the indexes keyed by blind HMACs (`privacy`).
//! Erasure (LGPD) destroys that key and keeps the record's id, which reservations and the
//! billing ledger refer to.
//!
//! The store also holds the administrator accounts (provisioned from configuration, see
//! `accounts.rs`), because one e-mail names one account of either kind, and the login
//! sessions: families of rotating refresh tokens, kept only as hashes (see `sessions.rs`).

mod accounts;
mod admin_totp;
mod card_rules;
mod cards;
mod confirmation;
mod confirmation_rules;
mod contact;
mod entity;
mod error;
mod model;
mod password;
mod principal;
mod privacy;
mod rules;
mod session_purge;
mod session_records;
mod session_rules;
mod sessions;
mod stored;

use std::ops::Bound;

use chrono::NaiveDate;
use ractor::ActorCell;
use storage::Store;

use crate::ask::AskError;
use crate::billing::BillingHandle;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::domain::Email;
use crate::entity::{EntityRef, SupervisorConfig, start_entities};
use crate::ids::{CustomerId, ReservationId};
use crate::ports::{LateBound, ReservationLookup};

pub use error::CustomersError;
pub use model::{
    CardInput, CardView, Customer, CustomerPatch, CustomerStatus, NewCustomer, Page, PaymentCard,
};
pub use principal::{Principal, Role};
pub use privacy::{
    Restored, SlotBytes, VaultError, VaultReplica, VaultReplicaError, VaultReplicaSlot,
    restore_vault,
};
pub use sessions::IssuedRefresh;

use accounts::AdminTables;
pub use accounts::Provisioned;
pub use admin_totp::{RECOVERY_CODES, TotpSetup};
use entity::{CustomerEntity, CustomerMsg, CustomersContext, Tables};
use model::{Change, CustomerRecord, StoredStatus};
use sessions::SessionTables;

/// The largest page [`CustomersHandle::list`] returns.
pub const MAX_PAGE: usize = 500;

/// The customers service's API. Cheap to clone.
#[derive(Clone)]
pub struct CustomersHandle {
    customers: EntityRef<CustomerEntity>,
    tables: Tables,
    admins: AdminTables,
    totp: admin_totp::TotpTable,
    /// `auth.require_admin_totp`: administrators without a second factor may only set one up.
    require_admin_totp: bool,
    /// `notify.require_email_confirmation`: new and changed addresses are confirmed by code.
    require_confirmation: bool,
    sessions: SessionTables,
    billing: BillingHandle,
    reservations: LateBound<dyn ReservationLookup>,
    clock: SharedClock,
}

impl std::fmt::Debug for CustomersHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomersHandle").finish_non_exhaustive()
    }
}

/// Starts the customers service on its store, under `parent`. `reservations` is bound once the
/// reservations service runs; until then erasure answers `Unavailable`.
pub async fn start(
    store: Store,
    billing: BillingHandle,
    reservations: LateBound<dyn ReservationLookup>,
    clock: SharedClock,
    config: &Config,
    parent: Option<ActorCell>,
) -> Result<CustomersHandle, ractor::SpawnErr> {
    // The data directory is the store's parent: the vault and a generated key live beside
    // the stores they open.
    let data_dir = store.path().parent().unwrap_or(store.path()).to_owned();
    let privacy = privacy::Privacy::open(
        &config.auth.data_key,
        &config.auth.previous_data_keys,
        &data_dir,
        config.auth.vault_replica.get().cloned(),
    )
    .map_err(|error| ractor::SpawnErr::StartupFailed(error.into()))?;
    let opened = Tables::open(&store, privacy).and_then(|tables| {
        Ok((
            tables,
            AdminTables::open(&store)?,
            SessionTables::open(&store)?,
        ))
    });
    let (tables, admins, sessions) =
        opened.map_err(|error| ractor::SpawnErr::StartupFailed(error.into()))?;
    let totp = store
        .table("admin_totp")
        .map(admin_totp::TotpTable)
        .map_err(|error| ractor::SpawnErr::StartupFailed(error.into()))?;
    privacy::sweep::run(&tables)
        .await
        .map_err(|error| ractor::SpawnErr::StartupFailed(error.into()))?;
    let context = CustomersContext {
        tables: tables.clone(),
        admins: admins.admins.clone(),
        clock: clock.clone(),
        billing: billing.clone(),
        confirmation_ttl: confirmation::ttl(config.notify.confirmation_ttl_min),
    };
    let customers =
        start_entities::<CustomerEntity>(context, SupervisorConfig::from_config(config), parent)
            .await?;
    Ok(CustomersHandle {
        customers,
        tables,
        admins,
        totp,
        require_admin_totp: config.auth.require_admin_totp,
        require_confirmation: config.notify.require_email_confirmation,
        sessions,
        billing,
        reservations,
        clock,
    })
}

impl CustomersHandle {
    fn today(&self) -> NaiveDate {
        self.clock.now().date_naive()
    }

    fn record(&self, id: CustomerId) -> Result<CustomerRecord, CustomersError> {
        self.tables.get(id)?.ok_or(CustomersError::NotFound)
    }

    /// Registers a customer. Every field is validated and all failures come back together;
    /// a CPF or e-mail already registered is a `Conflict` (checked first to fail fast, but the
    /// transaction that stores the record is the authority), and so is an administrator's
    /// e-mail (checked here only: see `accounts.rs` for the race this leaves).
    pub async fn register(&self, input: NewCustomer) -> Result<Customer, CustomersError> {
        let valid = rules::validate_new(&input, self.today()).map_err(CustomersError::Invalid)?;
        self.check_card_kind(&valid.card)?;
        let cpf = valid.cpf.as_str().to_owned();
        let email = valid.email.as_str().to_owned();
        if self.tables.cpf_taken(&cpf)? {
            return Err(CustomersError::Conflict { field: "cpf" });
        }
        if self.tables.email_owner(&email)?.is_some() || self.admins.holds(&email)? {
            return Err(CustomersError::Conflict { field: "email" });
        }
        let id = CustomerId::new();
        let (password_hash, card) = tokio::join!(
            password::hash(valid.password),
            self.tokenize(id, valid.card, id.to_string()),
        );
        let (password_hash, card) = (password_hash?, card?);
        // The key first, durably: the record that names it is committed after it.
        let privacy = self.tables.privacy.clone();
        let (slot, _) = privacy::blocking(move || privacy.new_key(id)).await?;
        let now = self.clock.now();
        let record = CustomerRecord {
            id,
            slot: Some(slot),
            name: valid.name.as_str().to_owned(),
            cpf: Some(cpf),
            cnh: Some(valid.cnh.as_str().to_owned()),
            email: Some(email),
            phone: Some(valid.phone.as_str().to_owned()),
            password_hash: Some(password_hash),
            card: Some(card),
            status: if self.require_confirmation {
                StoredStatus::PendingConfirmation
            } else {
                StoredStatus::Active
            },
            outstanding: Vec::new(),
            locale: valid.locale,
            email_change_pending: false,
            created_at: now,
            updated_at: now,
        };
        // The id was generated here: the one place where an entity is created.
        let created = self
            .customers
            .call_or_create(id, |reply| CustomerMsg::Create {
                record: record.clone(),
                reply,
            })
            .await
            .map_err(CustomersError::from)
            .and_then(|created| created);
        if matches!(created, Err(CustomersError::Conflict { .. })) {
            // Refused by the transaction, so no record names the key. (After a timeout the
            // record may still land: such a key is left to the start-up sweep, which destroys
            // only keys that no record names.)
            let privacy = self.tables.privacy.clone();
            let _ = privacy::blocking(move || privacy.destroy(id, slot)).await;
        }
        created
    }

    /// One customer (read from the store).
    pub async fn get(&self, id: CustomerId) -> Result<Customer, CustomersError> {
        Ok(rules::view(&self.record(id)?))
    }

    /// Customers in creation order (ids are UUIDv7), `limit` at most [`MAX_PAGE`], starting
    /// after the cursor `after`. For admins.
    pub async fn list(
        &self,
        limit: usize,
        after: Option<CustomerId>,
    ) -> Result<Page<Customer>, CustomersError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut items = Vec::with_capacity(limit);
        let mut more = false;
        for entry in self.tables.customers.range((start, Bound::Unbounded)) {
            let (_, stored) = entry?;
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(rules::view(&self.tables.open_stored(stored)?));
        }
        let next_cursor = if more {
            items.last().map(|customer: &Customer| customer.id)
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// How many customers owe money and how much together (for the audit): walks the whole
    /// store, so not for request paths.
    pub fn outstanding_balances(&self) -> Result<(u64, i64), CustomersError> {
        let mut owing = 0;
        let mut owed = 0;
        for entry in self.tables.customers.iter() {
            let (_, record) = entry?;
            let cents = record.outstanding_cents();
            if cents > 0 {
                owing += 1;
                owed += cents;
            }
        }
        Ok((owing, owed))
    }

    /// The account registered under `email` (compared as normalised: lower case, trimmed).
    pub async fn find_by_email(&self, email: &str) -> Result<Option<CustomerId>, CustomersError> {
        let Ok(email) = Email::parse(email) else {
            return Ok(None);
        };
        Ok(self.tables.email_owner(email.as_str())?)
    }

    /// Checks a login. An unknown e-mail still costs one hash verification (against a fixed
    /// dummy hash), so the answer's timing does not tell which e-mails have accounts; erased
    /// accounts cannot log in (accounts waiting for their confirmation can: they confirm
    /// logged in).
    pub async fn authenticate(
        &self,
        email: &str,
        password: &str,
    ) -> Result<CustomerId, CustomersError> {
        let id = self.find_by_email(email).await?;
        let record = match id {
            Some(id) => self.tables.get(id)?,
            None => None,
        };
        let active = record.filter(|record| record.status != StoredStatus::Erased);
        let hash = active
            .as_ref()
            .and_then(|record| record.password_hash.clone());
        let matches = password::verify(password.to_owned(), hash).await?;
        match active {
            Some(record) if matches => Ok(record.id),
            _ => Err(CustomersError::BadCredentials),
        }
    }

    /// Changes a profile. Present fields are validated like a registration (all failures at
    /// once); a new e-mail moves its unique index entry in the same transaction (and may not
    /// be an administrator's); a new card is tokenized, a new password hashed. A new e-mail or
    /// password needs `current_password`; a new password ends every session of the account
    /// but `session` (the one asking), before it is stored, so no old session outlives it.
    pub async fn update(
        &self,
        id: CustomerId,
        patch: CustomerPatch,
        session: Option<uuid::Uuid>,
    ) -> Result<Customer, CustomersError> {
        let current = self.record(id)?;
        if current.status == StoredStatus::Erased {
            return Err(CustomersError::Erased);
        }
        let valid = rules::validate_patch(&patch, self.today()).map_err(CustomersError::Invalid)?;
        if let Some(card) = &valid.card {
            self.check_card_kind(card)?;
        }
        if valid.email.is_some() || valid.password.is_some() {
            self.check_current_password(&current, patch.current_password.as_deref())
                .await?;
        }
        let email = valid
            .email
            .map(String::from)
            .filter(|email| current.email.as_ref() != Some(email));
        if let Some(email) = &email
            && (self
                .tables
                .email_owner(email)?
                .is_some_and(|owner| owner != id)
                || self.admins.holds(email)?)
        {
            return Err(CustomersError::Conflict { field: "email" });
        }
        let password_hash = match valid.password {
            Some(password) => Some(password::hash(password).await?),
            None => None,
        };
        if password_hash.is_some() {
            self.end_other_sessions(id.0, session).await?;
        }
        let card = match valid.card {
            // A key of its own per new card: the registration's key (the id) was used already.
            Some(card) => Some(
                self.tokenize(id, card, format!("{id}:card:{}", uuid::Uuid::now_v7()))
                    .await?,
            ),
            None => None,
        };
        // With confirmation on, a new address waits for its code; the rest applies now.
        let (email, confirm_address) = match email {
            Some(email) if self.require_confirmation => (None, Some(email)),
            email => (email, None),
        };
        let change = Change {
            name: valid.name.map(String::from),
            email,
            phone: valid.phone.map(String::from),
            card,
            password_hash,
            locale: valid.locale.filter(|locale| *locale != current.locale),
        };
        let mut view = rules::view(&current);
        if change != Change::default() {
            view = self
                .customers
                .call(id, |reply| CustomerMsg::Update {
                    change: change.clone(),
                    reply,
                })
                .await??;
        }
        if let Some(email) = confirm_address {
            view = self.request_address_change(id, email).await?;
        }
        Ok(view)
    }

    /// Refuses a change of credentials without the password in use (one hash verification).
    async fn check_current_password(
        &self,
        record: &CustomerRecord,
        given: Option<&str>,
    ) -> Result<(), CustomersError> {
        let refuse = |reason: &str| {
            CustomersError::Invalid(vec![crate::domain::InvalidField {
                field: "current_password",
                reason: reason.into(),
            }])
        };
        let Some(given) = given else {
            return Err(refuse("required to change the e-mail or the password"));
        };
        if password::verify(given.to_owned(), record.password_hash.clone()).await? {
            Ok(())
        } else {
            Err(refuse("does not match the password in use"))
        }
    }

    /// Erases a customer's personal data (LGPD), refused while a reservation of theirs is open:
    /// their key is destroyed, so no copy of the data opens again. Only this store: the
    /// erasure that reaches every service, in turn with the customer's bookings, is
    /// `ReservationsHandle::erase_customer`.
    /// The CPF and e-mail become free to register again; the record and its id stay. Erasing
    /// an erased customer returns it unchanged.
    pub async fn erase(&self, id: CustomerId) -> Result<Customer, CustomersError> {
        let current = self.record(id)?;
        if current.status == StoredStatus::Erased {
            return Ok(rules::view(&current));
        }
        let lookup = self.reservations.get()?;
        if lookup.customer_has_open(id).await? {
            return Err(CustomersError::OpenReservation);
        }
        self.customers
            .call(id, |reply| CustomerMsg::Erase { reply })
            .await?
    }

    /// The token of the card on file, whatever the customer owes: for the erasure, which has
    /// the payment provider forget it.
    pub fn card_token(&self, id: CustomerId) -> Result<Option<String>, CustomersError> {
        Ok(self.record(id)?.card.map(|card| card.token))
    }

    /// The card token reservations place holds with; refused while the customer owes money.
    pub async fn payment_token(&self, id: CustomerId) -> Result<String, CustomersError> {
        let record = self.record(id)?;
        match record.status {
            StoredStatus::Erased => return Err(CustomersError::Erased),
            StoredStatus::PendingConfirmation => return Err(CustomersError::EmailUnconfirmed),
            StoredStatus::Active => {}
        }
        let outstanding_cents = record.outstanding_cents();
        if outstanding_cents > 0 {
            return Err(CustomersError::OutstandingBalance { outstanding_cents });
        }
        record
            .card
            .map(|card| card.token)
            .ok_or(CustomersError::NoCard)
    }

    /// Records what the card refused of `reservation`'s cost as owed by the customer
    /// (idempotent per reservation: the latest amount stands).
    pub async fn record_outstanding(
        &self,
        id: CustomerId,
        reservation: ReservationId,
        cents: i64,
    ) -> Result<Customer, CustomersError> {
        self.customers
            .call(id, |reply| CustomerMsg::RecordOutstanding {
                reservation,
                cents,
                reply,
            })
            .await?
    }

    /// Charges the card on file for the outstanding balance, reservation by reservation;
    /// what is paid leaves the balance. Refused again: `OutstandingBalance` with what is left.
    pub async fn pay_outstanding(&self, id: CustomerId) -> Result<Customer, CustomersError> {
        self.customers
            .call(id, |reply| CustomerMsg::PayOutstanding { reply })
            .await?
    }

    /// Whether the service's supervisor runs (readiness).
    pub fn ping(&self) -> Result<(), AskError> {
        self.customers.ping()
    }

    /// Counters of the customers' actors, for metrics.
    pub fn stats(&self) -> crate::entity::EntityStats {
        self.customers.stats()
    }
}

#[cfg(test)]
mod accounts_tests;
#[cfg(test)]
mod sessions_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod totp_tests;
