//! A customer as written to the store: everything personal sealed under the customer's key.
//!
//! The in-memory [`CustomerRecord`] holds the fields in the clear for the rules and the views;
//! it never reaches the disk. What does is a [`StoredCustomer`]: the id, the key's vault slot,
//! the sealed personal fields, and what is not personal (status, debts, times, the password's
//! argon2id hash, which reveals nothing without a guess and must be checked at every login).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::{CustomerRecord, StoredCard, StoredStatus};
use super::privacy::{Privacy, Sealed, VaultError};
use super::rules::ERASED_NAME;
use crate::ids::{CustomerId, ReservationId};

/// The personal fields, sealed together.
#[derive(Serialize, Deserialize)]
struct Personal {
    name: String,
    cpf: Option<String>,
    cnh: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    card: Option<StoredCard>,
}

/// A customer as stored. No `Debug`: it holds a password hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredCustomer {
    pub(crate) id: CustomerId,
    /// The vault slot of the customer's key; `None` once erased (the key is destroyed).
    pub(crate) slot: Option<u64>,
    /// The personal fields; `None` once erased.
    personal: Option<Sealed>,
    pub(crate) password_hash: Option<String>,
    pub(crate) status: StoredStatus,
    pub(crate) outstanding: Vec<(ReservationId, i64)>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

impl StoredCustomer {
    /// The outstanding balance, in centavos (no key needed).
    pub(crate) fn outstanding_cents(&self) -> i64 {
        self.outstanding.iter().map(|(_, cents)| cents).sum()
    }
}

/// Seals `record` for the store.
pub(crate) fn seal(
    record: &CustomerRecord,
    privacy: &Privacy,
) -> Result<StoredCustomer, VaultError> {
    let personal = match record.slot {
        Some(slot) => {
            let key = privacy.key(record.id, slot)?;
            let personal = Personal {
                name: record.name.clone(),
                cpf: record.cpf.clone(),
                cnh: record.cnh.clone(),
                email: record.email.clone(),
                phone: record.phone.clone(),
                card: record.card.clone(),
            };
            Some(key.seal(record.id, &personal)?)
        }
        None => None,
    };
    Ok(StoredCustomer {
        id: record.id,
        slot: record.slot,
        personal,
        password_hash: record.password_hash.clone(),
        status: record.status,
        outstanding: record.outstanding.clone(),
        created_at: record.created_at,
        updated_at: record.updated_at,
    })
}

/// Opens a stored customer. An erased one (no slot) has no personal fields.
pub(crate) fn open(
    stored: StoredCustomer,
    privacy: &Privacy,
) -> Result<CustomerRecord, VaultError> {
    let personal = match (stored.slot, &stored.personal) {
        (Some(slot), Some(sealed)) => Some(
            privacy
                .key(stored.id, slot)?
                .open::<Personal>(stored.id, sealed)?,
        ),
        _ => None,
    };
    let personal = personal.unwrap_or(Personal {
        name: ERASED_NAME.to_owned(),
        cpf: None,
        cnh: None,
        email: None,
        phone: None,
        card: None,
    });
    Ok(CustomerRecord {
        id: stored.id,
        slot: stored.slot,
        name: personal.name,
        cpf: personal.cpf,
        cnh: personal.cnh,
        email: personal.email,
        phone: personal.phone,
        password_hash: stored.password_hash,
        card: personal.card,
        status: stored.status,
        outstanding: stored.outstanding,
        // Both live in tables of their own: `Tables::get` fills them in.
        locale: crate::domain::Locale::default(),
        email_change_pending: false,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    })
}
