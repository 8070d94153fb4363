//! The ledger invariants checked from scratch, independently of the append rules in
//! `ledger.rs`: the audit runs it over the whole store and the property tests after every
//! operation, so a bug in the append rules cannot hide behind itself.

use super::model::{EntryKind, LedgerEntry};

/// Checks every invariant of a ledger; returns one sentence per violation.
pub(crate) fn check(entries: &[LedgerEntry]) -> Vec<String> {
    let mut problems = Vec::new();
    // Each hold placed, by reference: its amount and whether it was resolved.
    let mut holds: Vec<(Option<&str>, i64, bool)> = Vec::new();
    let mut declined = false;
    let mut settling = false;
    let mut paid_total = 0;
    let mut refunded_total = 0;
    let mut previous: Option<&LedgerEntry> = None;
    for (index, entry) in entries.iter().enumerate() {
        let seq = entry.seq;
        if seq as usize != index + 1 {
            problems.push(format!("entry {index} has seq {seq}"));
        }
        if entry.amount_cents <= 0 {
            problems.push(format!("entry {seq} has a non-positive amount"));
        }
        if declined {
            problems.push(format!("entry {seq} follows a declined hold"));
        }
        let amount = entry.amount_cents;
        let reference = entry.provider_ref.as_deref();
        match entry.kind {
            EntryKind::Hold | EntryKind::HoldDeclined if index != 0 && holds.is_empty() => {
                problems.push(format!("entry {seq} is a second authorization"));
            }
            EntryKind::Hold | EntryKind::HoldDeclined if settling => {
                problems.push(format!("entry {seq} authorizes after the settlement began"));
            }
            EntryKind::Hold => holds.push((reference, amount, false)),
            EntryKind::HoldDeclined => declined = holds.is_empty(),
            EntryKind::Capture | EntryKind::Void => {
                settling |= entry.kind == EntryKind::Capture;
                let Some(hold) = holds.iter_mut().find(|hold| hold.0 == reference) else {
                    problems.push(format!("entry {seq} resolves a hold that does not exist"));
                    continue;
                };
                if hold.2 {
                    problems.push(format!("entry {seq} resolves the hold a second time"));
                }
                hold.2 = true;
                let held = hold.1;
                if entry.kind == EntryKind::Capture {
                    paid_total += amount;
                    if amount > held {
                        problems.push(format!("entry {seq} captures more than the hold"));
                    }
                    let release = entries
                        .get(index + 1)
                        .filter(|next| next.kind == EntryKind::Release);
                    let released = release.map_or(0, |release| release.amount_cents);
                    if amount + released != held {
                        problems.push(format!(
                            "entry {seq}: the remainder of the hold is not released"
                        ));
                    }
                } else if amount != held {
                    problems.push(format!("entry {seq} voids another amount than the hold"));
                }
            }
            EntryKind::Release => {
                settling = true;
                let after_capture = previous.is_some_and(|previous| {
                    previous.kind == EntryKind::Capture
                        && previous.provider_ref == entry.provider_ref
                });
                if !after_capture {
                    problems.push(format!(
                        "entry {seq} releases without a capture just before"
                    ));
                }
            }
            EntryKind::Charge => {
                settling = true;
                if holds.is_empty() || holds.iter().any(|hold| !hold.2) {
                    problems.push(format!("entry {seq} charges before the hold is resolved"));
                }
                paid_total += amount;
            }
            EntryKind::Refund => {
                settling = true;
                refunded_total += amount;
                if refunded_total > paid_total {
                    problems.push(format!("entry {seq}: refunds exceed captured + charged"));
                }
            }
        }
        previous = Some(entry);
    }
    problems
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::billing::ledger::{record_hold, record_void};

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn the_checker_catches_broken_ledgers() {
        let mut entries = Vec::new();
        record_hold(&mut entries, 100, at(), "h").unwrap();
        record_void(&mut entries, at()).unwrap();
        let mut broken = entries.clone();
        broken.push(LedgerEntry {
            seq: 3,
            kind: EntryKind::Capture,
            amount_cents: 200,
            at: at(),
            provider_ref: Some("h".into()),
            note: None,
        });
        let problems = check(&broken);
        assert!(
            problems.iter().any(|p| p.contains("second time")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("more than the hold")),
            "{problems:?}"
        );
    }
}
