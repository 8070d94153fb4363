//! The wire types of reservations and charges.

use super::*;

/// A booking request. The window's rules relate its fields to each other and to the clock, which
/// a schema cannot state: the end is 2 to 6 hours after the start (`rental.min_hours` and
/// `rental.max_hours`), and the start is neither in the past nor too far ahead; a request
/// breaking them, or naming an unknown car, is 422.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "vehicle_id": "0195f3a2-7c1e-7d3a-9b4e-2f6c8a1d5e90",
    "start_at": "2026-03-01T14:00:00Z",
    "end_at": "2026-03-01T17:00:00Z"
}))]
pub struct CreateReservationRequest {
    /// The car to rent.
    pub vehicle_id: Uuid,
    /// Start of the window (RFC 3339); not in the past.
    pub start_at: DateTime<Utc>,
    /// End of the window (RFC 3339), 2 to 6 hours after the start.
    pub end_at: DateTime<Utc>,
}

impl From<CreateReservationRequest> for NewReservation {
    fn from(request: CreateReservationRequest) -> Self {
        NewReservation {
            vehicle_id: VehicleId(request.vehicle_id),
            start_at: request.start_at,
            end_at: request.end_at,
        }
    }
}

/// An operator's refund of part or all of what a rental was paid.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount_cents": 1500, "reason": "the car was not clean"}))]
pub struct RefundRequestDto {
    /// How much to give back, in centavos: at least 1, at most what was captured and charged
    /// and not refunded yet.
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "crate::extract::whole::integer")]
    pub amount_cents: i64,
    /// Why, 1 to 200 characters with at least one that is not a space, and no control
    /// character; written on the refund's charge record.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub reason: String,
}

/// The longest refund reason accepted, in characters.
pub const MAX_REFUND_REASON_CHARS: usize = 200;

impl RefundRequestDto {
    /// The order for billing, or the fields that break the rules.
    pub fn into_order(
        self,
        idempotency_key: Option<String>,
    ) -> Result<actors::billing::RefundOrder, Vec<actors::domain::InvalidField>> {
        let mut invalid = Vec::new();
        if self.amount_cents <= 0 {
            invalid.push(actors::domain::InvalidField {
                field: "amount_cents",
                reason: "must be at least 1".into(),
            });
        }
        let reason = self.reason.trim().to_owned();
        let chars = reason.chars().count();
        if chars == 0 || chars > MAX_REFUND_REASON_CHARS || reason.chars().any(char::is_control) {
            invalid.push(actors::domain::InvalidField {
                field: "reason",
                reason: format!(
                    "must be 1 to {MAX_REFUND_REASON_CHARS} characters, without control characters"
                ),
            });
        }
        if !invalid.is_empty() {
            return Err(invalid);
        }
        Ok(actors::billing::RefundOrder {
            amount_cents: self.amount_cents,
            reason: Some(reason),
            idempotency_key,
        })
    }
}

/// Where a reservation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatusDto {
    /// Booked; the card hold is being placed.
    PendingPayment,
    /// Held on the card; waiting for the first unlock.
    Confirmed,
    /// The renter has unlocked the car.
    Active,
    /// Released and captured.
    Completed,
    /// Cancelled before the start; the hold was voided.
    Cancelled,
    /// Never unlocked by its end.
    NoShow,
    /// The card hold was declined.
    Rejected,
}

impl From<ReservationStatus> for ReservationStatusDto {
    fn from(status: ReservationStatus) -> Self {
        match status {
            ReservationStatus::PendingPayment => ReservationStatusDto::PendingPayment,
            ReservationStatus::Confirmed => ReservationStatusDto::Confirmed,
            ReservationStatus::Active => ReservationStatusDto::Active,
            ReservationStatus::Completed => ReservationStatusDto::Completed,
            ReservationStatus::Cancelled => ReservationStatusDto::Cancelled,
            ReservationStatus::NoShow => ReservationStatusDto::NoShow,
            ReservationStatus::Rejected => ReservationStatusDto::Rejected,
        }
    }
}

impl From<ReservationStatusDto> for ReservationStatus {
    fn from(status: ReservationStatusDto) -> Self {
        match status {
            ReservationStatusDto::PendingPayment => ReservationStatus::PendingPayment,
            ReservationStatusDto::Confirmed => ReservationStatus::Confirmed,
            ReservationStatusDto::Active => ReservationStatus::Active,
            ReservationStatusDto::Completed => ReservationStatus::Completed,
            ReservationStatusDto::Cancelled => ReservationStatus::Cancelled,
            ReservationStatusDto::NoShow => ReservationStatus::NoShow,
            ReservationStatusDto::Rejected => ReservationStatus::Rejected,
        }
    }
}

/// An amount of money.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MoneyDto {
    /// Integer centavos.
    #[schema(example = 6000)]
    pub amount_cents: i64,
    /// Always `BRL`.
    #[schema(example = "BRL")]
    pub currency: String,
}

impl From<Money> for MoneyDto {
    fn from(money: Money) -> Self {
        MoneyDto {
            amount_cents: money.amount_cents,
            currency: money.currency.to_owned(),
        }
    }
}

/// A reservation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReservationDto {
    /// Its id.
    pub id: Uuid,
    /// The car.
    pub vehicle_id: Uuid,
    /// The renter.
    pub customer_id: Uuid,
    /// Start of the window.
    pub start_at: DateTime<Utc>,
    /// End of the window (exclusive).
    pub end_at: DateTime<Utc>,
    /// Where it is in its life.
    pub status: ReservationStatusDto,
    /// The amount held on the card.
    pub hold: MoneyDto,
    /// The final amount, once completed or a no-show.
    pub total: Option<MoneyDto>,
    /// The first unlock, which made it active.
    pub unlocked_at: Option<DateTime<Utc>>,
    /// When the car was released.
    pub released_at: Option<DateTime<Utc>>,
    /// Who ended the rental: the renter, the system (`rental.auto_end_after_min` after its
    /// end) or an operator.
    pub ended_by: Option<EndedByDto>,
    /// What the late return added to the reserved time (started overtime blocks at the
    /// hourly rate and the late fee), in centavos.
    pub overtime_cents: i64,
    /// What the card refused of the total and the customer owes, in centavos.
    pub outstanding_cents: i64,
    /// When it was booked.
    pub created_at: DateTime<Utc>,
    /// Its last change.
    pub updated_at: DateTime<Utc>,
}

/// Who ended a rental.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndedByDto {
    /// The renter released the car.
    Customer,
    /// The system ended it after `rental.auto_end_after_min`.
    System,
    /// An operator.
    Admin,
}

impl From<actors::reservations::EndedBy> for EndedByDto {
    fn from(by: actors::reservations::EndedBy) -> Self {
        match by {
            actors::reservations::EndedBy::Customer => EndedByDto::Customer,
            actors::reservations::EndedBy::System => EndedByDto::System,
            actors::reservations::EndedBy::Admin => EndedByDto::Admin,
        }
    }
}

impl From<Reservation> for ReservationDto {
    fn from(reservation: Reservation) -> Self {
        ReservationDto {
            id: reservation.id.as_uuid(),
            vehicle_id: reservation.vehicle_id.as_uuid(),
            customer_id: reservation.customer_id.as_uuid(),
            start_at: reservation.start_at,
            end_at: reservation.end_at,
            status: reservation.status.into(),
            hold: reservation.hold.into(),
            total: reservation.total.map(MoneyDto::from),
            unlocked_at: reservation.unlocked_at,
            released_at: reservation.released_at,
            ended_by: reservation.ended_by.map(EndedByDto::from),
            overtime_cents: reservation.overtime_cents.get(),
            outstanding_cents: reservation.outstanding_cents.get(),
            created_at: reservation.created_at,
            updated_at: reservation.updated_at,
        }
    }
}

/// Where a charge stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatusDto {
    /// The hold's outcome is not recorded yet.
    Pending,
    /// Money is held on the card.
    Held,
    /// The hold was captured (and possibly charged beyond it).
    Captured,
    /// The hold was given back.
    Voided,
    /// The processor refused the hold.
    Declined,
}

impl From<ChargeStatus> for ChargeStatusDto {
    fn from(status: ChargeStatus) -> Self {
        match status {
            ChargeStatus::Pending => ChargeStatusDto::Pending,
            ChargeStatus::Held => ChargeStatusDto::Held,
            ChargeStatus::Captured => ChargeStatusDto::Captured,
            ChargeStatus::Voided => ChargeStatusDto::Voided,
            ChargeStatus::Declined => ChargeStatusDto::Declined,
        }
    }
}

/// The money of a reservation at a glance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChargeDto {
    /// Where the charge stands.
    pub status: ChargeStatusDto,
    /// The amount of the hold, in centavos (0 when declined).
    pub held_cents: i64,
    /// The amount captured from the hold.
    pub captured_cents: i64,
    /// The amount charged beyond the hold (overtime, late fee).
    pub charged_cents: i64,
    /// The amount refunded.
    pub refunded_cents: i64,
    /// Always `BRL`.
    #[schema(example = "BRL")]
    pub currency: String,
}

impl From<ChargeSummary> for ChargeDto {
    fn from(summary: ChargeSummary) -> Self {
        ChargeDto {
            status: summary.status.into(),
            held_cents: summary.held_cents,
            captured_cents: summary.captured_cents,
            charged_cents: summary.charged_cents,
            refunded_cents: summary.refunded_cents,
            currency: summary.currency.to_owned(),
        }
    }
}

/// A finished rental: the completed reservation and what was charged.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FinishedRentalDto {
    /// The reservation, now `completed`.
    pub reservation: ReservationDto,
    /// The settled charge.
    pub charge: ChargeDto,
}

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKindDto {
    /// Money reserved on the card when the car was booked.
    Hold,
    /// The processor refused the hold.
    HoldDeclined,
    /// Part or all of the hold taken as payment.
    Capture,
    /// The part of the hold not captured, given back.
    Release,
    /// The whole hold given back (cancellation).
    Void,
    /// A direct sale beyond the hold (overtime, late fee).
    Charge,
    /// Money returned.
    Refund,
}

impl From<EntryKind> for EntryKindDto {
    fn from(kind: EntryKind) -> Self {
        match kind {
            EntryKind::Hold => EntryKindDto::Hold,
            EntryKind::HoldDeclined => EntryKindDto::HoldDeclined,
            EntryKind::Capture => EntryKindDto::Capture,
            EntryKind::Release => EntryKindDto::Release,
            EntryKind::Void => EntryKindDto::Void,
            EntryKind::Charge => EntryKindDto::Charge,
            EntryKind::Refund => EntryKindDto::Refund,
        }
    }
}

/// One record of a reservation's charge, in order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerEntryDto {
    /// Position in the ledger, from 1.
    pub seq: u32,
    /// What happened.
    pub kind: EntryKindDto,
    /// How much, in centavos; always positive.
    pub amount_cents: i64,
    /// Always `BRL`.
    #[schema(example = "BRL")]
    pub currency: String,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// The payment processor's reference.
    pub provider_ref: Option<String>,
    /// Why, when there is more to say (a decline reason).
    pub note: Option<String>,
}

impl From<LedgerEntry> for LedgerEntryDto {
    fn from(entry: LedgerEntry) -> Self {
        LedgerEntryDto {
            seq: entry.seq,
            kind: entry.kind.into(),
            amount_cents: entry.amount_cents,
            currency: actors::billing::CURRENCY.to_owned(),
            at: entry.at,
            provider_ref: entry.provider_ref,
            note: entry.note,
        }
    }
}

/// The charge records of a reservation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChargeEntriesDto {
    /// Hold, capture, release, void, charge and refund records, oldest first.
    pub items: Vec<LedgerEntryDto>,
}

/// Filters of the reservation list (admins see all reservations; a customer's list is
/// always restricted to their own).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReservationListQuery {
    /// Only reservations in this status.
    pub status: Option<ReservationStatusDto>,
    /// Only reservations of this car.
    pub vehicle_id: Option<Uuid>,
    /// Only reservations of this customer (admin).
    pub customer_id: Option<Uuid>,
}

impl From<ReservationListQuery> for ReservationFilter {
    fn from(query: ReservationListQuery) -> Self {
        ReservationFilter {
            status: query.status.map(ReservationStatus::from),
            vehicle_id: query.vehicle_id.map(VehicleId),
            customer_id: query.customer_id.map(CustomerId),
        }
    }
}

/// The `{id}` of a reservation path.
#[derive(Debug, Deserialize)]
pub struct ReservationPath {
    pub(super) id: Uuid,
}
