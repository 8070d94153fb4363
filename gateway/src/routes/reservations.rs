//! Reservations: booking a car (with the card hold), reading, cancelling and finishing a
//! rental, and its charge records.
//!
//! The handlers only parse, authenticate, call the reservations service and shape the answer;
//! every rule (durations, overlaps, who may cancel when, the saga) lives in the service.

use actors::billing::{ChargeStatus, ChargeSummary, EntryKind, LedgerEntry};
use actors::customers::{Principal, Role};
use actors::ids::{CustomerId, ReservationId, VehicleId};
use actors::reservations::{
    Money, NewReservation, Requester, Reservation, ReservationFilter, ReservationStatus,
};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Caller, Customer};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::paging::{Page, PageQuery};
use crate::state::AppState;

/// The request header that makes a booking safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;

// ---- DTOs ------------------------------------------------------------------------------------

/// A booking request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReservationRequest {
    /// The car to rent.
    pub vehicle_id: Uuid,
    /// Start of the window (RFC 3339).
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
    /// When it was booked.
    pub created_at: DateTime<Utc>,
    /// Its last change.
    pub updated_at: DateTime<Utc>,
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
    id: Uuid,
}

// ---- handlers --------------------------------------------------------------------------------

fn requester(principal: &Principal) -> Requester {
    match principal.role {
        Role::Customer => Requester::Customer(CustomerId(principal.subject)),
        Role::Admin => Requester::Admin,
    }
}

/// Why an `Idempotency-Key` header was refused (answered as 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BadIdempotencyKey {
    /// The header came more than once.
    Repeated,
    /// Empty, longer than 128, or not visible ASCII.
    Malformed,
}

impl From<BadIdempotencyKey> for ApiError {
    fn from(bad: BadIdempotencyKey) -> Self {
        ApiError::bad_request(match bad {
            BadIdempotencyKey::Repeated => "send the Idempotency-Key header only once".to_owned(),
            BadIdempotencyKey::Malformed => format!(
                "the Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
            ),
        })
    }
}

/// The `Idempotency-Key` header, if sent: 1 to 128 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, BadIdempotencyKey> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(BadIdempotencyKey::Repeated);
    }
    let bytes = value.as_bytes();
    let visible = bytes.iter().all(|byte| byte.is_ascii_graphic());
    if bytes.is_empty() || bytes.len() > MAX_IDEMPOTENCY_KEY_LEN || !visible {
        return Err(BadIdempotencyKey::Malformed);
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// Book a car: the rental amount is held on the customer's card.
#[utoipa::path(
    post,
    path = "/v1/reservations",
    tag = "reservations",
    params(
        ("Idempotency-Key" = Option<String>, Header,
            description = "1 to 128 visible ASCII characters; the same key with the same body \
                           answers the same reservation, with another body 422"),
    ),
    request_body = CreateReservationRequest,
    responses(
        (status = 201, description = "Booked and held on the card (`confirmed`)", body = ReservationDto),
        (status = 400, description = "Malformed body, unknown field or bad Idempotency-Key", body = Problem),
        (status = 401, description = "No or invalid access token", body = Problem),
        (status = 402, description = "The card hold was declined; the problem carries `reservation_id`", body = Problem),
        (status = 403, description = "Not a customer token", body = Problem),
        (status = 409, description = "Overlaps another reservation of the car or of the customer, the car is not available, or the customer cannot book", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Body is not application/json", body = Problem),
        (status = 422, description = "Duration not within 2..=6 h, start in the past or too far ahead, unknown vehicle_id, or Idempotency-Key reused with another body", body = Problem),
        (status = 503, description = "A service needed is not available", body = Problem),
        (status = 504, description = "A service did not answer in time", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn create_reservation(
    State(state): State<AppState>,
    Customer(customer): Customer,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CreateReservationRequest>,
) -> Result<(StatusCode, ApiJson<ReservationDto>), ApiError> {
    let key = idempotency_key(&headers)?;
    let reservation = state
        .services
        .reservations
        .create(customer, request.into(), key)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(reservation.into())))
}

/// List reservations: a customer's own, or (admin) all, with filters.
#[utoipa::path(
    get,
    path = "/v1/reservations",
    tag = "reservations",
    params(ReservationListQuery, PageQuery),
    responses(
        (status = 200, description = "One page, oldest first", body = Page<ReservationDto>),
        (status = 400, description = "Bad filter, limit or cursor", body = Problem),
        (status = 401, description = "No or invalid access token", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_reservations(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiQuery(filter): ApiQuery<ReservationListQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<ApiJson<Page<ReservationDto>>, ApiError> {
    let limit = page.limit()?;
    let after = page.cursor::<ReservationId>()?;
    let requester = requester(&principal);
    let mut filter = ReservationFilter::from(filter);
    if let Requester::Customer(own) = requester {
        // A customer's list holds only their own reservations, whatever the filter says. The
        // service scopes it too; pinning the filter keeps it so even if its index scan strays.
        if filter.customer_id.is_some_and(|asked| asked != own) {
            return Ok(ApiJson(Page::new(Vec::new(), None::<ReservationId>)));
        }
        filter.customer_id = Some(own);
    }
    let found = state
        .services
        .reservations
        .list(requester, &filter, limit, after)?;
    let items = found.items.into_iter().map(ReservationDto::from).collect();
    Ok(ApiJson(Page::new(items, found.next_cursor)))
}

/// Read one reservation (the owner's or, for an admin, any).
#[utoipa::path(
    get,
    path = "/v1/reservations/{id}",
    tag = "reservations",
    params(("id" = Uuid, Path, description = "The reservation")),
    responses(
        (status = 200, description = "The reservation", body = ReservationDto),
        (status = 400, description = "The id is not a UUID", body = Problem),
        (status = 401, description = "No or invalid access token", body = Problem),
        (status = 404, description = "No such reservation (or another customer's)", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn get_reservation(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(path): ApiPath<ReservationPath>,
) -> Result<ApiJson<ReservationDto>, ApiError> {
    let reservation = state
        .services
        .reservations
        .get(requester(&principal), ReservationId(path.id))?;
    Ok(ApiJson(reservation.into()))
}

/// Cancel before the start: the hold is voided.
#[utoipa::path(
    post,
    path = "/v1/reservations/{id}/cancel",
    tag = "reservations",
    params(("id" = Uuid, Path, description = "The reservation")),
    responses(
        (status = 200, description = "Cancelled; the hold was voided", body = ReservationDto),
        (status = 400, description = "The id is not a UUID", body = Problem),
        (status = 401, description = "No or invalid access token", body = Problem),
        (status = 404, description = "No such reservation (or another customer's)", body = Problem),
        (status = 409, description = "Already started, or not cancellable in its status", body = Problem),
        (status = 502, description = "The payment provider failed", body = Problem),
        (status = 503, description = "A service needed is not available", body = Problem),
        (status = 504, description = "A service did not answer in time", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn cancel_reservation(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(path): ApiPath<ReservationPath>,
) -> Result<ApiJson<ReservationDto>, ApiError> {
    let reservation = state
        .services
        .reservations
        .cancel(requester(&principal), ReservationId(path.id))
        .await?;
    Ok(ApiJson(reservation.into()))
}

/// Release the car: it is locked (the unit must acknowledge), then the rental is captured.
#[utoipa::path(
    post,
    path = "/v1/reservations/{id}/finish",
    tag = "reservations",
    params(("id" = Uuid, Path, description = "The reservation")),
    responses(
        (status = 200, description = "Locked, `completed` and captured", body = FinishedRentalDto),
        (status = 400, description = "The id is not a UUID", body = Problem),
        (status = 401, description = "No or invalid access token", body = Problem),
        (status = 403, description = "Not a customer token", body = Problem),
        (status = 404, description = "No such reservation (or another customer's)", body = Problem),
        (status = 409, description = "Not active (never unlocked, cancelled, …), the car is moving, or another command is in progress", body = Problem),
        (status = 502, description = "The car unit answered that it could not lock, or the payment provider failed; the reservation stays `active`", body = Problem),
        (status = 503, description = "A service needed is not available", body = Problem),
        (status = 504, description = "The car did not confirm the lock in time; the reservation stays `active`, retry", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn finish_reservation(
    State(state): State<AppState>,
    Customer(customer): Customer,
    ApiPath(path): ApiPath<ReservationPath>,
) -> Result<ApiJson<FinishedRentalDto>, ApiError> {
    let (reservation, charge) = state
        .services
        .reservations
        .finish(customer, ReservationId(path.id))
        .await?;
    Ok(ApiJson(FinishedRentalDto {
        reservation: reservation.into(),
        charge: charge.into(),
    }))
}

/// The hold, capture, void and refund records of a reservation.
#[utoipa::path(
    get,
    path = "/v1/reservations/{id}/charges",
    tag = "reservations",
    params(("id" = Uuid, Path, description = "The reservation")),
    responses(
        (status = 200, description = "The charge records, oldest first", body = ChargeEntriesDto),
        (status = 400, description = "The id is not a UUID", body = Problem),
        (status = 401, description = "No or invalid access token", body = Problem),
        (status = 404, description = "No such reservation (or another customer's)", body = Problem),
        (status = 503, description = "Billing is not available", body = Problem),
        (status = 504, description = "Billing did not answer in time", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_charges(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(path): ApiPath<ReservationPath>,
) -> Result<ApiJson<ChargeEntriesDto>, ApiError> {
    let entries = state
        .services
        .reservations
        .charges(requester(&principal), ReservationId(path.id))
        .await?;
    Ok(ApiJson(ChargeEntriesDto {
        items: entries.into_iter().map(LedgerEntryDto::from).collect(),
    }))
}

/// The reservation routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        create_reservation,
        list_reservations,
        get_reservation,
        cancel_reservation,
        finish_reservation,
        list_charges,
    ),
    components(schemas(
        CreateReservationRequest,
        ReservationDto,
        ReservationStatusDto,
        MoneyDto,
        ChargeDto,
        ChargeStatusDto,
        FinishedRentalDto,
        LedgerEntryDto,
        EntryKindDto,
        ChargeEntriesDto,
        Page<ReservationDto>,
    ))
)]
pub struct ReservationsApi;

/// This resource's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/reservations",
            post(create_reservation).get(list_reservations),
        )
        .route("/v1/reservations/{id}", get(get_reservation))
        .route("/v1/reservations/{id}/cancel", post(cancel_reservation))
        .route("/v1/reservations/{id}/finish", post(finish_reservation))
        .route("/v1/reservations/{id}/charges", get(list_charges))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use utoipa::OpenApi;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(IDEMPOTENCY_KEY, HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    #[test]
    fn idempotency_keys_are_1_to_128_visible_ascii_characters() {
        assert_eq!(idempotency_key(&headers(&[])).unwrap(), None);
        assert_eq!(
            idempotency_key(&headers(&[b"abc-123_!~"]))
                .unwrap()
                .as_deref(),
            Some("abc-123_!~")
        );
        let longest = "k".repeat(MAX_IDEMPOTENCY_KEY_LEN);
        assert!(idempotency_key(&headers(&[longest.as_bytes()])).is_ok());
        let too_long = "k".repeat(MAX_IDEMPOTENCY_KEY_LEN + 1);
        for bad in [
            &b""[..],
            too_long.as_bytes(),
            b"has space",
            b"tab\there",
            "acentuação".as_bytes(),
        ] {
            let error = idempotency_key(&headers(&[bad])).unwrap_err();
            assert_eq!(
                error,
                BadIdempotencyKey::Malformed,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
            assert_eq!(ApiError::from(error).status(), StatusCode::BAD_REQUEST);
        }
        let twice = idempotency_key(&headers(&[b"a", b"b"])).unwrap_err();
        assert_eq!(twice, BadIdempotencyKey::Repeated);
        assert_eq!(ApiError::from(twice).status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn the_openapi_part_documents_every_route_and_schema() {
        let doc = serde_json::to_value(ReservationsApi::openapi()).unwrap();
        for path in [
            "/v1/reservations",
            "/v1/reservations/{id}",
            "/v1/reservations/{id}/cancel",
            "/v1/reservations/{id}/finish",
            "/v1/reservations/{id}/charges",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} missing");
        }
        let create = &doc["paths"]["/v1/reservations"]["post"];
        for status in ["201", "400", "401", "402", "403", "409", "422"] {
            assert!(
                create["responses"][status].is_object(),
                "create lacks {status}"
            );
        }
        let schemas = &doc["components"]["schemas"];
        for schema in ["ReservationDto", "FinishedRentalDto", "LedgerEntryDto"] {
            assert!(schemas[schema].is_object(), "{schema} missing");
        }
    }
}
