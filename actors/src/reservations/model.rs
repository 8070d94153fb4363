//! Reservation records as stored, and the views handed out.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::commands::LockAction;
use crate::domain::Cents;
use crate::ids::{CommandId, CustomerId, ReservationId, VehicleId};

/// Where a reservation is in its life.
///
/// `pending_payment → confirmed → active → completed` is the normal path; `rejected` (hold
/// declined), `cancelled` (before start) and `no_show` (never unlocked by its end) end it early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    /// Booked on the car's calendar; the card hold is being placed.
    PendingPayment,
    /// Held on the card; waiting for the renter's first unlock.
    Confirmed,
    /// The renter has unlocked the car at least once.
    Active,
    /// The car was released and the rental captured.
    Completed,
    /// Cancelled before its start; the hold was voided.
    Cancelled,
    /// Never unlocked by its end; the no-show fee was captured.
    NoShow,
    /// The card hold was declined.
    Rejected,
}

impl ReservationStatus {
    /// Whether the reservation still occupies its interval on the car's and the customer's
    /// calendars.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ReservationStatus::PendingPayment
                | ReservationStatus::Confirmed
                | ReservationStatus::Active
        )
    }

    /// Whether the reservation kept the car for its renter at some point (so the renter may
    /// see where the car went during it): not when it was cancelled, rejected or is still
    /// awaiting payment.
    pub fn held_the_car(self) -> bool {
        matches!(
            self,
            ReservationStatus::Confirmed
                | ReservationStatus::Active
                | ReservationStatus::Completed
                | ReservationStatus::NoShow
        )
    }

    /// The status as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::PendingPayment => "pending_payment",
            ReservationStatus::Confirmed => "confirmed",
            ReservationStatus::Active => "active",
            ReservationStatus::Completed => "completed",
            ReservationStatus::Cancelled => "cancelled",
            ReservationStatus::NoShow => "no_show",
            ReservationStatus::Rejected => "rejected",
        }
    }
}

/// A reservation as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationRecord {
    /// Its id.
    pub id: ReservationId,
    /// The car.
    pub vehicle_id: VehicleId,
    /// The renter.
    pub customer_id: CustomerId,
    /// Start of the reserved window.
    pub start_at: DateTime<Utc>,
    /// End of the reserved window (exclusive).
    pub end_at: DateTime<Utc>,
    /// Where it is in its life.
    pub status: ReservationStatus,
    /// The car's hourly rate when it was booked: later rate changes do not reprice it.
    pub hourly_rate_cents: Cents,
    /// The amount held on the card.
    pub hold_cents: Cents,
    /// What was finally captured or charged (completion, no-show).
    pub total_cents: Option<Cents>,
    /// The first unlock, which made it active.
    pub unlocked_at: Option<DateTime<Utc>>,
    /// When the renter released the car.
    pub released_at: Option<DateTime<Utc>>,
    /// Why it was rejected, for the renter.
    pub rejection: Option<String>,
    /// Who ended the rental (completed reservations).
    pub ended_by: Option<EndedBy>,
    /// What the late return added to the reserved time: the started overtime blocks at the
    /// hourly rate and the late fee.
    pub overtime_cents: Cents,
    /// What the card refused of the total: owed by the customer (their outstanding balance).
    pub outstanding_cents: Cents,
    /// The end was recorded but billing has not confirmed the settlement, or the refused part
    /// has not reached the customer's balance yet: a `Settle` deadline keeps trying.
    pub settlement_pending: bool,
    /// When the car came back from the previous renter, if that was after this reservation's
    /// start: the car was not there for the renter until then.
    pub delayed_until: Option<DateTime<Utc>>,
    /// When it was booked.
    pub created_at: DateTime<Utc>,
    /// Its last change.
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
impl ReservationRecord {
    /// A reservation of a new car by a new customer, at 30 BRL an hour with 60 BRL held, for
    /// the rules' tests.
    pub(crate) fn sample(
        status: ReservationStatus,
        start_at: DateTime<Utc>,
        end_at: DateTime<Utc>,
    ) -> Self {
        ReservationRecord {
            id: ReservationId::new(),
            vehicle_id: VehicleId::new(),
            customer_id: CustomerId::new(),
            start_at,
            end_at,
            status,
            hourly_rate_cents: Cents::new(3_000),
            hold_cents: Cents::new(6_000),
            total_cents: None,
            unlocked_at: None,
            released_at: None,
            rejection: None,
            ended_by: None,
            overtime_cents: Cents::ZERO,
            outstanding_cents: Cents::ZERO,
            settlement_pending: false,
            delayed_until: None,
            created_at: start_at,
            updated_at: start_at,
        }
    }
}

/// Who ended a rental.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    /// The renter released the car.
    Customer,
    /// The system ended it `rental.auto_end_after_min` after its end.
    System,
    /// An operator forced the end.
    Admin,
}

impl EndedBy {
    /// As the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            EndedBy::Customer => "customer",
            EndedBy::System => "system",
            EndedBy::Admin => "admin",
        }
    }
}

/// A command a car's rentals actor ordered and has not seen the outcome of yet. Written
/// before the order leaves and cleared with its outcome, so a restart in between finds it and
/// asks locks what became of the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InFlight {
    /// The command's id (chosen here, so it can be looked up after a restart).
    pub command_id: CommandId,
    /// Under which reservation.
    pub reservation_id: ReservationId,
    /// What it asks.
    pub action: LockAction,
    /// Its fencing number.
    pub fence: u64,
}

/// An interval on a car's or a customer's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CalendarEntry {
    /// The reservation occupying it.
    pub reservation_id: ReservationId,
    /// The other party: the customer on a car's calendar, the car on a customer's.
    pub counterpart: uuid::Uuid,
    /// Start (inclusive).
    pub start_at: DateTime<Utc>,
    /// End (exclusive).
    pub end_at: DateTime<Utc>,
}

/// What an idempotency key maps to: the request it first came with and its reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IdempotencyRecord {
    /// A digest of the request body, to tell a replay from a different request.
    pub request_digest: String,
    /// The reservation the first request created.
    pub reservation_id: ReservationId,
}

/// A booking with an idempotency key that the payment provider's outage interrupted: the
/// reservation id its retry takes (see `calendar`), until it is retried or expires like a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UnfinishedBooking {
    /// A digest of the request body.
    pub request_digest: String,
    /// The reservation id the retry takes.
    pub reservation_id: ReservationId,
    /// When the outage interrupted it (service clock).
    pub at: DateTime<Utc>,
}

/// Deadlines persisted so that they survive restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum DeadlineKind {
    /// At the end of the window: a reservation still `confirmed` is a no-show.
    NoShow,
    /// `rental.auto_end_after_min` after the end: a rental still `active` is ended by the
    /// system.
    AutoEnd,
    /// Soon after an end whose settlement billing did not confirm (or whose refused part has
    /// not reached the customer's balance): try again.
    Settle,
}

impl DeadlineKind {
    pub(crate) fn code(self) -> u8 {
        match self {
            DeadlineKind::NoShow => 2,
            DeadlineKind::AutoEnd => 3,
            DeadlineKind::Settle => 4,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            2 => Some(DeadlineKind::NoShow),
            3 => Some(DeadlineKind::AutoEnd),
            4 => Some(DeadlineKind::Settle),
            _ => None,
        }
    }
}

/// A reservation request, as the renter sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReservation {
    /// The car.
    pub vehicle_id: VehicleId,
    /// Start of the window.
    pub start_at: DateTime<Utc>,
    /// End of the window.
    pub end_at: DateTime<Utc>,
}

/// The amount held, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Money {
    /// Integer centavos.
    pub amount_cents: i64,
    /// Always BRL.
    pub currency: &'static str,
}

impl Money {
    /// An amount in reais, counted in centavos.
    pub fn brl(amount: Cents) -> Self {
        Money {
            amount_cents: amount.get(),
            currency: "BRL",
        }
    }
}

/// A reservation as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reservation {
    /// Its id.
    pub id: ReservationId,
    /// The car.
    pub vehicle_id: VehicleId,
    /// The renter.
    pub customer_id: CustomerId,
    /// Start of the window.
    pub start_at: DateTime<Utc>,
    /// End of the window.
    pub end_at: DateTime<Utc>,
    /// Where it is in its life.
    pub status: ReservationStatus,
    /// The amount held on the card.
    pub hold: Money,
    /// The final amount, once completed or a no-show.
    pub total: Option<Money>,
    /// The first unlock.
    pub unlocked_at: Option<DateTime<Utc>>,
    /// When the car was released.
    pub released_at: Option<DateTime<Utc>>,
    /// Who ended the rental.
    pub ended_by: Option<EndedBy>,
    /// What the late return added (overtime blocks and the late fee).
    pub overtime_cents: Cents,
    /// What the card refused and the customer owes.
    pub outstanding_cents: Cents,
    /// When it was booked.
    pub created_at: DateTime<Utc>,
    /// Its last change.
    pub updated_at: DateTime<Utc>,
}

impl From<&ReservationRecord> for Reservation {
    fn from(record: &ReservationRecord) -> Self {
        Reservation {
            id: record.id,
            vehicle_id: record.vehicle_id,
            customer_id: record.customer_id,
            start_at: record.start_at,
            end_at: record.end_at,
            status: record.status,
            hold: Money::brl(record.hold_cents),
            total: record.total_cents.map(Money::brl),
            unlocked_at: record.unlocked_at,
            released_at: record.released_at,
            ended_by: record.ended_by,
            overtime_cents: record.overtime_cents,
            outstanding_cents: record.outstanding_cents,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

/// One page of a list of this service, continuing after a ReservationId.
pub type Page<T> = crate::page::Page<T, ReservationId>;

/// Who asks for a change: the renter may act only on their own reservations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester {
    /// A customer.
    Customer(CustomerId),
    /// An operator.
    Admin,
}

impl Requester {
    /// Whether the requester may see and change `record`.
    pub fn may_access(&self, record: &ReservationRecord) -> bool {
        match self {
            Requester::Customer(customer) => *customer == record.customer_id,
            Requester::Admin => true,
        }
    }
}
