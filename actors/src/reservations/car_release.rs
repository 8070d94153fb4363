//! The end of a rental by a person: the renter releasing the car where it stands, or an
//! operator ending it by force.
//!
//! The renter's end is checked in the car's turn against the car's latest position (the
//! rules are pure, in `return_rules`), then the doors must lock: a unit that refuses or stays
//! silent leaves the rental active so the renter can try again, with one answer for both
//! (`LockFailed`) since the renter's next step is the same. An operator's forced end skips the
//! position checks and does not wait on the lock; it is recorded as an incident with the
//! operator's reason, which the audit lists.

use crate::commands::{CommandError, CommandOrigin, CommandRecord, LockAction};
use crate::ids::ReservationId;
use crate::incident::{Incident, IncidentKind};

use super::Requester;
use super::car::{CarContext, CarRentals, Ending};
use super::error::ReservationsError;
use super::faults::FaultPoint;
use super::model::{EndedBy, ReservationRecord, ReservationStatus};
use super::return_rules::check_return;
use super::rules::check_finish;

impl CarRentals {
    /// Ends the rental `id` as `ending` says; finishing a completed rental answers it again.
    pub(super) async fn finish(
        &mut self,
        ending: Ending,
        id: ReservationId,
        context: &CarContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        self.reconcile(context).await?;
        let record = self.any_record(id, context)?;
        let requester = match &ending {
            Ending::Renter(customer) => Requester::Customer(*customer),
            Ending::Forced { .. } => Requester::Admin,
        };
        if !requester.may_access(&record) {
            return Err(ReservationsError::NotFound);
        }
        if record.status == ReservationStatus::Completed {
            return Ok(record);
        }
        check_finish(&record)?;
        match ending {
            Ending::Renter(_) => self.release(record, context).await,
            Ending::Forced { reason } => self.force_end(record, reason, context).await,
        }
    }

    /// The renter leaves the car: where it stands must be a place to end, and it must lock.
    async fn release(
        &mut self,
        record: ReservationRecord,
        context: &CarContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        let fix = context
            .location
            .latest(self.vehicle)
            .await
            .map_err(|error| ReservationsError::upstream("location", error))?;
        check_return(
            fix.as_ref(),
            context.location.service_area(),
            context.clock.now(),
        )?;
        let locked = self
            .run_command(
                &record,
                LockAction::Lock,
                CommandOrigin::Renter,
                true,
                context,
            )
            .await;
        match lock_refusal(locked)? {
            None => {}
            // Locks saw a fresher fix than the one checked above.
            Some(CommandError::Moving) => {
                return Err(ReservationsError::CarMoving { speed_kmh: None });
            }
            Some(error @ (CommandError::UnitTimeout | CommandError::UnitFailed(_))) => {
                return Err(ReservationsError::LockFailed(error));
            }
            Some(error) => return Err(error.into()),
        }
        context.faults.hit(FaultPoint::ReleaseLocked).await;
        let released_at = context.clock.now();
        let incident = fix.is_none().then(|| {
            Incident::new(
                IncidentKind::ReturnedWithoutPosition,
                released_at,
                self.vehicle,
                Some(record.id),
                "the renter ended the rental and the car's unit has never reported a position",
            )
        });
        self.end(record, released_at, EndedBy::Customer, incident, context)
            .await
    }

    /// An operator ends the rental: the car is locked if it will (never under a driver), and
    /// the rental ends and is settled whatever the car answers.
    async fn force_end(
        &mut self,
        record: ReservationRecord,
        reason: String,
        context: &CarContext,
    ) -> Result<ReservationRecord, ReservationsError> {
        let locked = self
            .run_command(
                &record,
                LockAction::Lock,
                CommandOrigin::System,
                true,
                context,
            )
            .await;
        let detail = match lock_refusal(locked)? {
            None => reason,
            Some(error) => {
                tracing::warn!(reservation = %record.id, %error, "rental ended by force without a lock");
                format!("{reason} (the car was not locked: {error})")
            }
        };
        let now = context.clock.now();
        let incident = Incident::new(
            IncidentKind::AdminForcedEnd,
            now,
            self.vehicle,
            Some(record.id),
            detail,
        );
        self.end(record, now, EndedBy::Admin, Some(incident), context)
            .await
    }
}

/// Why the car did not lock, if it did not; a failure of ours (the store) is the outer error.
fn lock_refusal(
    locked: Result<CommandRecord, ReservationsError>,
) -> Result<Option<CommandError>, ReservationsError> {
    match locked {
        Ok(command) => Ok(CommandError::from_settled(&command)),
        Err(ReservationsError::Command(error)) => Ok(Some(error)),
        Err(other) => Err(other),
    }
}
