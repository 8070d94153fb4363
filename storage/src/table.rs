//! Typed tables: a sled tree whose keys and values go through the key encoding and the codec.

use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec;
use crate::commit::WriteClock;
use crate::error::{StorageError, StorageResult};
use crate::key::Key;

/// A typed view of one sled tree. Cheap to clone; every clone sees the same data.
///
/// Writes are applied at once and survive a crash only after the owning store's
/// [`Store::commit`](crate::Store::commit) (durable class) or its next periodic flush (lazy
/// class); the table itself never flushes.
pub struct Table<K, V> {
    pub(crate) tree: sled::Tree,
    pub(crate) name: Arc<str>,
    pub(crate) clock: Arc<WriteClock>,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for Table<K, V> {
    fn clone(&self) -> Self {
        Table {
            tree: self.tree.clone(),
            name: self.name.clone(),
            clock: self.clock.clone(),
            _types: PhantomData,
        }
    }
}

impl<K, V> std::fmt::Debug for Table<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table").field("name", &self.name).finish()
    }
}

impl<K: Key, V: Serialize + DeserializeOwned> Table<K, V> {
    pub(crate) fn new(tree: sled::Tree, name: &str, clock: Arc<WriteClock>) -> Self {
        Table {
            tree,
            name: name.into(),
            clock,
            _types: PhantomData,
        }
    }

    /// The table's name (its sled tree name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads one record.
    pub fn get(&self, key: &K) -> StorageResult<Option<V>> {
        let key = key.to_key_bytes();
        match self.tree.get(&key)? {
            Some(bytes) => self.decode_value(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Whether a record exists under `key`.
    pub fn contains(&self, key: &K) -> StorageResult<bool> {
        Ok(self.tree.contains_key(key.to_key_bytes())?)
    }

    /// Writes a record, returning the one it replaced.
    pub fn insert(&self, key: &K, value: &V) -> StorageResult<Option<V>> {
        let key = key.to_key_bytes();
        let bytes = self.encode_value(value)?;
        let previous = self.tree.insert(&key, bytes)?;
        self.clock.tick_key(&self.name, &key);
        previous
            .map(|old| self.decode_value(&key, &old))
            .transpose()
    }

    /// Writes a record only if none exists under `key`; returns whether it was written.
    pub fn insert_new(&self, key: &K, value: &V) -> StorageResult<bool> {
        let key = key.to_key_bytes();
        let bytes = self.encode_value(value)?;
        let swapped = self
            .tree
            .compare_and_swap(&key, None as Option<&[u8]>, Some(bytes))?;
        if swapped.is_ok() {
            self.clock.tick_key(&self.name, &key);
        }
        Ok(swapped.is_ok())
    }

    /// Removes a record, returning it.
    pub fn remove(&self, key: &K) -> StorageResult<Option<V>> {
        let key = key.to_key_bytes();
        let previous = self.tree.remove(&key)?;
        self.clock.tick_key(&self.name, &key);
        previous
            .map(|old| self.decode_value(&key, &old))
            .transpose()
    }

    /// Number of records (walks the tree: for tests and operators, not hot paths).
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// Whether the table holds no record.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// Every record in key order.
    pub fn iter(&self) -> Entries<K, V> {
        self.entries(self.tree.iter())
    }

    /// Records whose keys fall in `range`, in key order (reversible).
    pub fn range<R: RangeBounds<K>>(&self, range: R) -> Entries<K, V> {
        let start = map_bound(range.start_bound());
        let end = map_bound(range.end_bound());
        self.entries(self.tree.range::<Vec<u8>, _>((start, end)))
    }

    /// Records whose keys start with the encoding of `prefix` (for a tuple key, its leading
    /// parts), in key order (reversible).
    pub fn scan_prefix<P: Key>(&self, prefix: &P) -> Entries<K, V> {
        self.entries(self.tree.scan_prefix(prefix.to_key_bytes()))
    }

    fn entries(&self, inner: sled::Iter) -> Entries<K, V> {
        Entries {
            inner,
            name: self.name.clone(),
            _types: PhantomData,
        }
    }

    pub(crate) fn encode_value(&self, value: &V) -> StorageResult<Vec<u8>> {
        codec::encode(value).map_err(|error| StorageError::Encode {
            table: self.name.to_string(),
            reason: error.to_string(),
        })
    }

    pub(crate) fn decode_value(&self, key: &[u8], bytes: &[u8]) -> StorageResult<V> {
        codec::decode(bytes).map_err(|error| StorageError::corrupt(&self.name, key, error))
    }
}

fn map_bound<K: Key>(bound: Bound<&K>) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(key) => Bound::Included(key.to_key_bytes()),
        Bound::Excluded(key) => Bound::Excluded(key.to_key_bytes()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// An iterator over decoded records; an undecodable record yields an error, not a panic.
pub struct Entries<K, V> {
    inner: sled::Iter,
    name: Arc<str>,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K: Key, V: DeserializeOwned> Entries<K, V> {
    fn decode(&self, item: sled::Result<(sled::IVec, sled::IVec)>) -> StorageResult<(K, V)> {
        let (key, value) = item?;
        let decoded_key = K::from_key_bytes(&key)
            .map_err(|error| StorageError::corrupt(&self.name, &key, error))?;
        let decoded_value = codec::decode(&value)
            .map_err(|error| StorageError::corrupt(&self.name, &key, error))?;
        Ok((decoded_key, decoded_value))
    }
}

impl<K: Key, V: DeserializeOwned> Iterator for Entries<K, V> {
    type Item = StorageResult<(K, V)>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.inner.next()?;
        Some(self.decode(item))
    }
}

impl<K: Key, V: DeserializeOwned> DoubleEndedIterator for Entries<K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let item = self.inner.next_back()?;
        Some(self.decode(item))
    }
}
