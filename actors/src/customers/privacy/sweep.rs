//! The start-up sweep of the key vault, before any customer actor runs.
//!
//! 1. Keys no record names are destroyed: a registration that crashed (or was refused) after
//!    its key was stored, or an erasure that crashed after its record was committed and before
//!    its key was destroyed. Without this, an erased customer's data could still be opened.
//! 2. Keys wrapped by an earlier data key (`auth.previous_data_keys`) are wrapped again by the
//!    current one, and the customer's blind-index entries are moved to the current key's. The
//!    index moves first, in one transaction (claiming is idempotent, releasing a missing entry
//!    is a no-op), and the slot after, so a crash between the two is repaired by the next start.
//!
//! Walks every customer once: O(customers) at start, a few seconds per million.
//!
//! In cluster mode a destroy here erases the slot from the vault's bucket too, so the sweep must
//! never see a store that lacks a committed record. It runs on the leader only, in the customers
//! service's start, which comes after the node read the log to its end, fenced it and restored
//! its vault file from the bucket (`gateway/src/cluster/node.rs`): every record any leader
//! acknowledged is in the log, hence in these stores, and names its slot; a slot no record names
//! belonged to a registration whose record never reached the log (never acknowledged) or to an
//! erasure that was, and destroying it is what a single node would do after a crash.

use storage::{TxAbort, TxError};

use super::DataKey;
use crate::customers::entity::Tables;
use crate::customers::error::CustomersError;
use crate::customers::stored;
use crate::ids::CustomerId;

/// What a sweep did, for the log and the tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Swept {
    pub(crate) destroyed: usize,
    pub(crate) rewrapped: usize,
}

/// Runs the sweep over `tables`' customers and their vault.
pub(crate) async fn run(tables: &Tables) -> Result<Swept, CustomersError> {
    let mut swept = Swept::default();
    let current = tables.privacy.keys().current.id();
    for (slot, owner, key_id) in tables.privacy.vault().used() {
        let customer = CustomerId(uuid::Uuid::from_bytes(owner));
        let named = tables
            .customers
            .get(&customer)?
            .is_some_and(|record| record.slot == Some(slot));
        if !named {
            let privacy = tables.privacy.clone();
            super::blocking(move || privacy.destroy(customer, slot)).await?;
            swept.destroyed += 1;
            continue;
        }
        if key_id == current {
            continue;
        }
        let Some(old) = tables.privacy.keys().by_id(key_id).cloned() else {
            return Err(super::VaultError::UnknownDataKey(slot).into());
        };
        reindex(tables, customer, &old)?;
        tables.store.commit().await?;
        let privacy = tables.privacy.clone();
        super::blocking(move || {
            privacy
                .vault()
                .rewrap(slot, customer.0.as_bytes(), privacy.keys())
        })
        .await?;
        swept.rewrapped += 1;
    }
    if swept != Swept::default() {
        tracing::info!(
            destroyed = swept.destroyed,
            rewrapped = swept.rewrapped,
            "customer key vault swept"
        );
    }
    Ok(swept)
}

/// Moves `customer`'s CPF and e-mail index entries from `old`'s blind keys to the current's.
fn reindex(tables: &Tables, customer: CustomerId, old: &DataKey) -> Result<(), CustomersError> {
    let Some(record) = tables.customers.get(&customer)? else {
        return Ok(());
    };
    let record = stored::open(record, &tables.privacy)?;
    let privacy = &tables.privacy;
    let moves: Vec<(bool, String, String)> = [
        record
            .cpf
            .as_deref()
            .map(|cpf| (true, old.blind("cpf", cpf), privacy.blind_cpf(cpf))),
        record
            .email
            .as_deref()
            .map(|email| (false, old.blind("email", email), privacy.blind_email(email))),
    ]
    .into_iter()
    .flatten()
    .collect();
    let moved =
        tables
            .store
            .transaction::<(), CustomersError>(&[&tables.by_cpf, &tables.by_email], |tx| {
                for (is_cpf, from, to) in &moves {
                    let index = if *is_cpf {
                        tx.index(&tables.by_cpf)?
                    } else {
                        tx.index(&tables.by_email)?
                    };
                    index.release(from, &customer)?;
                    index.claim(to, &customer)?;
                }
                Ok::<(), TxAbort<CustomersError>>(())
            });
    match moved {
        Ok(()) => Ok(()),
        Err(TxError::Aborted(error)) => Err(error),
        Err(TxError::Storage(error)) => Err(error.into()),
    }
}
