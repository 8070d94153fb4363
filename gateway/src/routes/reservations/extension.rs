//! Extending a reservation: a later end, with the added time held on the card.

use axum::body::Bytes;

use super::*;

/// A new end for a reservation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"end_at": "2026-03-01T19:00:00Z"}))]
pub struct ExtendReservationRequest {
    /// The new end (RFC 3339): later than the current one, at most `rental.max_hours` after
    /// the start. The end the reservation already has answers it unchanged (a retry).
    pub end_at: DateTime<Utc>,
}

/// Extend a confirmed or active reservation: the end moves later and the price of the added
/// time is held on the customer's card, with a hold of its own (listed in
/// `GET /v1/reservations/{id}/charges`); `hold.amount_cents` is then everything held.
///
/// Nothing changes when the car or the customer has another reservation in the added time
/// (409 `vehicle-busy`, `customer-busy`), the new end is not later than the current one, the
/// reservation would last more than `rental.max_hours`, or it has reached its end (422
/// `validation` on `end_at`), or the card refuses the extra hold (402 `payment-declined`). A
/// reservation that has reached its end is in overtime, billed by the overtime rules. When the
/// payment provider is unavailable the answer is 503 `unavailable` and nothing changed.
#[utoipa::path(
    post,
    path = "/v1/reservations/{id}/extend",
    tag = "reservations",
    operation_id = "extend_reservation",
    params(("id" = Uuid, Path, description = "The reservation")),
    request_body = ExtendReservationRequest,
    responses(
        (status = 200, description = "Extended: the new `end_at`, and `hold` with everything held", body = ReservationDto),
        (status = 400, description = "Malformed body, unknown field, or the id is not a UUID", body = Problem),
        (status = 402, description = "The card refused the extra hold (`payment-declined`), or the customer has an unpaid balance (`outstanding-balance`); nothing changed", body = Problem),
        (status = 404, description = "No such reservation (or another customer's)", body = Problem),
        (status = 409, description = "The car (`vehicle-busy`) or the customer (`customer-busy`) has another reservation in the added time, or the reservation is neither confirmed nor active (`invalid-state`)", body = Problem),
        (status = 422, description = "`end_at` not later than the current end, beyond `rental.max_hours` from the start, or the reservation has reached its end (`validation`)", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["customer"])))
)]
pub async fn extend_reservation(
    State(state): State<AppState>,
    Customer(customer): Customer,
    ApiPath(path): ApiPath<ReservationPath>,
    body: Bytes,
) -> Result<ApiJson<ReservationDto>, ApiError> {
    let id = ReservationId(path.id);
    let reservations = &state.services.reservations;
    // Another customer's reservation is 404 whatever the body says, as for every other route.
    reservations.get(Requester::Customer(customer), id)?;
    let request = axum::Json::<ExtendReservationRequest>::from_bytes(&body)?.0;
    let reservation = reservations.extend(customer, id, request.end_at).await?;
    Ok(ApiJson(reservation.into()))
}
