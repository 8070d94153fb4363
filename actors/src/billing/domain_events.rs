//! The domain events a charge's write causes, pure: derived from the charge as stored before
//! the write and as it will be after it, inside the transaction that writes the ledger.
//!
//! Deriving them from the stored state rather than from the operation asked for is what keeps
//! them exactly as many as the ledger's own changes: a replayed provider notification, a
//! retried settlement or a step repeated after a crash finds the entry already stored and so
//! causes no second event.
//!
//! A settlement is several writes (one per hold resolved, then the charge beyond the holds), so
//! its event is not tied to any one entry: it is written by the write that finishes it, with the
//! totals of every hold.

use chrono::{DateTime, Utc};

use super::ledger::{self, Resolution, Totals};
use super::model::{ChargeHeader, EntryKind, LedgerEntry};
use crate::domain::Cents;
use crate::events::{DomainEvent, EventData, Subjects};

/// The store whose outbox billing writes, as events name their source.
pub(crate) const SOURCE: &str = "billing";

/// Where a charge's settlement stands, as far as events tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Nothing to tell yet: holds open, or money beyond them still to be asked for.
    Open,
    /// Every hold was given back whole.
    Voided { released: i64 },
    /// The holds were resolved and what they did not cover was charged.
    Captured {
        captured: i64,
        extra: i64,
        released: i64,
    },
    /// The holds were resolved and the card refused what they did not cover.
    Refused {
        captured: i64,
        extra: i64,
        released: i64,
        outstanding: i64,
    },
}

fn stage(header: Option<&ChargeHeader>, totals: &Totals) -> Stage {
    let released = totals.released + totals.voided;
    match totals.resolution {
        None => Stage::Open,
        Some(Resolution::Voided) => Stage::Voided { released },
        Some(Resolution::Captured) => {
            let total = header
                .and_then(|header| header.settle_total_cents)
                .unwrap_or_default();
            let outstanding = total - totals.captured - totals.charged;
            let (captured, extra) = (totals.captured, totals.charged);
            match header.and_then(|header| header.extra_charge_refused.as_ref()) {
                Some(_) if outstanding > 0 => Stage::Refused {
                    captured,
                    extra,
                    released,
                    outstanding,
                },
                _ if outstanding > 0 => Stage::Open,
                _ => Stage::Captured {
                    captured,
                    extra,
                    released,
                },
            }
        }
    }
}

/// The payloads of the events a write of the charge causes. `before` is the charge as stored
/// (`None` for a charge not stored yet), `after` as the write leaves it.
pub(crate) fn caused(
    before: Option<(&ChargeHeader, &[LedgerEntry])>,
    after: (&ChargeHeader, &[LedgerEntry]),
) -> Vec<EventData> {
    let (after_header, after_entries) = after;
    let known = before.map_or(0, |(_, entries)| entries.len());
    let mut events: Vec<EventData> = after_entries
        .iter()
        .skip(known)
        .filter_map(|entry| match entry.kind {
            EntryKind::Hold => Some(EventData::ChargeHeld {
                amount_cents: Cents::new(entry.amount_cents),
            }),
            EntryKind::Refund => Some(EventData::ChargeRefunded {
                amount_cents: Cents::new(entry.amount_cents),
            }),
            _ => None,
        })
        .collect();
    let was = match before {
        Some((header, entries)) => stage(Some(header), &ledger::totals(entries)),
        None => Stage::Open,
    };
    let now = stage(Some(after_header), &ledger::totals(after_entries));
    if was == now {
        return events;
    }
    // A charge collected after a refusal (`extra_charge_retries` > 0) told of its holds when the
    // settlement first finished: only the money taken now is new.
    let collecting = after_header.extra_charge_retries > 0;
    let captured_event = |captured: i64, extra: i64, released: i64| match collecting {
        false => EventData::ChargeCaptured {
            captured_cents: Cents::new(captured),
            extra_cents: Cents::new(extra),
            released_cents: Cents::new(released),
        },
        true => EventData::ChargeCaptured {
            captured_cents: Cents::ZERO,
            extra_cents: Cents::new(extra),
            released_cents: Cents::ZERO,
        },
    };
    match now {
        Stage::Open => {}
        Stage::Voided { released } => events.push(EventData::ChargeVoided {
            released_cents: Cents::new(released),
        }),
        Stage::Captured {
            captured,
            extra,
            released,
        } => events.push(captured_event(captured, extra, released)),
        Stage::Refused {
            captured,
            extra,
            released,
            outstanding,
        } => {
            if !collecting {
                events.push(captured_event(captured, extra, released));
            }
            events.push(EventData::ChargeRefused {
                amount_cents: Cents::new(outstanding),
            });
        }
    }
    events
}

/// Wraps payloads as events about the charge's reservation and, when known, its customer.
pub(crate) fn wrap(
    header: &ChargeHeader,
    at: DateTime<Utc>,
    data: Vec<EventData>,
) -> Vec<DomainEvent> {
    let subjects = Subjects {
        reservation_id: Some(header.reservation_id),
        customer_id: Some(header.customer_id),
        vehicle_id: None,
    };
    data.into_iter()
        .map(|data| DomainEvent::new(SOURCE, at, subjects.clone(), data))
        .collect()
}

#[cfg(test)]
#[path = "domain_events_tests.rs"]
mod tests;
