//! The billing store's charge tables: a header per charge and the ledger entries keyed by
//! `(reservation, seq)`, so that appending never rewrites an entry.

use chrono::{DateTime, Utc};
use storage::{StorageError, Store, Table, TxAbort, TxError};

use super::domain_events;
use super::events::ProcessedEvent;
use super::model::{ChargeHeader, ChargeRecord, EntryKind, StoredEntry};
use crate::ids::ReservationId;

/// The charge tables of the billing store.
#[derive(Clone)]
pub(crate) struct Tables {
    pub(crate) store: Store,
    pub(crate) charges: Table<ReservationId, ChargeHeader>,
    pub(crate) ledger: Table<(ReservationId, u32), StoredEntry>,
    /// Charges whose hold is still open or not yet placed, kept with every write.
    pub(crate) unresolved: Table<ReservationId, ()>,
    /// The charge of each hold's and sale's provider reference, kept with every write: how a
    /// provider's event finds its charge.
    pub(crate) by_provider_ref: Table<String, ReservationId>,
    /// The provider events received, by provider and event id: a replay changes nothing.
    pub(crate) provider_events: Table<(String, String), ProcessedEvent>,
}

impl Tables {
    pub(crate) fn open(store: &Store) -> Result<Tables, StorageError> {
        Ok(Tables {
            store: store.clone(),
            charges: store.table("charges")?,
            ledger: store.table("ledger")?,
            unresolved: store.table("unresolved_charges")?,
            by_provider_ref: store.table("charges_by_provider_ref")?,
            provider_events: store.table("provider_events")?,
        })
    }

    /// The charge of `id`, header and ledger, if it exists.
    pub(crate) fn load(&self, id: ReservationId) -> Result<Option<ChargeRecord>, StorageError> {
        let Some(header) = self.charges.get(&id)? else {
            return Ok(None);
        };
        let entries = self
            .ledger
            .scan_prefix(&(id,))
            .map(|entry| entry.map(|((_, seq), stored)| stored.into_entry(seq)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(ChargeRecord { header, entries }))
    }

    /// Writes the header and the entries from position `known` on (those not stored yet) in
    /// one transaction with the domain events the change causes at `at` (see
    /// `domain_events.rs`), then waits until they are durable. An entry already stored with
    /// other content is refused: the ledger is append-only.
    pub(crate) async fn persist(
        &self,
        record: &ChargeRecord,
        known: usize,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let id = record.header.reservation_id;
        let new_entries: Vec<_> = record
            .entries
            .iter()
            .skip(known)
            .map(|entry| ((id, entry.seq), StoredEntry::from_entry(entry)))
            .collect();
        let unresolved = matches!(
            super::settlement::summary(record).status,
            super::model::ChargeStatus::Held | super::model::ChargeStatus::Pending
        );
        let references: Vec<String> = new_entries
            .iter()
            .filter(|(_, entry)| matches!(entry.kind, EntryKind::Hold | EntryKind::Charge))
            .filter_map(|(_, entry)| entry.provider_ref.clone())
            .collect();
        let outbox = self.store.outbox();
        let written = self.store.transaction(
            &[
                &self.charges,
                &self.ledger,
                &self.unresolved,
                &self.by_provider_ref,
                outbox.member(),
            ],
            |tx| {
                let charges = tx.table(&self.charges)?;
                let before = charges.get(&id)?;
                charges.insert(&id, &record.header)?;
                let by_reference = tx.table(&self.by_provider_ref)?;
                for reference in &references {
                    by_reference.insert(reference, &id)?;
                }
                let index = tx.table(&self.unresolved)?;
                if unresolved {
                    index.insert(&id, &())?;
                } else {
                    index.remove(&id)?;
                }
                let ledger = tx.table(&self.ledger)?;
                // Entries found stored already (a step repeated after a crash) are part of
                // what was there before: the ledger is append-only, so they come first.
                let mut stored = known;
                for (key, entry) in &new_entries {
                    match ledger.get(key)? {
                        Some(stored_entry) if stored_entry != *entry => {
                            return Err(TxAbort::abort(key.1));
                        }
                        Some(_) => stored += 1,
                        None => ledger.insert(key, entry)?,
                    }
                }
                let before = before
                    .as_ref()
                    .map(|header| (header, record.entries.get(..stored).unwrap_or_default()));
                let caused = domain_events::caused(before, (&record.header, &record.entries));
                if !caused.is_empty() {
                    let events = domain_events::wrap(&record.header, at, caused);
                    crate::events::append(outbox, tx, &events)?;
                }
                Ok(())
            },
        );
        match written {
            Ok(()) => {}
            Err(TxError::Storage(error)) => return Err(error),
            Err(TxError::Aborted(seq)) => {
                return Err(StorageError::Corrupt {
                    table: self.ledger.name().to_owned(),
                    key: format!("{id}/{seq}"),
                    reason: "a ledger entry is already stored with other content".into(),
                });
            }
        }
        self.store.commit().await
    }
}
