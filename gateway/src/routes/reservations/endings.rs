//! The end of a rental: the renter's finish (refused outside the service area, while the car
//! moves, or when the doors do not lock) and an operator's forced end.

use actors::domain::InvalidField;
use axum::body::Bytes;

use super::*;

/// The optional body of a finish. The renter sends none (or `{}`); an operator ends a rental
/// by force with `{"force": true, "reason": "..."}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"force": true, "reason": "the unit does not answer; car collected by the tow truck"}))]
pub struct FinishRequest {
    /// End the rental whatever the car's position, movement or lock say (operators only).
    #[serde(default)]
    pub force: bool,
    /// Why the rental is ended by force: required with `force`, 1 to 500 characters with at
    /// least one that is not a space, and no control character. Listed in `GET /v1/audit`.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// Who ends the rental, as the caller's role and the body decide.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Finisher {
    /// The renter releases the car.
    Renter(CustomerId),
    /// An operator forces the end, for this reason (checked by the service).
    Operator(String),
}

/// Reads the body (none, or JSON `null`, is `{}`) and decides who is finishing. A customer asking for force is
/// refused with 403 (the role may not, whatever the reservation), and an operator must ask for
/// it: an operator is never the renter, so without `force` there is nothing they could finish.
fn finisher(principal: &Principal, body: &[u8]) -> Result<Finisher, ApiError> {
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        FinishRequest::default()
    } else {
        axum::Json::<Option<FinishRequest>>::from_bytes(body)?
            .0
            .unwrap_or_default()
    };
    match (principal.role, request.force) {
        (Role::Customer, false) => Ok(Finisher::Renter(CustomerId(principal.subject))),
        (Role::Customer, true) => {
            Err(ApiError::forbidden().with_detail("only an operator may end a rental by force"))
        }
        (Role::Admin, true) => Ok(Finisher::Operator(request.reason.unwrap_or_default())),
        (Role::Admin, false) => Err(ApiError::invalid(&[InvalidField {
            field: "force",
            reason: "an operator ends a rental with force: true and a reason".into(),
        }])),
    }
}

/// Release the car: it is locked (the unit must acknowledge), then the rental is captured.
///
/// The renter's finish is refused with 409 while the car's latest position is outside the
/// service area (`outside-service-area`, with `distance_m` to its nearest edge), while a recent
/// fix shows it moving (`car-moving`), or when the unit refuses the lock or does not
/// acknowledge it (`lock-failed`): in each case the reservation stays `active` and the renter
/// can finish again. A car whose unit never reported a position is not refused (an incident
/// is recorded for an operator). An operator ends any active rental with
/// `{"force": true, "reason"}` (a customer asking for `force` gets 403 `forbidden`): no
/// position check, a failed lock does not stop it,
/// `ended_by: admin`, settled as usual, and listed with its reason in `GET /v1/audit`.
#[utoipa::path(
    post,
    path = "/v1/reservations/{id}/finish",
    tag = "reservations",
    operation_id = "finish_reservation",
    params(("id" = Uuid, Path, description = "The reservation")),
    request_body(content = Option<FinishRequest>, description = "None for the renter; `force` and `reason` for an operator"),
    responses(
        (status = 200, description = "Locked, `completed` and captured", body = FinishedRentalDto),
        (status = 400, description = "The id is not a UUID, or a malformed body", body = Problem),
        (status = 404, description = "No such reservation (or another customer's)", body = Problem),
        (status = 409, description = "The car is outside the service area (`outside-service-area`, with `distance_m`), moving (`car-moving`), its doors did not lock (`lock-failed`; the unit refused or did not acknowledge), the reservation is not active (`invalid-state`), or another command is in progress (`command-in-progress`); the reservation stays `active`", body = Problem),
        (status = 422, description = "An operator without `force`, or a missing, blank or too long `reason` (`validation`)", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["customer", "admin"])))
)]
pub async fn finish_reservation(
    State(state): State<AppState>,
    Caller(principal): Caller,
    ApiPath(path): ApiPath<ReservationPath>,
    body: Bytes,
) -> Result<ApiJson<FinishedRentalDto>, ApiError> {
    let id = ReservationId(path.id);
    let reservations = &state.services.reservations;
    let (reservation, charge) = match finisher(&principal, &body)? {
        Finisher::Renter(customer) => reservations.finish(customer, id).await?,
        Finisher::Operator(reason) => reservations.force_finish(id, &reason).await?,
    };
    Ok(ApiJson(FinishedRentalDto {
        reservation: reservation.into(),
        charge: charge.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role) -> Principal {
        Principal {
            subject: Uuid::nil(),
            role,
        }
    }

    #[test]
    fn renters_finish_without_a_body_and_operators_only_by_force() {
        let customer = principal(Role::Customer);
        let admin = principal(Role::Admin);
        let renter = Finisher::Renter(CustomerId(Uuid::nil()));
        assert_eq!(finisher(&customer, b"").unwrap(), renter);
        assert_eq!(finisher(&customer, b"{}").unwrap(), renter);
        assert_eq!(finisher(&customer, br#"{"force":false}"#).unwrap(), renter);
        assert_eq!(finisher(&customer, b"null").unwrap(), renter);
        let forced = br#"{"force":true,"reason":"towed"}"#;
        assert_eq!(
            finisher(&customer, forced).unwrap_err().status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            finisher(&admin, forced).unwrap(),
            Finisher::Operator("towed".into())
        );
        assert_eq!(
            finisher(&admin, b"").unwrap_err().status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            finisher(&admin, br#"{"force":true,"why":"x"}"#)
                .unwrap_err()
                .status(),
            StatusCode::BAD_REQUEST
        );
    }
}
