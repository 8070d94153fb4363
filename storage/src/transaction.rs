//! Atomic changes across several tables (and unique indexes) of one store.
//!
//! A record and its index entries, or a reservation and its car's calendar entry, must land
//! together or not at all. sled transactions give that within one `Db`; across stores (across
//! services) there is no transaction, only sagas. sled may run the closure more than once when
//! it detects a conflicting concurrent transaction, so the closure must not have side effects
//! outside the transaction.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::error::StorageError;
use crate::index::UniqueIndex;
use crate::journal::Touched;
use crate::key::Key;
use crate::table::Table;

/// A table or index that can take part in a transaction.
pub trait TxMember {
    /// The sled tree behind it.
    fn tree(&self) -> &sled::Tree;
    /// Its name, used to find its view inside the transaction.
    fn member_name(&self) -> &str;
}

impl<K, V> TxMember for Table<K, V> {
    fn tree(&self) -> &sled::Tree {
        &self.tree
    }
    fn member_name(&self) -> &str {
        &self.name
    }
}

impl<I, K> TxMember for UniqueIndex<I, K> {
    fn tree(&self) -> &sled::Tree {
        &self.tree
    }
    fn member_name(&self) -> &str {
        &self.name
    }
}

/// Why a transaction did not commit.
#[derive(Debug, thiserror::Error)]
pub enum TxError<E> {
    /// The closure aborted with its own error.
    #[error("transaction aborted: {0}")]
    Aborted(E),
    /// The store failed, a record was undecodable, or a unique index refused a claim.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The error type of a transaction closure: either the caller's own abort or a storage failure
/// propagated with `?` from the operations inside.
pub struct TxAbort<E>(ConflictableTransactionError<Failure<E>>);

impl<E> TxAbort<E> {
    /// Aborts the transaction with the caller's error; nothing is written.
    pub fn abort(error: E) -> Self {
        TxAbort(ConflictableTransactionError::Abort(Failure::User(error)))
    }
}

impl<E> From<TxOpError> for TxAbort<E> {
    fn from(error: TxOpError) -> Self {
        TxAbort(match error.0 {
            OpFailure::Engine(UnabortableTransactionError::Conflict) => {
                ConflictableTransactionError::Conflict
            }
            OpFailure::Engine(UnabortableTransactionError::Storage(error)) => {
                ConflictableTransactionError::Storage(error)
            }
            OpFailure::Storage(error) => {
                ConflictableTransactionError::Abort(Failure::Storage(error))
            }
        })
    }
}

pub(crate) enum Failure<E> {
    User(E),
    Storage(StorageError),
}

/// A failed operation inside a transaction; `?` turns it into a [`TxAbort`].
#[derive(Debug)]
pub struct TxOpError(OpFailure);

#[derive(Debug)]
enum OpFailure {
    Engine(UnabortableTransactionError),
    Storage(StorageError),
}

impl From<UnabortableTransactionError> for TxOpError {
    fn from(error: UnabortableTransactionError) -> Self {
        TxOpError(OpFailure::Engine(error))
    }
}

impl From<StorageError> for TxOpError {
    fn from(error: StorageError) -> Self {
        TxOpError(OpFailure::Storage(error))
    }
}

/// The inside of a running transaction.
pub struct Tx<'a> {
    trees: &'a [TransactionalTree],
    names: &'a [String],
    /// The keys this run of the closure wrote, noted only for a replicated store.
    touched: Option<&'a RefCell<Vec<Touched>>>,
}

/// Notes a key written inside a transaction; the store marks it dirty once the transaction
/// has committed.
fn note(touched: Option<&RefCell<Vec<Touched>>>, tree: &Arc<str>, key: Vec<u8>) {
    if let Some(touched) = touched {
        touched.borrow_mut().push((tree.clone(), key));
    }
}

impl<'a> Tx<'a> {
    fn view(&self, member: &dyn TxMember) -> Result<&'a TransactionalTree, TxOpError> {
        self.names
            .iter()
            .position(|name| name == member.member_name())
            .map(|position| &self.trees[position])
            .ok_or_else(|| {
                StorageError::NotInTransaction {
                    table: member.member_name().to_owned(),
                }
                .into()
            })
    }

    /// The transactional view of `table`, which must be among the transaction's members.
    pub fn table<K: Key, V: Serialize + DeserializeOwned>(
        &self,
        table: &'a Table<K, V>,
    ) -> Result<TxTable<'a, K, V>, TxOpError> {
        Ok(TxTable {
            tree: self.view(table)?,
            table,
            touched: self.touched,
        })
    }

    /// The transactional view of `index`, which must be among the transaction's members.
    pub fn index<I: Key, K: Key + PartialEq>(
        &self,
        index: &'a UniqueIndex<I, K>,
    ) -> Result<TxIndex<'a, I, K>, TxOpError> {
        Ok(TxIndex {
            tree: self.view(index)?,
            index,
            touched: self.touched,
            _types: PhantomData,
        })
    }
}

/// A table inside a transaction.
pub struct TxTable<'a, K, V> {
    tree: &'a TransactionalTree,
    table: &'a Table<K, V>,
    touched: Option<&'a RefCell<Vec<Touched>>>,
}

impl<K: Key, V: Serialize + DeserializeOwned> TxTable<'_, K, V> {
    /// Reads a record, seeing this transaction's own writes.
    pub fn get(&self, key: &K) -> Result<Option<V>, TxOpError> {
        let key = key.to_key_bytes();
        match self.tree.get(&key)? {
            Some(bytes) => Ok(Some(self.table.decode_value(&key, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Writes a record.
    pub fn insert(&self, key: &K, value: &V) -> Result<(), TxOpError> {
        let bytes = self.table.encode_value(value)?;
        let key = key.to_key_bytes();
        self.tree.insert(key.as_slice(), bytes)?;
        note(self.touched, &self.table.name, key);
        Ok(())
    }

    /// Removes a record.
    pub fn remove(&self, key: &K) -> Result<(), TxOpError> {
        let key = key.to_key_bytes();
        self.tree.remove(key.as_slice())?;
        note(self.touched, &self.table.name, key);
        Ok(())
    }
}

/// A unique index inside a transaction.
pub struct TxIndex<'a, I, K> {
    tree: &'a TransactionalTree,
    index: &'a UniqueIndex<I, K>,
    touched: Option<&'a RefCell<Vec<Touched>>>,
    _types: PhantomData<fn() -> I>,
}

impl<I: Key, K: Key + PartialEq> TxIndex<'_, I, K> {
    /// The owner of `value`, if any.
    pub fn get(&self, value: &I) -> Result<Option<K>, TxOpError> {
        let key = value.to_key_bytes();
        match self.tree.get(&key)? {
            Some(owner) => Ok(Some(self.index.decode_owner(&key, &owner)?)),
            None => Ok(None),
        }
    }

    /// Makes `owner` the holder of `value`; a value held by another owner aborts the
    /// transaction with [`StorageError::Conflict`].
    pub fn claim(&self, value: &I, owner: &K) -> Result<(), TxOpError> {
        match self.get(value)? {
            Some(current) if current == *owner => Ok(()),
            Some(_) => Err(self.index.conflict().into()),
            None => {
                let key = value.to_key_bytes();
                self.tree.insert(key.as_slice(), owner.to_key_bytes())?;
                note(self.touched, &self.index.name, key);
                Ok(())
            }
        }
    }

    /// Frees `value` if `owner` holds it; returns whether it did.
    pub fn release(&self, value: &I, owner: &K) -> Result<bool, TxOpError> {
        match self.get(value)? {
            Some(current) if current == *owner => {
                let key = value.to_key_bytes();
                self.tree.remove(key.as_slice())?;
                note(self.touched, &self.index.name, key);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// Runs `body` as one sled transaction over `members`. With `journaled`, also answers the keys
/// the committed run wrote: sled may run the closure several times, so the notes start afresh
/// on every run and only the last (committed) run's are kept.
pub(crate) fn run<R, E>(
    members: &[&dyn TxMember],
    journaled: bool,
    body: impl Fn(&Tx<'_>) -> Result<R, TxAbort<E>>,
) -> Result<(R, Vec<Touched>), TxError<E>> {
    let trees: Vec<&sled::Tree> = members.iter().map(|member| member.tree()).collect();
    let names: Arc<[String]> = members
        .iter()
        .map(|member| member.member_name().to_owned())
        .collect();
    let touched = RefCell::new(Vec::new());
    let outcome = sled::Transactional::transaction(trees.as_slice(), |views| {
        touched.borrow_mut().clear();
        let tx = Tx {
            trees: views,
            names: &names,
            touched: journaled.then_some(&touched),
        };
        body(&tx).map_err(|abort| abort.0)
    });
    outcome
        .map(|value| (value, touched.into_inner()))
        .map_err(|error| match error {
            TransactionError::Abort(Failure::User(error)) => TxError::Aborted(error),
            TransactionError::Abort(Failure::Storage(error)) => TxError::Storage(error),
            TransactionError::Storage(error) => TxError::Storage(StorageError::Engine(error)),
        })
}
