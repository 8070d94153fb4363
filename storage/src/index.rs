//! Unique secondary indexes: a tree from an indexed value (a CPF, an e-mail, a plate) to the
//! primary key that holds it.
//!
//! Claims are compare-and-swap on the index entry, so two records racing for the same value
//! cannot both win even without a transaction; inside a transaction use
//! [`TxIndex`](crate::TxIndex) so that the record and its index entry land together.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::commit::WriteClock;
use crate::error::{StorageError, StorageResult};
use crate::key::Key;

/// A unique index from `I` (the indexed value) to `K` (the owner's primary key).
pub struct UniqueIndex<I, K> {
    pub(crate) tree: sled::Tree,
    pub(crate) name: Arc<str>,
    pub(crate) clock: Arc<WriteClock>,
    _types: PhantomData<fn() -> (I, K)>,
}

impl<I, K> Clone for UniqueIndex<I, K> {
    fn clone(&self) -> Self {
        UniqueIndex {
            tree: self.tree.clone(),
            name: self.name.clone(),
            clock: self.clock.clone(),
            _types: PhantomData,
        }
    }
}

impl<I, K> std::fmt::Debug for UniqueIndex<I, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UniqueIndex")
            .field("name", &self.name)
            .finish()
    }
}

impl<I: Key, K: Key + PartialEq> UniqueIndex<I, K> {
    pub(crate) fn new(tree: sled::Tree, name: &str, clock: Arc<WriteClock>) -> Self {
        UniqueIndex {
            tree,
            name: name.into(),
            clock,
            _types: PhantomData,
        }
    }

    /// The index's name (its sled tree name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The owner of `value`, if any.
    pub fn get(&self, value: &I) -> StorageResult<Option<K>> {
        let key = value.to_key_bytes();
        self.tree
            .get(&key)?
            .map(|owner| self.decode_owner(&key, &owner))
            .transpose()
    }

    /// Makes `owner` the holder of `value`. Claiming a value one already holds succeeds;
    /// a value held by another owner is a [`StorageError::Conflict`].
    pub fn claim(&self, value: &I, owner: &K) -> StorageResult<()> {
        let key = value.to_key_bytes();
        let owner_bytes = owner.to_key_bytes();
        match self.tree.compare_and_swap(
            &key,
            None as Option<&[u8]>,
            Some(owner_bytes.as_slice()),
        )? {
            Ok(()) => {
                self.clock.tick_key(&self.name, &key);
                Ok(())
            }
            Err(current) if current.current.as_deref() == Some(owner_bytes.as_slice()) => Ok(()),
            Err(_) => Err(self.conflict()),
        }
    }

    /// Frees `value` if `owner` holds it; returns whether it did.
    pub fn release(&self, value: &I, owner: &K) -> StorageResult<bool> {
        let key = value.to_key_bytes();
        let owner_bytes = owner.to_key_bytes();
        let released = self
            .tree
            .compare_and_swap(&key, Some(owner_bytes.as_slice()), None as Option<&[u8]>)?
            .is_ok();
        if released {
            self.clock.tick_key(&self.name, &key);
        }
        Ok(released)
    }

    /// Every `(value, owner)` entry in value order; an undecodable entry yields an error.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = StorageResult<(I, K)>> + '_ {
        self.tree.iter().map(move |item| {
            let (key, owner) = item?;
            let value = I::from_key_bytes(&key)
                .map_err(|error| StorageError::corrupt(&self.name, &key, error))?;
            Ok((value, self.decode_owner(&key, &owner)?))
        })
    }

    pub(crate) fn conflict(&self) -> StorageError {
        StorageError::Conflict {
            index: self.name.to_string(),
        }
    }

    pub(crate) fn decode_owner(&self, key: &[u8], owner: &[u8]) -> StorageResult<K> {
        K::from_key_bytes(owner).map_err(|error| StorageError::corrupt(&self.name, key, error))
    }
}
