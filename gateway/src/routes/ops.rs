//! Operations: the metrics, the OpenAPI document and the interactive docs.
//!
//! The document is not written by hand: it is what [`super::api::api`] declares, split from the
//! same router that serves the requests, then completed by [`super::openapi`] with the facts
//! that hold for every operation. So a route cannot be served undocumented or documented
//! unserved.

use axum::Router;
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use super::openapi::{ProblemResponses, list_problem_types};
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
    split(super::api::api()).1
}

/// The served routes and their completed document, from one declaration of each route.
pub fn split(api: OpenApiRouter<AppState>) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = api.split_for_parts();
    // After every resource is merged, so that the common responses cover all operations.
    ProblemResponses.complete(&mut document);
    list_problem_types(&mut document);
    (router, document)
}

#[cfg(test)]
#[path = "ops_tests.rs"]
mod tests;
