//! Retiring a car, as far as its bookings go.
//!
//! Vehicles used to ask whether the car had open reservations and then mark it retired in its
//! own store, while a booking read the car's status from that store and then booked it in this
//! actor: a booking that read "available" before the retirement and reached this actor after
//! the check was confirmed on a retired car. Now the check and the write it leads to are one
//! turn of the car's rentals actor, the single writer of the car's bookings: it refuses while a
//! reservation is open, and otherwise marks the car retired here, durably, before it answers.
//! A booking that arrives afterwards finds the mark and is refused, whatever status it read.
//!
//! Vehicles writes its own `retired` status only once this step said yes. A crash between the
//! two leaves a car that takes no booking but still shows as available; retiring it again
//! (idempotent here) completes the retirement.

use crate::ask::AskError;
use crate::ids::VehicleId;

use super::ReservationsHandle;
use super::car::{CarContext, CarMsg, CarRentals};
use super::error::ReservationsError;
use super::model::ReservationRecord;

/// What a retirement came to in the car's rentals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retirement {
    /// The car is closed to bookings (now, or by an earlier retirement).
    Retired,
    /// A reservation of the car is open (pending payment, confirmed or active): nothing
    /// changed.
    Refused,
}

/// Whether the car may retire now, and whether that needs a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Already retired: answer at once.
    Already,
    /// No open reservation: mark it.
    Mark,
    /// An open reservation holds it.
    Refuse,
}

/// The rule: a retired car stays retired; otherwise it may retire only with no open
/// reservation (the actor keeps only open ones in `open`).
pub(crate) fn verdict(retired: bool, open: &[ReservationRecord]) -> Verdict {
    if retired {
        Verdict::Already
    } else if open.is_empty() {
        Verdict::Mark
    } else {
        Verdict::Refuse
    }
}

impl CarRentals {
    pub(super) async fn retire(
        &mut self,
        context: &CarContext,
    ) -> Result<Retirement, ReservationsError> {
        match verdict(self.retired, &self.open) {
            Verdict::Already => Ok(Retirement::Retired),
            Verdict::Refuse => Ok(Retirement::Refused),
            Verdict::Mark => {
                context
                    .tables
                    .retired_cars
                    .insert(&self.vehicle, &context.clock.now())?;
                // Adopted before the commit: the mark is in the tree whether or not the flush
                // works, and a booking must not slip in behind a failed flush either.
                self.retired = true;
                context.tables.store.commit().await?;
                tracing::info!(vehicle = %self.vehicle, "car closed to bookings for retirement");
                Ok(Retirement::Retired)
            }
        }
    }
}

/// Asks the car's rentals actor to retire it (the port's `retire_vehicle`): `true` when it is
/// retired, `false` while a reservation of it is open.
pub(crate) async fn retire_vehicle(
    handle: &ReservationsHandle,
    vehicle: VehicleId,
) -> Result<bool, AskError> {
    let answer = handle
        .inner
        .cars
        .call_or_create(vehicle, |reply| CarMsg::Retire { reply })
        .await?;
    match answer {
        Ok(Retirement::Retired) => Ok(true),
        Ok(Retirement::Refused) => Ok(false),
        Err(error) => {
            tracing::error!(%vehicle, %error, "cannot retire the car's bookings");
            Err(AskError::Unavailable {
                actor: "car rentals".into(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_car_retires_only_without_open_reservations_and_stays_retired() {
        assert_eq!(verdict(false, &[]), Verdict::Mark);
        assert_eq!(verdict(true, &[]), Verdict::Already);
        let start = crate::testing::t0();
        let open = ReservationRecord::sample(
            super::super::model::ReservationStatus::Confirmed,
            start,
            start + chrono::TimeDelta::hours(2),
        );
        assert_eq!(verdict(false, std::slice::from_ref(&open)), Verdict::Refuse);
        // Retired cars take no booking, so they have no open one; the mark wins regardless.
        assert_eq!(verdict(true, std::slice::from_ref(&open)), Verdict::Already);
    }
}
