//! The backlog's copy on disk: an append-only file of JSON lines, one per change.
//!
//! A unit that is switched off (the car parked for the night, a firmware update, a crash)
//! must not forget where the car went while it was out of coverage. Each change to the set of
//! fixes held is appended and synced before the call returns: a fix was added, fixes were
//! delivered, fixes were dropped for room. At one fix every 30 s the sync costs nothing worth
//! measuring, and it means a fix the car reported is on disk before anything else happens.
//!
//! Replaying the lines rebuilds the set; the file is then rewritten as a snapshot (write a new
//! file, sync it, rename it over the old one), and again whenever it has grown well past what
//! it holds, so it stays a few times the backlog's own size. A line cut short by a power loss
//! can only be the last one and is skipped; so is any other unreadable line, losing that one
//! change rather than the whole backlog.
//!
//! A batch in flight when the unit stopped is still in the file (only a delivery removes a
//! fix), so it is sent again after the restart; the server deduplicates by `recorded_at`.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Fix;

/// One line of the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Entry {
    /// A fix was queued.
    Add(Fix),
    /// The server took these fixes (by `recorded_at`; one fix removed per time listed).
    Sent(Vec<DateTime<Utc>>),
    /// These fixes were dropped for room.
    Dropped(Vec<DateTime<Utc>>),
    /// Fixes dropped before the last snapshot, so the counter survives compaction.
    DroppedBefore(u64),
}

/// What the file held when it was opened.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Replayed {
    /// The fixes still held, in `recorded_at` order.
    pub(crate) fixes: Vec<Fix>,
    /// Fixes dropped for room since the file was created.
    pub(crate) dropped: u64,
    /// Lines that could not be read (a torn last write, or damage).
    pub(crate) unreadable: u64,
}

/// The open file.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
    /// Lines appended since the last snapshot.
    appended: usize,
}

impl Journal {
    /// Opens (or creates) the file at `path`, replays it and rewrites it as a snapshot.
    pub(crate) fn open(path: &Path) -> io::Result<(Journal, Replayed)> {
        let replayed = match File::open(path) {
            Ok(file) => replay(BufReader::new(file))?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => Replayed::default(),
            Err(error) => return Err(error),
        };
        let file = write_snapshot(path, &replayed.fixes, replayed.dropped)?;
        Ok((
            Journal {
                path: path.to_owned(),
                file,
                appended: 0,
            },
            replayed,
        ))
    }

    /// Appends one change and syncs it.
    pub(crate) fn append(&mut self, entry: &Entry) -> io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()?;
        self.appended += 1;
        Ok(())
    }

    /// Whether the file has grown enough past `held` fixes to be worth rewriting.
    pub(crate) fn wants_compaction(&self, held: usize) -> bool {
        self.appended > 2 * held + 1000
    }

    /// Rewrites the file as a snapshot of `fixes`.
    pub(crate) fn compact<'a>(
        &mut self,
        fixes: impl Iterator<Item = &'a Fix>,
        dropped: u64,
    ) -> io::Result<()> {
        let fixes: Vec<Fix> = fixes.cloned().collect();
        self.file = write_snapshot(&self.path, &fixes, dropped)?;
        self.appended = 0;
        Ok(())
    }
}

/// Rebuilds the held fixes from the lines of a journal.
pub(crate) fn replay(reader: impl BufRead) -> io::Result<Replayed> {
    let mut held: BTreeMap<DateTime<Utc>, VecDeque<Fix>> = BTreeMap::new();
    let mut replayed = Replayed::default();
    let remove = |held: &mut BTreeMap<DateTime<Utc>, VecDeque<Fix>>, at: &DateTime<Utc>| {
        if let Some(fixes) = held.get_mut(at) {
            fixes.pop_front();
            if fixes.is_empty() {
                held.remove(at);
            }
        }
    };
    for line in reader.split(b'\n') {
        let line = line?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Entry>(&line) {
            Ok(Entry::Add(fix)) => held.entry(fix.recorded_at).or_default().push_back(fix),
            Ok(Entry::Sent(times)) => times.iter().for_each(|at| remove(&mut held, at)),
            Ok(Entry::Dropped(times)) => {
                replayed.dropped += times.len() as u64;
                times.iter().for_each(|at| remove(&mut held, at));
            }
            Ok(Entry::DroppedBefore(count)) => replayed.dropped += count,
            Err(_) => replayed.unreadable += 1,
        }
    }
    replayed.fixes = held.into_values().flatten().collect();
    Ok(replayed)
}

/// Writes `fixes` to a new file beside `path`, syncs it and renames it over `path`; returns
/// the new file open for appending.
fn write_snapshot(path: &Path, fixes: &[Fix], dropped: u64) -> io::Result<File> {
    let staging = path.with_extension("new");
    {
        let mut out = io::BufWriter::new(File::create(&staging)?);
        let mut write = |entry: &Entry| -> io::Result<()> {
            serde_json::to_writer(&mut out, entry).map_err(io::Error::other)?;
            out.write_all(b"\n")
        };
        if dropped > 0 {
            write(&Entry::DroppedBefore(dropped))?;
        }
        for fix in fixes {
            write(&Entry::Add(fix.clone()))?;
        }
        out.into_inner()
            .map_err(|error| error.into_error())?
            .sync_all()?;
    }
    fs::rename(&staging, path)?;
    // The rename itself is durable only once the directory is synced.
    if let Some(directory) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        File::open(directory)?.sync_all()?;
    }
    OpenOptions::new().append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn fix(second: i64) -> Fix {
        Fix::new(
            -27.6,
            -48.5,
            Utc.timestamp_opt(1_800_000_000 + second, 0).unwrap(),
        )
    }

    fn seconds(fixes: &[Fix]) -> Vec<i64> {
        fixes
            .iter()
            .map(|fix| fix.recorded_at.timestamp() - 1_800_000_000)
            .collect()
    }

    #[test]
    fn replay_applies_additions_deliveries_and_drops() {
        let mut text = Vec::new();
        for entry in [
            Entry::DroppedBefore(4),
            Entry::Add(fix(3)),
            Entry::Add(fix(1)),
            Entry::Add(fix(2)),
            Entry::Add(fix(2)),
            Entry::Sent(vec![fix(1).recorded_at, fix(2).recorded_at]),
            Entry::Dropped(vec![fix(3).recorded_at]),
            Entry::Add(fix(5)),
        ] {
            text.extend(serde_json::to_vec(&entry).unwrap());
            text.push(b'\n');
        }
        let replayed = replay(text.as_slice()).unwrap();
        assert_eq!(seconds(&replayed.fixes), [2, 5]);
        assert_eq!((replayed.dropped, replayed.unreadable), (5, 0));
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let mut text = serde_json::to_vec(&Entry::Add(fix(1))).unwrap();
        text.push(b'\n');
        text.extend(&serde_json::to_vec(&Entry::Add(fix(2))).unwrap()[..20]);
        let replayed = replay(text.as_slice()).unwrap();
        assert_eq!(seconds(&replayed.fixes), [1]);
        assert_eq!(replayed.unreadable, 1);
    }

    #[test]
    fn a_reopened_journal_holds_what_was_appended_and_is_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backlog.jsonl");
        let (mut journal, replayed) = Journal::open(&path).unwrap();
        assert_eq!(replayed, Replayed::default());
        for second in 0..5 {
            journal.append(&Entry::Add(fix(second))).unwrap();
        }
        journal
            .append(&Entry::Sent(vec![fix(0).recorded_at]))
            .unwrap();
        journal
            .append(&Entry::Dropped(vec![fix(1).recorded_at]))
            .unwrap();
        drop(journal);

        let (_journal, replayed) = Journal::open(&path).unwrap();
        assert_eq!(seconds(&replayed.fixes), [2, 3, 4]);
        assert_eq!(replayed.dropped, 1);
        // The snapshot has one line per held fix and one for the counter.
        let lines = fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(lines, 4);
        assert!(!path.with_extension("new").exists());
    }
}
