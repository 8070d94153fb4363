//! What the reports store keeps about each reservation, car and customer, as the events told
//! it. Stored with bincode: plain structs, no serde attributes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, ReservationId, VehicleId};

/// Money that moved on a reservation's charge, when it moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Movement {
    /// When (the event's time).
    pub at: DateTime<Utc>,
    /// Captured from the holds.
    pub captured_cents: i64,
    /// Charged beyond the holds.
    pub extra_cents: i64,
    /// Given back.
    pub refunded_cents: i64,
}

impl Movement {
    /// What this movement adds to revenue.
    pub fn revenue_cents(&self) -> i64 {
        self.captured_cents + self.extra_cents - self.refunded_cents
    }
}

/// One reservation as the events told it. Events of different services arrive in no common
/// order (each store's relay is independent), so every field is filled by whichever event
/// knows it, whenever it comes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trip {
    /// The reservation.
    pub reservation_id: Option<ReservationId>,
    /// The renter.
    pub customer_id: Option<CustomerId>,
    /// The car.
    pub vehicle_id: Option<VehicleId>,
    /// The car's plate at booking.
    pub plate: Option<String>,
    /// The car's model at booking.
    pub model: Option<String>,
    /// Where the car was at booking (latitude, longitude).
    pub booked_at_place: Option<(f64, f64)>,
    /// The booked window.
    pub start_at: Option<DateTime<Utc>>,
    /// The booked end (moved by extensions).
    pub end_at: Option<DateTime<Utc>>,
    /// Every hold together.
    pub hold_cents: i64,
    /// When the booking was confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// When it became a no-show, and the fee.
    pub no_show_at: Option<DateTime<Utc>>,
    /// The no-show fee.
    pub no_show_fee_cents: i64,
    /// When the doors first opened.
    pub started_at: Option<DateTime<Utc>>,
    /// Where the car was when the doors first opened (latitude, longitude), or where it was
    /// booked when the start's position is not known: what revenue by area groups on.
    pub start_place: Option<(f64, f64)>,
    /// When the rental ended.
    pub released_at: Option<DateTime<Utc>>,
    /// Who ended it.
    pub ended_by: Option<String>,
    /// What the rental cost in all.
    pub total_cents: i64,
    /// Of which overtime and the late fee.
    pub overtime_cents: i64,
    /// What the card refused at the end.
    pub outstanding_cents: i64,
    /// Whether billing had still to settle it when it ended.
    pub settlement_pending: bool,
    /// The money that moved, in arrival order.
    pub money: Vec<Movement>,
}

impl Trip {
    /// Revenue of the trip within `[from, to)`.
    pub fn revenue_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        self.money
            .iter()
            .filter(|movement| from <= movement.at && movement.at < to)
            .map(Movement::revenue_cents)
            .sum()
    }

    /// Whether it was returned after its booked end.
    pub fn returned_late(&self) -> bool {
        matches!((self.released_at, self.end_at), (Some(released), Some(end)) if released > end)
    }
}

/// One car's time in service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CarFacts {
    /// The plate.
    pub plate: Option<String>,
    /// The model.
    pub model: Option<String>,
    /// When it was registered (unknown when that event is older than the log).
    pub registered_at: Option<DateTime<Utc>>,
    /// When it was retired.
    pub retired_at: Option<DateTime<Utc>>,
}
