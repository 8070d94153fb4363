//! Turns the stream's messages back into entries: whole ones pass through, parts are joined,
//! an incomplete group is dropped.

use bytes::Bytes;

use super::Entry;
use super::parts::Part;

/// A group being joined.
#[derive(Debug)]
struct Group {
    store: String,
    group: u64,
    next: u32,
    count: u32,
    payload: Vec<u8>,
}

/// The joining state of one reader.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    pending: Option<Group>,
    discarded: u64,
}

impl Assembler {
    /// Takes the next message of the stream (in stream order) and returns the entry it
    /// completes, if any.
    pub(crate) fn push(
        &mut self,
        sequence: u64,
        store: &str,
        part: Option<Part>,
        payload: Bytes,
    ) -> Option<Entry> {
        let continues = match (&self.pending, part) {
            (Some(group), Some(part)) => {
                part.group == group.group
                    && part.index == group.next
                    && part.count == group.count
                    && store == group.store
            }
            _ => false,
        };
        if !continues && self.pending.take().is_some() {
            // Its writer was fenced or stopped mid-entry: the entry was never acknowledged.
            self.discarded += 1;
            tracing::debug!(sequence, "an incomplete group of log parts is discarded");
        }
        let Some(part) = part else {
            return Some(Entry {
                sequence,
                store: store.to_owned(),
                payload,
            });
        };
        if !continues {
            if part.index != 0 {
                self.discarded += 1;
                return None;
            }
            self.pending = Some(Group {
                store: store.to_owned(),
                group: part.group,
                next: 0,
                count: part.count,
                payload: Vec::new(),
            });
        }
        let group = self.pending.as_mut()?;
        group.payload.extend_from_slice(&payload);
        group.next += 1;
        if group.next < group.count {
            return None;
        }
        let group = self.pending.take()?;
        Some(Entry {
            sequence,
            store: group.store,
            payload: group.payload.into(),
        })
    }

    /// How many incomplete groups (or stray parts) were dropped so far.
    pub(crate) fn discarded(&self) -> u64 {
        self.discarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(group: u64, index: u32, count: u32) -> Option<Part> {
        Some(Part {
            group,
            index,
            count,
        })
    }

    #[test]
    fn whole_entries_pass_and_parts_are_joined() {
        let mut assembler = Assembler::default();
        let first = assembler.push(1, "rentals", None, Bytes::from_static(b"a"));
        assert_eq!(
            first.map(|entry| entry.payload),
            Some(Bytes::from_static(b"a"))
        );
        assert!(
            assembler
                .push(2, "cars", part(2, 0, 3), Bytes::from_static(b"xx"))
                .is_none()
        );
        assert!(
            assembler
                .push(3, "cars", part(2, 1, 3), Bytes::from_static(b"yy"))
                .is_none()
        );
        let joined = assembler.push(4, "cars", part(2, 2, 3), Bytes::from_static(b"z"));
        let joined = joined.map(|entry| (entry.sequence, entry.store, entry.payload));
        assert_eq!(
            joined,
            Some((4, "cars".to_owned(), Bytes::from_static(b"xxyyz")))
        );
        assert_eq!(assembler.discarded(), 0);
    }

    #[test]
    fn an_interrupted_group_is_discarded() {
        let mut assembler = Assembler::default();
        assert!(
            assembler
                .push(5, "cars", part(5, 0, 3), Bytes::from_static(b"x"))
                .is_none()
        );
        assert!(
            assembler
                .push(6, "cars", part(5, 1, 3), Bytes::from_static(b"y"))
                .is_none()
        );
        // The next leader's first entry.
        let next = assembler.push(7, "cars", None, Bytes::from_static(b"new"));
        assert_eq!(
            next.map(|entry| entry.payload),
            Some(Bytes::from_static(b"new"))
        );
        assert_eq!(assembler.discarded(), 1);
        // A stray last part of the dropped group completes nothing.
        assert!(
            assembler
                .push(8, "cars", part(5, 2, 3), Bytes::from_static(b"z"))
                .is_none()
        );
        assert_eq!(assembler.discarded(), 2);
    }

    #[test]
    fn a_new_group_replaces_an_unfinished_one() {
        let mut assembler = Assembler::default();
        assert!(
            assembler
                .push(1, "a", part(1, 0, 2), Bytes::from_static(b"old"))
                .is_none()
        );
        assert!(
            assembler
                .push(2, "a", part(2, 0, 2), Bytes::from_static(b"n1"))
                .is_none()
        );
        let joined = assembler.push(3, "a", part(2, 1, 2), Bytes::from_static(b"n2"));
        assert_eq!(
            joined.map(|entry| entry.payload),
            Some(Bytes::from_static(b"n1n2"))
        );
        assert_eq!(assembler.discarded(), 1);
    }
}
