//! Extending a reservation: a later end, in the car's turn, so that no booking of the car can
//! take the added time between the check and the write.
//!
//! The order is: the rules (`extension.rs`), the car's other reservations against the added
//! time, the extra card hold (billing keeps it beside the first, see `billing/holds.rs`), then
//! one durable commit of the new end, the hold total, the calendar entries and the deadlines
//! keyed on the end (the no-show of a confirmed reservation, the automatic end of an active
//! one), which are armed once it is durable. The customer's own reservations were checked by
//! the customer's schedule, which holds its turn meanwhile (`calendar.rs`).
//!
//! A refused hold changes nothing. If the commit fails after the hold was placed, the
//! reservation keeps its old end and old hold total while billing has one hold more: the
//! actor restarts from the store, and the settlement (or the cancel) of the reservation takes
//! its total from the holds in order and voids what is left, so the customer never pays for
//! it; it only stays reserved on the card until then. A retry of the same extension places a
//! hold of its own. Voiding it at once would need billing to resolve one hold before the
//! settlement, which it does not do; the window is one failed write of this store.

use chrono::{DateTime, Utc};

use crate::billing::{BillingError, PaymentError};
use crate::domain::Cents;
use crate::ids::{CustomerId, ReservationId};

use super::car::{CarContext, CarRentals, auto_end_deadline, no_show_deadline};
use super::domain_events;
use super::error::ReservationsError;
use super::extension::{Extension, check_extension};
use super::faults::FaultPoint;
use super::model::{DeadlineKind, ReservationRecord, ReservationStatus};
use super::rules::first_overlap;
use super::tables::Change;

/// An extension asked of a car: whose, which reservation, the new end, and the card to hold
/// the added time on.
#[derive(Clone)]
pub(crate) struct ExtensionRequest {
    pub(crate) customer: CustomerId,
    pub(crate) reservation: ReservationId,
    pub(crate) end_at: DateTime<Utc>,
    pub(crate) card_token: String,
}

/// Never prints the card token (it would end up in logs).
impl std::fmt::Debug for ExtensionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtensionRequest")
            .field("customer", &self.customer)
            .field("reservation", &self.reservation)
            .field("end_at", &self.end_at)
            .field("card_token", &"<redacted>")
            .finish()
    }
}

impl CarRentals {
    pub(super) async fn extend(
        &mut self,
        request: ExtensionRequest,
        context: &CarContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        self.reconcile(context).await?;
        let record = self.any_record(request.reservation, context)?;
        if record.customer_id != request.customer {
            return Err(ReservationsError::NotFound);
        }
        let now = context.clock.now();
        let (end_at, extra) = match check_extension(&record, request.end_at, now, &context.rules)? {
            Extension::Unchanged => return Ok(record),
            Extension::To { end_at, extra } => (end_at, extra),
        };
        let taken = self.taken_by_others(record.id, now, &context.rules);
        if first_overlap(&taken, record.end_at, end_at).is_some() {
            return Err(ReservationsError::VehicleBusy);
        }
        let held = self
            .hold_more(&record, request.card_token, extra, context)
            .await?;
        context.faults.hit(FaultPoint::ExtensionHeld).await;
        let mut next = record.clone();
        next.end_at = end_at;
        next.hold_cents = held;
        next.updated_at = context.clock.now();
        let (removed, added) = moved_deadlines(&record, &next, context);
        let events = [domain_events::extended(&record, &next, next.updated_at)];
        self.save(
            &Change {
                record: Some(&next),
                add_deadlines: &added,
                remove_deadlines: &removed,
                calendar: true,
                events: &events,
                ..Change::default()
            },
            context,
        )
        .await?;
        self.arm(next.id, &added, context);
        self.adopt(next.clone());
        Ok(next)
    }

    /// Holds `extra` more for `record`; the reservation's hold total after it.
    async fn hold_more(
        &self,
        record: &ReservationRecord,
        card_token: String,
        extra: Cents,
        context: &CarContext,
    ) -> Result<Cents, ReservationsError> {
        if !extra.is_positive() {
            return Ok(record.hold_cents);
        }
        let refusal = match context
            .billing
            .hold_more(record.id, card_token, extra.get())
            .await
        {
            Ok(_) => return Ok(record.hold_cents + extra),
            Err(BillingError::Declined { reason }) => reason,
            Err(BillingError::InsufficientFunds) => "insufficient funds".into(),
            Err(BillingError::UnknownCard) => "the card on file is not usable".into(),
            Err(BillingError::Provider(PaymentError::Unavailable(_))) => {
                return Err(ReservationsError::PaymentUnavailable);
            }
            Err(error) => return Err(ReservationsError::upstream("billing", error)),
        };
        Err(ReservationsError::ExtensionDeclined { reason: refusal })
    }
}

/// A deadline as the store keys it: when, and what.
type Deadline = (DateTime<Utc>, DeadlineKind);

/// The deadlines keyed on the end, before and after: removed at the old end and added at the
/// new one, for what the reservation is now.
fn moved_deadlines(
    before: &ReservationRecord,
    after: &ReservationRecord,
    context: &CarContext,
) -> ([Deadline; 1], [Deadline; 1]) {
    let rules = &context.rules;
    match after.status {
        ReservationStatus::Confirmed => ([no_show_deadline(before)], [no_show_deadline(after)]),
        _ => (
            [auto_end_deadline(before, rules)],
            [auto_end_deadline(after, rules)],
        ),
    }
}
