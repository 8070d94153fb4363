//! Reservations: booking a car (with the card hold), reading, cancelling and finishing a
//! rental, and its charge records.
//!
//! The handlers only parse, authenticate, call the reservations service and shape the answer;
//! every rule (durations, overlaps, who may cancel when, the saga) lives in the service.

mod dto;
mod endings;
mod extension;

use actors::billing::{BillingError, ChargeStatus, ChargeSummary, EntryKind, LedgerEntry};
use actors::customers::{Principal, Role};
use actors::ids::{CustomerId, ReservationId, VehicleId};
use actors::reservations::{
    Money, NewReservation, Requester, Reservation, ReservationFilter, ReservationStatus,
};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Admin, Caller, Customer};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::paging::{Page, PageQuery};
use crate::state::AppState;

/// The request header that makes a booking safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;

pub use dto::*;
pub use endings::*;
pub use extension::*;

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
///
/// When the payment provider is unavailable (down, timing out, or its circuit breaker open)
/// the answer is 503 `unavailable` with `Retry-After`: nothing is booked or held and the slot
/// stays free, and the same request with the same `Idempotency-Key` completes the booking once
/// the provider answers (it resumes the same hold, never places a second one).
#[utoipa::path(
    post,
    path = "/v1/reservations",
    tag = "reservations",
    operation_id = "create_reservation",
    params(
        ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,128}$",
            description = "1 to 128 visible ASCII characters; the same key with the same body \
                           answers the same reservation, with another body 422"),
    ),
    request_body = CreateReservationRequest,
    responses(
        (status = 201, description = "Booked and held on the card (`confirmed`)", body = ReservationDto,
            links(
                ("get" = (operation_id = "get_reservation", parameters(("id" = "$response.body#/id")))),
                ("charges" = (operation_id = "list_reservation_charges", parameters(("id" = "$response.body#/id")))),
                ("cancel" = (operation_id = "cancel_reservation", parameters(("id" = "$response.body#/id"))))
            )
        ),
        (status = 400, description = "Malformed body, unknown field or bad Idempotency-Key", body = Problem),
        (status = 402, description = "The card hold was declined (`payment-declined`; the problem carries `reservation_id`), or the customer has an unpaid balance (`outstanding-balance`)", body = Problem),
        (status = 409, description = "Overlaps another reservation of the car (`vehicle-busy`) or of the customer (`customer-busy`), the car is not available (`vehicle-unavailable`), the customer cannot book (`cannot-book`), or the car's battery is below `fleet.min_battery_pct` or its estimated range would not last the booking (`battery-low`, with `battery_pct` and `min_battery_pct`, or `needed_km` and `available_km`)", body = Problem),
        (status = 422, description = "Duration not within 2..=6 h, start in the past or too far ahead, unknown vehicle_id (`validation`), or Idempotency-Key reused with another body (`idempotency-mismatch`)", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["customer"])))
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
    operation_id = "list_reservations",
    params(ReservationListQuery, PageQuery),
    responses(
        (status = 200, description = "One page, oldest first", body = Page<ReservationDto>),
        (status = 400, description = "Bad filter, limit or cursor", body = Problem),
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
    operation_id = "get_reservation",
    params(("id" = Uuid, Path, description = "The reservation")),
    responses(
        (status = 200, description = "The reservation", body = ReservationDto),
        (status = 400, description = "The id is not a UUID", body = Problem),
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
    operation_id = "cancel_reservation",
    params(("id" = Uuid, Path, description = "The reservation")),
    responses(
        (status = 200, description = "Cancelled; the hold was voided", body = ReservationDto),
        (status = 400, description = "The id is not a UUID", body = Problem),
        (status = 404, description = "No such reservation (or another customer's)", body = Problem),
        (status = 409, description = "Already started, or not cancellable in its status (`invalid-state`)", body = Problem),
        (status = 502, description = "The payment provider failed (`payment-provider`)", body = Problem),
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

/// The hold, capture, void and refund records of a reservation.
#[utoipa::path(
    get,
    path = "/v1/reservations/{id}/charges",
    tag = "reservations",
    operation_id = "list_reservation_charges",
    params(("id" = Uuid, Path, description = "The reservation")),
    responses(
        (status = 200, description = "The charge records, oldest first", body = ChargeEntriesDto),
        (status = 400, description = "The id is not a UUID", body = Problem),
        (status = 404, description = "No such reservation (or another customer's)", body = Problem),
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

/// Refund part or all of what a reservation's rental was paid (operators only). The reason is
/// written on the refund's charge record (`GET /v1/reservations/{id}/charges`) and the refund
/// is counted in `GET /v1/audit`. When the payment provider is unavailable the answer is 503
/// `unavailable` with `Retry-After`: the refund is recorded, and the same request again (same
/// `Idempotency-Key`) carries it out once the provider answers.
#[utoipa::path(
    post,
    path = "/v1/reservations/{id}/refunds",
    tag = "reservations",
    operation_id = "refund_reservation",
    params(
        ("id" = Uuid, Path, description = "The reservation"),
        ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,128}$",
            description = "1 to 128 visible ASCII characters; the same key with the same body \
                           answers the charge without refunding again, with another body 422"),
    ),
    request_body = RefundRequestDto,
    responses(
        (status = 200, description = "Refunded: the charge after the refund", body = ChargeDto),
        (status = 400, description = "Malformed body, unknown field, bad id or bad Idempotency-Key", body = Problem),
        (status = 404, description = "No such reservation, or it has no charge", body = Problem),
        (status = 409, description = "Nothing was ever held for the reservation (`invalid-state`)", body = Problem),
        (status = 422, description = "amount_cents below 1 or above what was captured and charged and not refunded yet, reason not 1 to 200 characters (`validation`), or Idempotency-Key reused with another body (`idempotency-mismatch`)", body = Problem),
        (status = 502, description = "The payment provider refused the refund (`payment-provider`)", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn refund_reservation(
    State(state): State<AppState>,
    _admin: Admin,
    headers: HeaderMap,
    ApiPath(path): ApiPath<ReservationPath>,
    ApiJson(request): ApiJson<RefundRequestDto>,
) -> Result<ApiJson<ChargeDto>, ApiError> {
    let key = idempotency_key(&headers)?;
    let order = request
        .into_order(key)
        .map_err(|fields| ApiError::invalid(&fields))?;
    let id = ReservationId(path.id);
    state.services.reservations.get(Requester::Admin, id)?;
    let charge = state
        .services
        .billing
        .refund_order(id, order)
        .await
        .map_err(|error| match error {
            BillingError::RefundExceedsPaid { refundable_cents } => ApiError::from(error)
                .with_extra(serde_json::json!({ "refundable_cents": refundable_cents })),
            other => ApiError::from(other),
        })?;
    Ok(ApiJson(charge.into()))
}

/// This resource's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_reservation, list_reservations))
        .routes(routes!(get_reservation))
        .routes(routes!(cancel_reservation))
        .routes(routes!(finish_reservation))
        .routes(routes!(extend_reservation))
        .routes(routes!(list_charges))
        .routes(routes!(refund_reservation))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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
}
