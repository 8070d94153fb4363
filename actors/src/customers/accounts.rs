//! Administrator accounts, and the login that serves both kinds of account.
//!
//! Administrators are not customers: no CPF, card or profile, only an e-mail and a password,
//! provisioned from configuration at start-up (`EVR_AUTH__ADMIN_EMAIL`,
//! `EVR_AUTH__ADMIN_PASSWORD`) through [`CustomersHandle::ensure_admin`]. They live in the
//! customers store (table `admins`, keyed by the normalised e-mail) because the login
//! namespace is one: an address names one account, so [`CustomersHandle::login`] can look it
//! up among the administrators, then among the customers.
//!
//! The administrators' writes do not go through an entity actor: the one writer is the
//! start-up call, and its write is one sled transaction that re-reads the administrator and
//! the customers' e-mail index, so even concurrent calls keep one id per address and never
//! take a customer's address.
//!
//! Known race, accepted: a customer's registration transaction (`entity.rs`) does not read the
//! `admins` table, so a customer registering an address in the very milliseconds an
//! administrator is created with it may succeed beside it (each side checks the other's
//! committed state only). Administrators are created once, at start-up, by the operator; the
//! login would then answer as the administrator, whose table it reads first.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use storage::{StorageError, Store, Table, TxAbort, TxError};
use uuid::Uuid;

use super::error::CustomersError;
use super::principal::{Principal, Role};
use super::{CustomersHandle, password, rules};
use crate::domain::{Email, InvalidField};

/// An administrator as stored, under its normalised e-mail. No `Debug`: it holds a hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AdminRecord {
    /// UUIDv7, kept for good once created: sessions and audit entries refer to it.
    pub(crate) id: Uuid,
    /// Lower case (as [`Email`] normalises it); also the key.
    pub(crate) email: String,
    /// PHC string (argon2id), as for customers.
    pub(crate) password_hash: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

impl AdminRecord {
    fn principal(&self) -> Principal {
        Principal {
            subject: self.id,
            role: Role::Admin,
        }
    }
}

/// The administrators' table.
#[derive(Clone)]
pub(crate) struct AdminTables {
    pub(crate) admins: Table<String, AdminRecord>,
}

impl AdminTables {
    pub(crate) fn open(store: &Store) -> Result<AdminTables, StorageError> {
        Ok(AdminTables {
            admins: store.table("admins")?,
        })
    }

    /// Whether `email` (normalised) is an administrator's: customers may not take it.
    pub(crate) fn holds(&self, email: &str) -> Result<bool, StorageError> {
        self.admins.contains(&email.to_owned())
    }

    /// Whether `subject` is an administrator's id. Walks the table: there are a handful.
    pub(crate) fn has_id(&self, subject: Uuid) -> Result<bool, StorageError> {
        for entry in self.admins.iter() {
            if entry?.1.id == subject {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Both fields checked, both failures reported; the password policy is the customers' one.
fn validate(email: &str, password: &str) -> Result<(Email, String), Vec<InvalidField>> {
    match (Email::parse(email), rules::check_password(password)) {
        (Ok(email), Ok(password)) => Ok((email, password)),
        (email, password) => Err(email.err().into_iter().chain(password.err()).collect()),
    }
}

impl CustomersHandle {
    /// Makes sure the administrator `email` exists with `password`: created when missing,
    /// its hash replaced when the password no longer verifies (changed in the configuration),
    /// left alone otherwise, so that calling it at every start-up keeps the same id. An
    /// address registered by a customer is a `Conflict { field: "email" }`. Durable before it
    /// answers.
    pub async fn ensure_admin(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Principal, CustomersError> {
        let (email, password) = validate(email, password).map_err(CustomersError::Invalid)?;
        let email = email.as_str().to_owned();
        if self.tables.by_email.get(&email)?.is_some() {
            return Err(CustomersError::Conflict { field: "email" });
        }
        if let Some(current) = self.admins.admins.get(&email)?
            && password::verify(password.clone(), Some(current.password_hash.clone())).await?
        {
            // Possibly read from a concurrent call's write that is not on disk yet.
            self.tables.store.commit().await?;
            return Ok(current.principal());
        }
        let password_hash = password::hash(password).await?;
        let now = self.clock.now();
        let fresh_id = Uuid::now_v7();
        let (admins, by_email) = (&self.admins.admins, &self.tables.by_email);
        let written = self
            .tables
            .store
            .transaction::<(AdminRecord, bool), CustomersError>(&[admins, by_email], |tx| {
                if tx.index(by_email)?.get(&email)?.is_some() {
                    return Err(TxAbort::abort(CustomersError::Conflict { field: "email" }));
                }
                let admins = tx.table(admins)?;
                let (next, created) = match admins.get(&email)? {
                    Some(existing) => (
                        AdminRecord {
                            password_hash: password_hash.clone(),
                            updated_at: now,
                            ..existing
                        },
                        false,
                    ),
                    None => (
                        AdminRecord {
                            id: fresh_id,
                            email: email.clone(),
                            password_hash: password_hash.clone(),
                            created_at: now,
                            updated_at: now,
                        },
                        true,
                    ),
                };
                admins.insert(&email, &next)?;
                Ok((next, created))
            });
        let (record, created) = match written {
            Ok(written) => written,
            Err(TxError::Aborted(error)) => return Err(error),
            Err(TxError::Storage(error)) => return Err(error.into()),
        };
        self.tables.store.commit().await?;
        if created {
            tracing::info!(admin = %record.id, "administrator account created");
        } else {
            tracing::info!(admin = %record.id, "administrator password replaced");
        }
        Ok(record.principal())
    }

    /// Checks a login of either kind of account: an administrator's address against the
    /// administrator's hash, any other through [`CustomersHandle::authenticate`]. Every path
    /// costs exactly one hash verification (an unknown address verifies a dummy hash), so the
    /// timing tells neither whether an account exists nor which kind it is; every failure,
    /// erased customers included, is `BadCredentials`.
    pub async fn login(&self, email: &str, password: &str) -> Result<Principal, CustomersError> {
        let admin = match Email::parse(email) {
            Ok(email) => self.admins.admins.get(&email.as_str().to_owned())?,
            Err(_) => None,
        };
        match admin {
            Some(admin) => {
                let hash = Some(admin.password_hash.clone());
                if password::verify(password.to_owned(), hash).await? {
                    Ok(admin.principal())
                } else {
                    Err(CustomersError::BadCredentials)
                }
            }
            None => self
                .authenticate(email, password)
                .await
                .map(Principal::customer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_fields_are_validated_together() {
        let Err(errors) = validate("nobody", "short") else {
            panic!("expected failures");
        };
        let fields: Vec<_> = errors.iter().map(|error| error.field).collect();
        assert_eq!(fields, ["email", "password"]);
        let (email, password) = validate(" Root@Example.com ", "admin senha 1")
            .unwrap_or_else(|errors| panic!("{errors:?}"));
        assert_eq!(
            (email.as_str(), password.as_str()),
            ("root@example.com", "admin senha 1")
        );
    }
}
