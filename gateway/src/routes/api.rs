//! The whole API declared once: every resource's `OpenApiRouter` merged onto the document's own
//! parts. The served router and the OpenAPI document are both split from this (see
//! [`super::ops::split`]), so nothing is served undocumented or documented unserved.

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use super::openapi::SecuritySchemes;
use crate::state::AppState;

/// Every documented route of the API, each resource's once, with the document's own parts.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(super::health::router())
        .merge(super::cluster::router())
        .merge(super::auth::router())
        .merge(super::customers::router())
        .merge(super::vehicles::router())
        .merge(super::location::router())
        .merge(super::reservations::router())
        .merge(super::locks::router())
        .merge(super::units::router())
        .merge(super::audit::router())
        .merge(super::console::router())
        .merge(super::reconciliation::router())
        .merge(super::webhooks::router())
        .merge(super::events::router())
        .merge(super::reports::router())
        .merge(super::notifications::router())
}

/// What the document says besides its operations; the start of [`api`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ev-rental",
        version = "1",
        description = "Hourly rental of electric cars in Florianópolis. Errors are application/problem+json, their `type` one of those listed under `x-problem-types`; money is integer centavos (BRL); times are RFC 3339 UTC.\n\nOperations carry `x-roles` (who may call them: a token of another role answers 403) and, where a per-key rate limit applies, `x-rate-limit` (what is counted; over it answers 429 with Retry-After)."
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Tokens"),
        (name = "customers", description = "Registration and profiles"),
        (name = "vehicles", description = "The fleet"),
        (name = "location", description = "Positions reported by the car units"),
        (name = "reservations", description = "Bookings, release and charges"),
        (name = "locks", description = "Unlocking and locking a reserved car"),
        (name = "operations", description = "Health and audit"),
        (name = "billing", description = "The payment providers' webhooks"),
        (name = "reports", description = "Figures projected from the domain events"),
    )
)]
pub struct ApiDoc;
