//! Operations: the metrics, the OpenAPI document and the interactive docs.
//!
//! The document is not written by hand: it is what [`crate::app::api`] declares, split from the
//! same router that serves the requests, then completed by [`super::openapi`] with the facts
//! that hold for every operation. So a route cannot be served undocumented or documented
//! unserved.

use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use super::openapi::{ProblemResponses, SecuritySchemes, list_problem_types};
use crate::state::AppState;

/// `/metrics`, and `/openapi.json` with `/docs` serving `document`. Kept out of the document:
/// they describe the API rather than being part of it.
pub fn router(document: utoipa::openapi::OpenApi) -> Router<AppState> {
    Router::new()
        .route("/metrics", get(crate::metrics::render))
        .merge(SwaggerUi::new("/docs").url("/openapi.json", document))
}

/// The whole API as `/openapi.json` serves it.
pub fn document() -> utoipa::openapi::OpenApi {
    split(crate::app::api()).1
}

/// The served routes and their completed document, from one declaration of each route.
pub fn split(api: OpenApiRouter<AppState>) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = api.split_for_parts();
    // After every resource is merged, so that the common responses cover all operations.
    ProblemResponses.complete(&mut document);
    list_problem_types(&mut document);
    (router, document)
}

/// What the document says besides its operations; the start of [`crate::app::api`].
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
    )
)]
pub struct ApiDoc;

#[cfg(test)]
#[path = "ops_tests.rs"]
mod tests;
