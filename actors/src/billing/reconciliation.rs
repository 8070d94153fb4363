//! Reconciliation: a day's payments in the ledger against the processor's own records.
//!
//! The ledger is what we believe happened; the processor's records are what the money did.
//! They can part when a call's answer was lost (a timeout after the processor acted), when
//! someone acted in the processor's dashboard, or through a fault of either side. For one UTC
//! day, every processor reference the ledger opened that day (a hold or a sale) is compared
//! with the processor's payment of that reference, amount by amount, and every payment the
//! processor created that day must be known to the ledger.
//!
//! Days are UTC days: the ledger's times and the processors' are UTC. The processor's list is
//! read with a margin of [`MARGIN`] on both sides, so that a payment created a moment before
//! midnight and recorded a moment after is not reported missing on either day.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::BillingHandle;
use super::error::BillingError;
use super::model::{EntryKind, LedgerEntry};
use super::provider::{PaymentError, ProviderPayment};
use crate::ids::ReservationId;

/// How far beyond the day the processor's records are read.
pub(crate) const MARGIN: TimeDelta = TimeDelta::minutes(10);

/// The amounts of one payment, as the ledger or the processor sees them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amounts {
    /// Authorized (a hold) or sold, in centavos.
    pub authorized_cents: i64,
    /// Taken.
    pub captured_cents: i64,
    /// Returned.
    pub refunded_cents: i64,
    /// Whether the whole authorization was given back.
    pub voided: bool,
}

impl From<&ProviderPayment> for Amounts {
    fn from(payment: &ProviderPayment) -> Self {
        Amounts {
            authorized_cents: payment.authorized_cents,
            captured_cents: payment.captured_cents,
            refunded_cents: payment.refunded_cents,
            voided: payment.voided,
        }
    }
}

/// How the two sides disagree on one reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    /// The ledger has it; the processor has no such payment.
    MissingAtProvider,
    /// The processor has it; no charge of ours names it.
    MissingInLedger,
    /// Both have it, with other amounts.
    AmountsDiffer,
}

/// One disagreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// The processor's reference.
    pub reference: String,
    /// The charge that names it, if any.
    pub reservation_id: Option<ReservationId>,
    /// How they disagree.
    pub kind: DifferenceKind,
    /// What the ledger says.
    pub ledger: Option<Amounts>,
    /// What the processor says.
    pub provider: Option<Amounts>,
}

/// A day's reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// The UTC day.
    pub date: NaiveDate,
    /// Whether the processor could list its payments; when not, nothing was compared.
    pub provider_listed: bool,
    /// References on which both sides agree.
    pub matched: usize,
    /// The disagreements, by reference.
    pub differences: Vec<Difference>,
}

/// What the ledger expects of one reference, and when it opened it.
#[derive(Debug, Clone, Copy)]
struct Expected {
    reservation: ReservationId,
    opened_at: DateTime<Utc>,
    amounts: Amounts,
}

/// Folds one charge's ledger into the references it names.
fn expect(
    reservation: ReservationId,
    entries: &[LedgerEntry],
    into: &mut BTreeMap<String, Expected>,
) {
    for entry in entries {
        let Some(reference) = &entry.provider_ref else {
            continue;
        };
        let expected = into.entry(reference.clone()).or_insert(Expected {
            reservation,
            opened_at: entry.at,
            amounts: Amounts::default(),
        });
        let amounts = &mut expected.amounts;
        match entry.kind {
            EntryKind::Hold => amounts.authorized_cents += entry.amount_cents,
            EntryKind::Charge => {
                amounts.authorized_cents += entry.amount_cents;
                amounts.captured_cents += entry.amount_cents;
            }
            EntryKind::Capture => amounts.captured_cents += entry.amount_cents,
            EntryKind::Refund => amounts.refunded_cents += entry.amount_cents,
            EntryKind::Void => amounts.voided = true,
            EntryKind::Release | EntryKind::HoldDeclined => {}
        }
    }
}

/// The comparison, without a store: `expected` is every reference the ledger names,
/// `listed` the processor's payments created in the day with its margin.
fn compare(
    date: NaiveDate,
    expected: &BTreeMap<String, Expected>,
    listed: &[ProviderPayment],
) -> Reconciliation {
    let (from, to) = day_bounds(date);
    let by_reference: BTreeMap<&str, &ProviderPayment> = listed
        .iter()
        .map(|payment| (payment.reference.as_str(), payment))
        .collect();
    let mut matched = 0;
    let mut differences = Vec::new();
    for (reference, wanted) in expected {
        if !(from..to).contains(&wanted.opened_at) {
            continue;
        }
        match by_reference.get(reference.as_str()) {
            None => differences.push(Difference {
                reference: reference.clone(),
                reservation_id: Some(wanted.reservation),
                kind: DifferenceKind::MissingAtProvider,
                ledger: Some(wanted.amounts),
                provider: None,
            }),
            Some(payment) if Amounts::from(*payment) != wanted.amounts => {
                differences.push(Difference {
                    reference: reference.clone(),
                    reservation_id: Some(wanted.reservation),
                    kind: DifferenceKind::AmountsDiffer,
                    ledger: Some(wanted.amounts),
                    provider: Some(Amounts::from(*payment)),
                })
            }
            Some(_) => matched += 1,
        }
    }
    for payment in listed {
        let in_day = (from..to).contains(&payment.created_at);
        if in_day && !expected.contains_key(&payment.reference) {
            differences.push(Difference {
                reference: payment.reference.clone(),
                reservation_id: None,
                kind: DifferenceKind::MissingInLedger,
                ledger: None,
                provider: Some(Amounts::from(payment)),
            });
        }
    }
    differences.sort_by(|a, b| a.reference.cmp(&b.reference));
    Reconciliation {
        date,
        provider_listed: true,
        matched,
        differences,
    }
}

pub(crate) fn day_bounds(date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = date.and_time(chrono::NaiveTime::MIN).and_utc();
    (from, from + TimeDelta::days(1))
}

impl BillingHandle {
    /// Reconciles the UTC day `date` (see the module doc). Reads every charge of the store: a
    /// daily operator's question, not a request path.
    pub async fn reconcile(&self, date: NaiveDate) -> Result<Reconciliation, BillingError> {
        let (from, to) = day_bounds(date);
        let call = self.provider.payments_between(from - MARGIN, to + MARGIN);
        let listed = match tokio::time::timeout(self.provider_timeout, call).await {
            Ok(result) => result.map_err(BillingError::Provider)?,
            Err(_) => {
                return Err(BillingError::Provider(PaymentError::Unavailable(
                    "the provider timed out".into(),
                )));
            }
        };
        let Some(listed) = listed else {
            return Ok(Reconciliation {
                date,
                provider_listed: false,
                matched: 0,
                differences: Vec::new(),
            });
        };
        let mut expected = BTreeMap::new();
        for entry in self.tables.charges.iter() {
            let (reservation, _) = entry?;
            if let Some(record) = self.tables.load(reservation)? {
                expect(reservation, &record.entries, &mut expected);
            }
        }
        Ok(compare(date, &expected, &listed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(2026, 12, 1)
            .and_then(|day| day.and_hms_opt(hour, 0, 0))
            .map(|time| time.and_utc())
            .unwrap_or_default()
    }

    fn entry(seq: u32, kind: EntryKind, cents: i64, reference: &str, hour: u32) -> LedgerEntry {
        LedgerEntry {
            seq,
            kind,
            amount_cents: cents,
            at: at(hour),
            provider_ref: Some(reference.to_owned()),
            note: None,
        }
    }

    fn payment(reference: &str, hour: u32, amounts: Amounts) -> ProviderPayment {
        ProviderPayment {
            reference: reference.to_owned(),
            created_at: at(hour),
            authorized_cents: amounts.authorized_cents,
            captured_cents: amounts.captured_cents,
            refunded_cents: amounts.refunded_cents,
            voided: amounts.voided,
        }
    }

    #[test]
    fn agreeing_payments_match_and_every_kind_of_disagreement_is_named() {
        let (rental, other) = (ReservationId::new(), ReservationId::new());
        let mut expected = BTreeMap::new();
        expect(
            rental,
            &[
                entry(1, EntryKind::Hold, 6_000, "hold_1", 9),
                entry(2, EntryKind::Capture, 5_000, "hold_1", 12),
                entry(3, EntryKind::Release, 1_000, "hold_1", 12),
                entry(4, EntryKind::Charge, 1_500, "sale_1", 12),
                entry(5, EntryKind::Refund, 500, "sale_1", 13),
            ],
            &mut expected,
        );
        expect(
            other,
            &[entry(1, EntryKind::Hold, 4_000, "hold_2", 10)],
            &mut expected,
        );
        let held = |authorized, captured, refunded| Amounts {
            authorized_cents: authorized,
            captured_cents: captured,
            refunded_cents: refunded,
            voided: false,
        };
        let listed = [
            payment("hold_1", 9, held(6_000, 5_000, 0)),
            payment("sale_1", 12, held(1_500, 1_500, 0)),
            payment("dash_1", 15, held(2_000, 2_000, 0)),
        ];
        let date = at(0).date_naive();
        let day = compare(date, &expected, &listed);
        assert_eq!(day.matched, 1, "{day:?}");
        let kinds: Vec<_> = day
            .differences
            .iter()
            .map(|d| (d.reference.as_str(), d.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("dash_1", DifferenceKind::MissingInLedger),
                ("hold_2", DifferenceKind::MissingAtProvider),
                ("sale_1", DifferenceKind::AmountsDiffer),
            ]
        );
        let sale = &day.differences[2];
        assert_eq!(sale.ledger.map(|a| a.refunded_cents), Some(500));
        assert_eq!(sale.provider.map(|a| a.refunded_cents), Some(0));
        assert_eq!(sale.reservation_id, Some(rental));

        // Another day compares only what was opened that day.
        let next = compare(date.succ_opt().unwrap_or(date), &expected, &[]);
        assert_eq!((next.matched, next.differences.len()), (0, 0));
    }

    #[test]
    fn each_hold_of_an_extended_reservation_is_compared_on_its_own() {
        let rental = ReservationId::new();
        let mut expected = BTreeMap::new();
        expect(
            rental,
            &[
                entry(1, EntryKind::Hold, 6_000, "hold_1", 9),
                entry(2, EntryKind::Hold, 3_000, "hold_2", 10),
                entry(3, EntryKind::Capture, 6_000, "hold_1", 12),
                entry(4, EntryKind::Capture, 1_000, "hold_2", 12),
                entry(5, EntryKind::Release, 2_000, "hold_2", 12),
            ],
            &mut expected,
        );
        let amounts = |authorized, captured| Amounts {
            authorized_cents: authorized,
            captured_cents: captured,
            refunded_cents: 0,
            voided: false,
        };
        let agreeing = [
            payment("hold_1", 9, amounts(6_000, 6_000)),
            payment("hold_2", 10, amounts(3_000, 1_000)),
        ];
        let date = at(0).date_naive();
        let day = compare(date, &expected, &agreeing);
        assert_eq!((day.matched, day.differences.len()), (2, 0), "{day:?}");
        // The processor captured the second hold whole: that hold, and only it, differs.
        let differing = [
            payment("hold_1", 9, amounts(6_000, 6_000)),
            payment("hold_2", 10, amounts(3_000, 3_000)),
        ];
        let day = compare(date, &expected, &differing);
        assert_eq!(day.matched, 1);
        assert_eq!(day.differences.len(), 1);
        assert_eq!(day.differences[0].reference, "hold_2");
        assert_eq!(day.differences[0].kind, DifferenceKind::AmountsDiffer);
    }
}
