//! Operations: the metrics, the OpenAPI document and the interactive docs.

use axum::Router;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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
    ] {
        document.merge(part);
    }
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
