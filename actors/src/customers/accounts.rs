//! Administrator accounts, and the login that serves both kinds of account.
//!
//! Administrators are not customers: no CPF, card or profile, only an e-mail and a password,
//! provisioned from configuration at start-up (`EVR_AUTH__ADMIN_EMAIL`,
//! `EVR_AUTH__ADMIN_PASSWORD`) through [`CustomersHandle::provision_admin`]. They live in the
//! customers store (table `admins`, keyed by the normalised e-mail) because the login
//! namespace is one: an address names one account, so [`CustomersHandle::login`] can look it
//! up among the administrators, then among the customers.
//!
//! The configuration is the list of administrators: one that is no longer configured is
//! disabled at start (its logins refused, its sessions ended), and enabled again with its old
//! id if configured again.
//!
//! The administrators' writes do not go through an entity actor: the one writer is the
//! start-up call, and its write is one sled transaction that re-reads the administrator and
//! the customers' e-mail index; a customer's registration transaction reads the `admins`
//! table in turn (`entity.rs`), so the two can never both take an address. A customer who
//! registered the configured address before it was configured keeps it: the start goes on
//! without that administrator, and says so in the log.

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
    /// Set when the address was no longer configured at a start: logins are refused.
    pub(crate) disabled_at: Option<DateTime<Utc>>,
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

    /// Whether `subject` is an enabled administrator's id. Walks the table: there are a
    /// handful.
    pub(crate) fn has_id(&self, subject: Uuid) -> Result<bool, StorageError> {
        for entry in self.admins.iter() {
            let admin = entry?.1;
            if admin.id == subject && admin.disabled_at.is_none() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// What [`CustomersHandle::ensure_admin`] changed.
enum Change {
    Created,
    Enabled,
    PasswordReplaced,
}

/// Both fields checked, both failures reported; the password policy is the customers' one.
fn validate(email: &str, password: &str) -> Result<(Email, String), Vec<InvalidField>> {
    match (Email::parse(email), rules::check_password(password)) {
        (Ok(email), Ok(password)) => Ok((email, password)),
        (email, password) => Err(email.err().into_iter().chain(password.err()).collect()),
    }
}

/// What provisioning did at a start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// The configured administrator, when it could be provisioned.
    pub admin: Option<Principal>,
    /// The configured address belongs to a customer: no administrator was provisioned.
    pub address_taken: bool,
    /// Administrators disabled because they are no longer configured.
    pub disabled: usize,
}

impl CustomersHandle {
    /// Makes the administrators match the configuration: `configured` (e-mail, password), if
    /// any, exists and is enabled; every other administrator is disabled and its sessions
    /// ended. A customer holding the configured address is not an error that stops the start
    /// (the address is theirs): `address_taken` says so.
    pub async fn provision_admin(
        &self,
        configured: Option<(&str, &str)>,
    ) -> Result<Provisioned, CustomersError> {
        let mut provisioned = Provisioned {
            admin: None,
            address_taken: false,
            disabled: 0,
        };
        let keep = match configured {
            Some((email, password)) => match self.ensure_admin(email, password).await {
                Ok(admin) => {
                    provisioned.admin = Some(admin);
                    Some(admin.subject)
                }
                Err(CustomersError::Conflict { .. }) => {
                    provisioned.address_taken = true;
                    None
                }
                Err(error) => return Err(error),
            },
            None => None,
        };
        let now = self.clock.now();
        for entry in self.admins.admins.iter() {
            let (email, admin) = entry?;
            if Some(admin.id) == keep || admin.disabled_at.is_some() {
                continue;
            }
            let disabled = AdminRecord {
                disabled_at: Some(now),
                updated_at: now,
                ..admin.clone()
            };
            self.admins.admins.insert(&email, &disabled)?;
            self.tables.store.commit().await?;
            self.end_other_sessions(admin.id, None).await?;
            provisioned.disabled += 1;
            tracing::warn!(admin = %admin.id, "administrator no longer configured: disabled");
        }
        Ok(provisioned)
    }

    /// Makes sure the administrator `email` exists, enabled, with `password`: created when
    /// missing, its hash replaced when the password no longer verifies (changed in the
    /// configuration; its sessions end then), left alone otherwise, so that calling it at every
    /// start-up keeps the same id. An address registered by a customer is a
    /// `Conflict { field: "email" }`. Durable before it answers.
    pub async fn ensure_admin(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Principal, CustomersError> {
        let (email, password) = validate(email, password).map_err(CustomersError::Invalid)?;
        let email = email.as_str().to_owned();
        let blind = self.tables.privacy.blind_email(&email);
        if self.tables.by_email.get(&blind)?.is_some() {
            return Err(CustomersError::Conflict { field: "email" });
        }
        let current = self.admins.admins.get(&email)?;
        let verified = match &current {
            Some(current) => {
                password::verify(password.clone(), Some(current.password_hash.clone())).await?
            }
            None => false,
        };
        let password_hash = match current {
            Some(current) if verified && current.disabled_at.is_none() => {
                // Possibly read from a concurrent call's write that is not on disk yet.
                self.tables.store.commit().await?;
                return Ok(current.principal());
            }
            Some(current) if verified => current.password_hash,
            _ => password::hash(password).await?,
        };
        let now = self.clock.now();
        let fresh_id = Uuid::now_v7();
        let (admins, by_email) = (&self.admins.admins, &self.tables.by_email);
        let written = self
            .tables
            .store
            .transaction::<(AdminRecord, Change), CustomersError>(&[admins, by_email], |tx| {
                if tx.index(by_email)?.get(&blind)?.is_some() {
                    return Err(TxAbort::abort(CustomersError::Conflict { field: "email" }));
                }
                let admins = tx.table(admins)?;
                let (next, change) = match admins.get(&email)? {
                    Some(existing) => {
                        let change = if existing.password_hash == password_hash {
                            Change::Enabled
                        } else {
                            Change::PasswordReplaced
                        };
                        let next = AdminRecord {
                            password_hash: password_hash.clone(),
                            disabled_at: None,
                            updated_at: now,
                            ..existing
                        };
                        (next, change)
                    }
                    None => (
                        AdminRecord {
                            id: fresh_id,
                            email: email.clone(),
                            password_hash: password_hash.clone(),
                            disabled_at: None,
                            created_at: now,
                            updated_at: now,
                        },
                        Change::Created,
                    ),
                };
                admins.insert(&email, &next)?;
                Ok((next, change))
            });
        let (record, change) = match written {
            Ok(written) => written,
            Err(TxError::Aborted(error)) => return Err(error),
            Err(TxError::Storage(error)) => return Err(error.into()),
        };
        self.tables.store.commit().await?;
        match change {
            Change::Created => tracing::info!(admin = %record.id, "administrator account created"),
            Change::Enabled => tracing::info!(admin = %record.id, "administrator enabled again"),
            Change::PasswordReplaced => {
                self.end_other_sessions(record.id, None).await?;
                tracing::info!(admin = %record.id, "administrator password replaced");
            }
        }
        Ok(record.principal())
    }

    /// Checks a login of either kind of account: an administrator's address against the
    /// administrator's hash, any other through [`CustomersHandle::authenticate`]. Every path
    /// costs exactly one hash verification (an unknown address verifies a dummy hash), so the
    /// timing tells neither whether an account exists nor which kind it is; every failure,
    /// erased customers included, is `BadCredentials`. An administrator with two-factor
    /// authentication on also needs `totp_code` (see `admin_totp`): without one the answer is
    /// `TotpRequired`, with a wrong one `BadCredentials`.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        totp_code: Option<&str>,
    ) -> Result<Principal, CustomersError> {
        let admin = match Email::parse(email) {
            Ok(email) => self.admins.admins.get(&email.as_str().to_owned())?,
            Err(_) => None,
        };
        match admin {
            Some(admin) => {
                let hash = Some(admin.password_hash.clone());
                // Verified even when disabled, so the timing does not tell.
                let matches = password::verify(password.to_owned(), hash).await?;
                if matches && admin.disabled_at.is_none() {
                    self.check_second_factor(admin.principal(), totp_code)
                        .await?;
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
