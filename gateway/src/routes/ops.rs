//! Operations: the metrics, the OpenAPI document and the interactive docs.

use axum::Router;
use axum::routing::get;
use utoipa::openapi::content::Content;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;

/// This resource's routes: `/metrics`, `/openapi.json`, `/docs`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(crate::metrics::render))
        .merge(SwaggerUi::new("/docs").url("/openapi.json", document()))
}

/// The whole API, assembled from every resource's part.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    for part in [
        super::health::HealthApi::openapi(),
        super::auth::AuthApi::openapi(),
        super::customers::CustomersApi::openapi(),
        super::vehicles::VehiclesApi::openapi(),
        super::location::LocationApi::openapi(),
        super::reservations::ReservationsApi::openapi(),
        super::locks::LocksApi::openapi(),
        super::units::UnitsApi::openapi(),
        super::audit::AuditApi::openapi(),
    ] {
        document.merge(part);
    }
    // After the merge, so that it covers every resource's operations.
    ProblemResponses.modify(&mut document);
    document
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ev-rental",
        version = "1",
        description = "Hourly rental of electric cars in Florianópolis. Errors are application/problem+json; money is integer centavos (BRL); times are RFC 3339 UTC."
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
        (name = "operations", description = "Health and metrics"),
    )
)]
struct ApiDoc;

/// Facts that hold for every operation, stated once here rather than on each handler: every
/// error body is `application/problem+json`; any request can be shed (503), time out (504) or
/// fail (500); a request with a body can be too large (413) or not JSON (415); a request with
/// credentials can present bad ones (401).
struct ProblemResponses;

const PROBLEM_JSON: &str = "application/problem+json";

fn problem(description: &str) -> RefOr<Response> {
    let mut response = Response::new(description);
    response.content.insert(
        PROBLEM_JSON.to_owned(),
        Content::new(Some(RefOr::Ref(Ref::from_schema_name("Problem")))),
    );
    RefOr::T(response)
}

fn complete(operation: &mut Operation) {
    let responses = &mut operation.responses.responses;
    for (status, response) in responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if is_error
            && let RefOr::T(response) = response
            && let Some(content) = response.content.shift_remove("application/json")
        {
            response.content.insert(PROBLEM_JSON.to_owned(), content);
        }
    }
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| problem(description));
    };
    add("500", "Internal error");
    add("503", "Busy or a service is down; see Retry-After");
    add("504", "Timed out");
    if operation.request_body.is_some() {
        add("413", "Body too large");
        add("415", "Body is not JSON");
    }
    if operation
        .security
        .as_ref()
        .is_some_and(|security| !security.is_empty())
    {
        add("401", "Missing or invalid credentials");
    }
}

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                complete(operation);
            }
        }
    }
}

/// Customers and admins send a JWT; car units send their own device token.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "device",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The car unit's device token, issued once when the vehicle is registered",
                    ))
                    .build(),
            ),
        );
    }
}
