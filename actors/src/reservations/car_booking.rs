//! Booking a car: the overlap check, the card hold and the one write that records the outcome,
//! all in the car's turn.
//!
//! The hold is placed before anything is written here, and the reservation is written once,
//! confirmed (or rejected), with its calendar entries, idempotency key and no-show deadline:
//! one durable commit in this store instead of a pending record and a confirmation. The
//! outcome's event (`reservation.confirmed` or `reservation.rejected`) goes with that write. While the
//! hold is placed the car's actor (and the customer's schedule) hold their turn, so no other
//! booking can take the interval meanwhile. A crash between the hold and the write leaves a
//! hold for a reservation that does not exist; the start-up sweep (`recovery.rs`) voids it.

use chrono::{DateTime, Utc};

use crate::billing::{BillingError, ChargeStatus, HoldRequest, PaymentError};
use crate::events::Place;
use crate::ids::ReservationId;

use super::car::{CarContext, CarRentals, no_show_deadline};
use super::domain_events;
use super::error::ReservationsError;
use super::faults::FaultPoint;
use super::model::{CalendarEntry, ReservationRecord, ReservationStatus};
use super::rules::{RentalRules, first_overlap};
use super::tables::tx_storage;

impl CarRentals {
    /// The car's time taken by its open reservations other than `except`, at `now`. A rental
    /// running past its end holds the car until it is released, at the latest until its
    /// automatic end: nothing may start before then.
    pub(super) fn taken_by_others(
        &self,
        except: ReservationId,
        now: DateTime<Utc>,
        rules: &RentalRules,
    ) -> Vec<CalendarEntry> {
        self.open
            .iter()
            .filter(|open| open.id != except)
            .map(|open| CalendarEntry {
                reservation_id: open.id,
                counterpart: open.customer_id.as_uuid(),
                start_at: open.start_at,
                end_at: if open.status == ReservationStatus::Active && now >= open.end_at {
                    open.end_at + rules.auto_end_after
                } else {
                    open.end_at
                },
            })
            .collect()
    }

    pub(super) async fn book(
        &mut self,
        booking: super::car::Booking,
        context: &CarContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        let mut record = booking.record;
        debug_assert_eq!(record.vehicle_id, self.vehicle);
        // The caller read the car as available, perhaps before it retired: the mark written in
        // this actor's turn is what counts (see `car_retirement`).
        if self.retired {
            return Err(ReservationsError::VehicleUnavailable);
        }
        let taken = self.taken_by_others(record.id, context.clock.now(), &context.rules);
        if first_overlap(&taken, record.start_at, record.end_at).is_some() {
            return Err(ReservationsError::VehicleBusy);
        }
        let request = HoldRequest {
            reservation_id: record.id,
            customer_id: record.customer_id,
            card_token: booking.card_token,
            amount_cents: record.hold_cents.get(),
        };
        let refusal = match context.billing.hold(request).await {
            Ok(summary) if summary.status == ChargeStatus::Held => None,
            Ok(summary) => {
                // A retried booking met a charge resolved meanwhile (voided by the start-up
                // sweep): it holds nothing, so it cannot confirm a reservation.
                return Err(ReservationsError::upstream(
                    "billing",
                    format!("the booking's charge is {:?}, not held", summary.status),
                ));
            }
            Err(BillingError::Declined { reason }) => Some(reason),
            Err(BillingError::InsufficientFunds) => Some("insufficient funds".into()),
            Err(BillingError::UnknownCard) => Some("the card on file is not usable".into()),
            Err(error) => {
                // Nothing is written, so the interval stays free, and no refusal is recorded:
                // a transient failure is not a final answer, and the same request again (the
                // same idempotency key) books this reservation id (see `calendar`). A hold
                // billing may still have placed (a timeout after the provider acted) is given
                // back now if the provider answers, or else found by the retry, which resumes
                // the hold with the same key, or by the start-up sweep.
                if let Err(void_error) = context.billing.void(record.id).await
                    && !matches!(void_error, BillingError::NoHold | BillingError::NotFound)
                {
                    tracing::warn!(reservation = %record.id, %void_error, "could not void after a failed hold");
                }
                return Err(match error {
                    BillingError::Provider(PaymentError::Unavailable(_)) => {
                        ReservationsError::PaymentUnavailable
                    }
                    error => ReservationsError::upstream("billing", error),
                });
            }
        };
        context.faults.hit(FaultPoint::HoldPlaced).await;
        record.updated_at = context.clock.now();
        let deadlines = match refusal {
            None => {
                record.status = ReservationStatus::Confirmed;
                vec![no_show_deadline(&record)]
            }
            Some(reason) => {
                record.status = ReservationStatus::Rejected;
                record.rejection = Some(reason);
                Vec::new()
            }
        };
        let place = match record.status {
            ReservationStatus::Confirmed => self.place(context).await,
            _ => None,
        };
        let events: Vec<_> = domain_events::booked(&record, &booking.car, place, record.updated_at)
            .into_iter()
            .collect();
        context
            .tables
            .insert_booking(&record, booking.idempotency.as_ref(), &deadlines, &events)
            .map_err(tx_storage)?;
        context.tables.store.commit().await?;
        self.arm(record.id, &deadlines, context);
        self.adopt(record.clone());
        Ok(record)
    }

    /// Where the car last reported, for the confirmation: one read of location's store, and
    /// a confirmation without a place rather than no confirmation when it fails.
    async fn place(&self, context: &CarContext) -> Option<Place> {
        match context.location.latest(self.vehicle).await {
            Ok(fix) => fix.map(|fix| Place {
                lat: fix.lat,
                lon: fix.lon,
            }),
            Err(error) => {
                tracing::warn!(vehicle = %self.vehicle, %error, "no position for the confirmation");
                None
            }
        }
    }
}
