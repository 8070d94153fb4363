//! The dirty-key journal of a replicated store: which keys were written since the last batch
//! the replicated log took.
//!
//! Writers mark a key after their sled write and before their `WriteClock::tick()`. The
//! committer reads the clock first and takes the journal second, so every write numbered up to
//! what it read is in what it took (or in an earlier batch): marking after the write also means
//! the value the committer reads for a taken key is never older than that write. A key marked
//! but not yet ticked may ride in a batch early; its value is current either way.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Keys written since the last replicated batch, by tree. Ordered so that batches list their
/// changes deterministically.
pub(crate) type DirtyKeys = BTreeMap<Arc<str>, BTreeSet<Vec<u8>>>;

/// One key written inside a transaction, noted until the transaction commits.
pub(crate) type Touched = (Arc<str>, Vec<u8>);

#[derive(Debug, Default)]
pub(crate) struct Journal {
    dirty: Mutex<DirtyKeys>,
}

impl Journal {
    /// The set stays usable after a writer panicked while holding the lock: marking is a plain
    /// insert that cannot leave it half-changed.
    fn lock(&self) -> MutexGuard<'_, DirtyKeys> {
        self.dirty.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn mark(&self, tree: &Arc<str>, key: &[u8]) {
        let mut dirty = self.lock();
        match dirty.get_mut(tree) {
            Some(keys) => {
                keys.insert(key.to_vec());
            }
            None => {
                dirty.insert(tree.clone(), BTreeSet::from([key.to_vec()]));
            }
        }
    }

    pub(crate) fn mark_all(&self, touched: Vec<Touched>) {
        let mut dirty = self.lock();
        for (tree, key) in touched {
            dirty.entry(tree).or_default().insert(key);
        }
    }

    /// Swaps the set out for an empty one.
    pub(crate) fn take(&self) -> DirtyKeys {
        std::mem::take(&mut *self.lock())
    }

    /// Puts back keys whose batch the log did not take, beside any marked since.
    pub(crate) fn restore(&self, keys: DirtyKeys) {
        let mut dirty = self.lock();
        for (tree, keys) in keys {
            dirty.entry(tree).or_default().extend(keys);
        }
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taking_empties_and_restoring_merges_with_newer_marks() {
        let journal = Journal::default();
        let (people, plates): (Arc<str>, Arc<str>) = ("people".into(), "plates".into());
        journal.mark(&people, b"1");
        journal.mark(&people, b"1");
        journal.mark_all(vec![(plates.clone(), b"ABC".to_vec())]);
        let taken = journal.take();
        assert!(journal.is_empty());
        assert_eq!(taken[&people], BTreeSet::from([b"1".to_vec()]));
        journal.mark(&people, b"2");
        journal.restore(taken);
        let again = journal.take();
        assert_eq!(
            again[&people],
            BTreeSet::from([b"1".to_vec(), b"2".to_vec()])
        );
        assert_eq!(again[&plates], BTreeSet::from([b"ABC".to_vec()]));
    }
}
