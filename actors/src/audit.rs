//! The rental invariants, checked across services from what each one has stored.
//!
//! Each service checks its own invariants (a car's calendar, a charge's ledger); the questions
//! that span two services are asked here, through the handles only: whether an open hold
//! belongs to a reservation that is over (money left held on a card), and whether every
//! unlock the cars executed fell inside a window in which a reservation of that renter let
//! them in. The simulator runs this after every run, and operators can run it on a live
//! deployment through `GET /v1/audit`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::locks::{CommandRecord, CommandStatus, LockAction};
use crate::reservations::{AccessWindow, Occupancy, Requester, ReservationsError};
use crate::system::Services;

/// What the audit found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemAudit {
    /// Reservations by status.
    pub reservations_by_status: BTreeMap<String, u64>,
    /// Charges in the ledger.
    pub charges: u64,
    /// Holds not yet captured or voided; each belongs to a reservation still under way.
    pub open_holds: u64,
    /// Unlocks the cars executed, each checked against its reservation's window.
    pub unlocks_checked: u64,
    /// Customers who owe money the card refused (a figure, not a violation).
    pub customers_with_outstanding: u64,
    /// What they owe together, in centavos.
    pub outstanding_cents: i64,
    /// Incidents the services recorded, by kind (a figure: each one is the system keeping its
    /// promise when something outside it went wrong).
    pub incidents: BTreeMap<String, u64>,
    /// Operator refunds and the payment provider's events applied to charges (its webhooks),
    /// by kind: `operator_refund`, `provider_refund`, `hold_cancelled_at_provider`,
    /// `payment_dispute`. The last two are counted in `incidents` too.
    #[serde(default)]
    pub payment_events: BTreeMap<String, u64>,
    /// Rentals operators ended by force, oldest first, each with the operator's reason: a
    /// count alone would not tell a reviewer whether the power is used well.
    #[serde(default)]
    pub forced_ends: Vec<ForcedEnd>,
    /// Broken invariants, one sentence each; empty when all hold.
    pub violations: Vec<String>,
}

/// A rental an operator ended by force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForcedEnd {
    /// The reservation.
    pub reservation_id: crate::ids::ReservationId,
    /// The car.
    pub vehicle_id: crate::ids::VehicleId,
    /// When it was ended.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The operator's reason (and, when the car did not lock, why).
    pub reason: String,
}

impl SystemAudit {
    /// Whether every invariant holds.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// Reservations still under way (a hold may rightly be open for them).
    pub fn open_reservations(&self) -> u64 {
        ["pending_payment", "confirmed", "active"]
            .iter()
            .filter_map(|status| self.reservations_by_status.get(*status))
            .sum()
    }
}

/// Why the audit could not read a service.
#[derive(Debug, thiserror::Error)]
#[error("audit cannot read {service}")]
pub struct AuditError {
    /// The service.
    pub service: &'static str,
    /// What went wrong.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

fn unreadable<E>(service: &'static str) -> impl FnOnce(E) -> AuditError
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    move |error| AuditError {
        service,
        source: error.into(),
    }
}

/// Reading a service's whole store failing is our fault, never the caller's.
impl crate::error_kind::Kinded for AuditError {
    fn kind(&self) -> crate::error_kind::ErrorKind {
        crate::error_kind::ErrorKind::Internal
    }
}

/// Reads every service and checks the invariants; a long read on a big store, meant for
/// operators and the simulator, not for the request path.
pub async fn audit(services: &Services) -> Result<SystemAudit, AuditError> {
    let reservations = services
        .reservations
        .audit()
        .map_err(unreadable("reservations"))?;
    let billing = services
        .billing
        .audit()
        .await
        .map_err(unreadable("billing"))?;
    let mut report = SystemAudit {
        reservations_by_status: reservations
            .by_status
            .iter()
            .map(|(status, count)| ((*status).to_owned(), *count))
            .collect(),
        charges: billing.charges,
        open_holds: billing.unresolved_holds.len() as u64,
        unlocks_checked: 0,
        customers_with_outstanding: 0,
        outstanding_cents: 0,
        incidents: billing.incidents,
        payment_events: billing.events,
        forced_ends: Vec::new(),
        violations: reservations.violations,
    };
    let (owing, owed) = services
        .customers
        .outstanding_balances()
        .map_err(unreadable("customers"))?;
    report.customers_with_outstanding = owing;
    report.outstanding_cents = owed;
    let locks_incidents = services.locks.incidents().map_err(unreadable("locks"))?;
    let rental_incidents = services
        .reservations
        .incidents()
        .map_err(unreadable("reservations"))?;
    for incident in locks_incidents.iter().chain(&rental_incidents) {
        *report
            .incidents
            .entry(incident.kind.as_str().to_owned())
            .or_default() += 1;
    }
    report.forced_ends = rental_incidents
        .iter()
        .filter(|incident| incident.kind == crate::incident::IncidentKind::AdminForcedEnd)
        .filter_map(|incident| {
            Some(ForcedEnd {
                reservation_id: incident.reservation_id?,
                vehicle_id: incident.vehicle_id,
                at: incident.at,
                reason: incident.detail.clone(),
            })
        })
        .collect();
    report.forced_ends.sort_by_key(|forced| forced.at);
    let differences = services
        .billing
        .reconciliation_differences()
        .map_err(unreadable("billing"))?;
    if differences > 0 {
        report
            .incidents
            .insert("payment_reconciliation_difference".to_owned(), differences);
    }
    report.violations.extend(billing.violations);
    for id in billing.unresolved_holds {
        match services.reservations.get(Requester::Admin, id) {
            Ok(reservation) if !reservation.status.is_open() => report.violations.push(format!(
                "reservation {id} is {} but its hold is still open",
                reservation.status.as_str()
            )),
            Ok(_) => {}
            Err(ReservationsError::NotFound) => report
                .violations
                .push(format!("hold for unknown reservation {id}")),
            Err(error) => return Err(unreadable("reservations")(error)),
        }
    }
    let commands = services.locks.all_commands().map_err(unreadable("locks"))?;
    for command in commands.iter().filter(|command| executed_unlock(command)) {
        report.unlocks_checked += 1;
        let window = services
            .reservations
            .access_window(command.reservation_id)
            .map_err(unreadable("reservations"))?;
        if let Some(problem) = unlock_problem(command, window) {
            report.violations.push(problem);
        } else if let Some(problem) = unlock_while_held(command, &reservations.occupancy) {
            report.violations.push(problem);
        }
    }
    Ok(report)
}

/// An unlock issued while another renter's rental of the car was under way: the car was
/// opened under a reservation that was not entitled to it at that moment.
fn unlock_while_held(command: &CommandRecord, occupancy: &[Occupancy]) -> Option<String> {
    let start = occupancy.partition_point(|span| span.vehicle_id < command.vehicle_id);
    occupancy[start..]
        .iter()
        .take_while(|span| span.vehicle_id == command.vehicle_id)
        .find(|span| {
            span.reservation_id != command.reservation_id && span.contains(command.issued_at)
        })
        .map(|held| {
            format!(
                "unlock {} of car {} under reservation {} ran while reservation {} held the car",
                command.id, command.vehicle_id, command.reservation_id, held.reservation_id
            )
        })
}

fn executed_unlock(command: &CommandRecord) -> bool {
    command.action == LockAction::Unlock && command.status == CommandStatus::Done
}

/// What is wrong with an executed unlock, judged against its reservation's access window.
fn unlock_problem(command: &CommandRecord, window: Option<AccessWindow>) -> Option<String> {
    let id = command.id;
    let Some(window) = window else {
        return Some(format!(
            "unlock {id} ran under reservation {} that never held the car",
            command.reservation_id
        ));
    };
    if window.customer_id != command.customer_id || window.vehicle_id != command.vehicle_id {
        return Some(format!(
            "unlock {id} of car {} for customer {} ran under reservation {} of someone else or another car",
            command.vehicle_id, command.customer_id, command.reservation_id
        ));
    }
    let at = command.issued_at;
    (!window.contains(at)).then(|| {
        format!(
            "unlock {id} of car {} issued at {at} outside its reservation's window",
            command.vehicle_id
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CommandId, CustomerId, ReservationId, VehicleId};
    use chrono::{DateTime, TimeDelta, Utc};

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::minutes(minutes)
    }

    fn command(customer: CustomerId, vehicle: VehicleId, issued: i64) -> CommandRecord {
        CommandRecord {
            id: CommandId::new(),
            vehicle_id: vehicle,
            action: LockAction::Unlock,
            status: CommandStatus::Done,
            customer_id: customer,
            reservation_id: ReservationId::new(),
            fence: 1,
            origin: crate::commands::CommandOrigin::Renter,
            issued_at: at(issued),
            expires_at: at(issued + 1),
            answered_at: Some(at(issued)),
            reason: None,
        }
    }

    fn window(customer: CustomerId, vehicle: VehicleId, until: Option<i64>) -> AccessWindow {
        AccessWindow {
            customer_id: customer,
            vehicle_id: vehicle,
            from: at(100),
            until: until.map(at),
        }
    }

    #[test]
    fn an_unlock_inside_the_window_is_fine_and_one_outside_is_reported() {
        let (customer, vehicle) = (CustomerId::new(), VehicleId::new());
        let inside = command(customer, vehicle, 150);
        assert_eq!(
            unlock_problem(&inside, Some(window(customer, vehicle, Some(200)))),
            None
        );
        for issued in [99, 200, 500] {
            let outside = command(customer, vehicle, issued);
            let problem = unlock_problem(&outside, Some(window(customer, vehicle, Some(200))));
            assert!(
                problem.is_some_and(|text| text.contains("outside")),
                "{issued}"
            );
        }
    }

    #[test]
    fn a_rental_under_way_has_no_end_yet() {
        let (customer, vehicle) = (CustomerId::new(), VehicleId::new());
        let late = command(customer, vehicle, 10_000);
        assert_eq!(
            unlock_problem(&late, Some(window(customer, vehicle, None))),
            None
        );
    }

    #[test]
    fn an_unlock_while_another_rental_holds_the_car_is_reported() {
        let (customer, vehicle) = (CustomerId::new(), VehicleId::new());
        let unlock = command(customer, vehicle, 150);
        let held = |from: i64, until: Option<i64>| Occupancy {
            reservation_id: ReservationId::new(),
            customer_id: CustomerId::new(),
            vehicle_id: vehicle,
            from: at(from),
            until: until.map(at),
        };
        assert!(
            unlock_while_held(&unlock, &[held(100, None)]).is_some(),
            "late renter"
        );
        assert!(unlock_while_held(&unlock, &[held(100, Some(151))]).is_some());
        assert!(
            unlock_while_held(&unlock, &[held(100, Some(150))]).is_none(),
            "released"
        );
        let own = Occupancy {
            reservation_id: unlock.reservation_id,
            ..held(100, None)
        };
        assert!(
            unlock_while_held(&unlock, &[own]).is_none(),
            "its own rental"
        );
    }

    #[test]
    fn an_unlock_for_another_renter_or_car_or_without_a_reservation_is_reported() {
        let (customer, vehicle) = (CustomerId::new(), VehicleId::new());
        let stranger = command(CustomerId::new(), vehicle, 150);
        assert!(unlock_problem(&stranger, Some(window(customer, vehicle, None))).is_some());
        let other_car = command(customer, VehicleId::new(), 150);
        assert!(unlock_problem(&other_car, Some(window(customer, vehicle, None))).is_some());
        assert!(unlock_problem(&command(customer, vehicle, 150), None).is_some());
    }
}
