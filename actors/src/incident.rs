//! Incidents: what the system did on its own that an operator should look at.
//!
//! They are not violations: each one is the system keeping its promise in a situation that
//! went wrong outside it (a unit that answered too late, a renter who never released the car).
//! Each service records its own in its store, in the same transaction as the action taken.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{IncidentId, ReservationId, VehicleId};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// A unit reported an unlock done after the command had expired: the car may be open
    /// while nobody is entitled to it, so it was locked again at once.
    LateUnlockRelocked,
    /// A rental was ended by the system and the car could not be locked (unit silent or
    /// refusing).
    AutoEndNotLocked,
    /// A rental was ended by the system while the car was moving; it was not locked.
    AutoEndMoving,
    /// The card refused what a rental cost beyond its hold: the amount became the customer's
    /// outstanding balance.
    ChargeRefused,
    /// An operator ended a rental by force (the renter could not: a unit that never locks,
    /// a car towed); the detail holds the operator's reason.
    AdminForcedEnd,
    /// A renter ended a rental of a car whose unit never reported a position: the end was not
    /// refused (the renter cannot make the unit report), so an operator checks where it is.
    ReturnedWithoutPosition,
}

impl IncidentKind {
    /// The kind as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::LateUnlockRelocked => "late_unlock_relocked",
            IncidentKind::AutoEndNotLocked => "auto_end_not_locked",
            IncidentKind::AutoEndMoving => "auto_end_moving",
            IncidentKind::ChargeRefused => "charge_refused",
            IncidentKind::AdminForcedEnd => "admin_forced_end",
            IncidentKind::ReturnedWithoutPosition => "returned_without_position",
        }
    }
}

/// One incident, as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Its id (UUIDv7: incidents sort by time).
    pub id: IncidentId,
    /// What happened.
    pub kind: IncidentKind,
    /// When.
    pub at: DateTime<Utc>,
    /// The car.
    pub vehicle_id: VehicleId,
    /// The reservation concerned.
    pub reservation_id: Option<ReservationId>,
    /// In words, for the operator.
    pub detail: String,
}

impl Incident {
    /// A new incident at `at`.
    pub fn new(
        kind: IncidentKind,
        at: DateTime<Utc>,
        vehicle_id: VehicleId,
        reservation_id: Option<ReservationId>,
        detail: impl Into<String>,
    ) -> Self {
        Incident {
            id: IncidentId::new(),
            kind,
            at,
            vehicle_id,
            reservation_id,
            detail: detail.into(),
        }
    }
}
