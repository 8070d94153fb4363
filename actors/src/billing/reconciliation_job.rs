//! The daily reconciliation: once a UTC day is over, billing reconciles it with the payment
//! provider and keeps the report in its store; every difference is logged as a warning and
//! counted by the audit among the incidents (`payment_reconciliation_difference`), so an
//! operator hears of money that moved without the ledger knowing.
//!
//! The job looks every [`crate::retention::PERIOD`] (real time, like the purges) for the last
//! finished day without a report, by the service clock. A failed run (the provider down) is
//! retried at the next look; a stored report is never run again.

use chrono::{DateTime, NaiveDate, Utc};
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef};
use storage::{StorageError, Table};

use super::BillingHandle;
use super::error::BillingError;
use super::reconciliation::{MARGIN, Reconciliation};
use crate::clock::SharedClock;

/// The stored reports, by day (`YYYY-MM-DD`).
#[derive(Clone)]
pub(crate) struct Reports(Table<String, Reconciliation>);

impl Reports {
    pub(crate) fn open(store: &storage::Store) -> Result<Reports, StorageError> {
        Ok(Reports(store.table("reconciliations")?))
    }
}

/// The day the job reconciles at `now`: the last one over, once the provider's margin has
/// passed too.
pub(crate) fn due_day(now: DateTime<Utc>) -> Option<NaiveDate> {
    (now - MARGIN).date_naive().pred_opt()
}

impl BillingHandle {
    /// Reconciles `date` and keeps the report (replacing an earlier one of that day).
    pub async fn reconcile_and_record(
        &self,
        date: NaiveDate,
    ) -> Result<Reconciliation, BillingError> {
        let report = self.reconcile(date).await?;
        for difference in &report.differences {
            tracing::warn!(
                %date,
                reference = %difference.reference,
                kind = ?difference.kind,
                reservation = ?difference.reservation_id,
                "a payment differs from the provider's records"
            );
        }
        self.reports.0.insert(&date.to_string(), &report)?;
        self.tables.store.commit().await?;
        Ok(report)
    }

    /// The stored report of `date`, if the job (or an operator) ran it.
    pub fn reconciliation_report(
        &self,
        date: NaiveDate,
    ) -> Result<Option<Reconciliation>, BillingError> {
        Ok(self.reports.0.get(&date.to_string())?)
    }

    /// Differences in every stored report: the audit counts them as incidents.
    pub fn reconciliation_differences(&self) -> Result<u64, BillingError> {
        let mut differences = 0;
        for entry in self.reports.0.iter() {
            differences += entry?.1.differences.len() as u64;
        }
        Ok(differences)
    }
}

/// Starts the daily job under `parent` (which stops it with the service).
pub(crate) async fn start(
    billing: BillingHandle,
    clock: SharedClock,
    parent: Option<ActorCell>,
) -> Result<(), ractor::SpawnErr> {
    let Some(parent) = parent else {
        return Ok(());
    };
    Actor::spawn_linked(None, DailyReconciliation, (billing, clock), parent).await?;
    Ok(())
}

/// The job's only message: time to look.
pub(crate) struct Look;

struct DailyReconciliation;

impl Actor for DailyReconciliation {
    type Msg = Look;
    type State = (BillingHandle, SharedClock);
    type Arguments = (BillingHandle, SharedClock);

    async fn pre_start(
        &self,
        myself: ActorRef<Look>,
        arguments: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        myself.send_interval(crate::retention::PERIOD, || Look);
        Ok(arguments)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Look>,
        _look: Look,
        (billing, clock): &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let Some(day) = due_day(clock.now()) else {
            return Ok(());
        };
        match billing.reconciliation_report(day) {
            Ok(Some(_)) => {}
            Ok(None) => match billing.reconcile_and_record(day).await {
                Ok(report) => tracing::info!(
                    %day,
                    matched = report.matched,
                    differences = report.differences.len(),
                    "payments reconciled with the provider"
                ),
                Err(error) => tracing::warn!(
                    %day,
                    error = %crate::error_kind::with_causes(&error),
                    "reconciliation failed; retried later"
                ),
            },
            Err(error) => tracing::warn!(%day, %error, "reconciliation reports unreadable"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn a_day_is_due_once_it_and_the_providers_margin_are_over() {
        let midnight = NaiveDate::from_ymd_opt(2026, 12, 2)
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .map(|time| time.and_utc())
            .unwrap_or_default();
        let first = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        assert_eq!(due_day(midnight + MARGIN), Some(first));
        assert_eq!(
            due_day(midnight + MARGIN - TimeDelta::seconds(1)),
            first.pred_opt()
        );
        assert_eq!(due_day(midnight + TimeDelta::hours(23)), Some(first));
    }
}
