//! The facts that hold for every operation of the document, stated once here instead of on
//! each handler, and the extensions through which a handler tells them apart.
//!
//! A handler declares only what is particular to it (its 404s, 409s and 422s with their
//! reasons). Every error body is `application/problem+json`; any request can be shed (503),
//! time out (504) or fail (500); a request with a body can be too large (413) or not JSON
//! (415); one with a security requirement can lack credentials (401); one reserved to a role
//! (`x-roles`) refuses the others' tokens (403); one behind a per-key rate limit
//! (`x-rate-limit`) can be throttled (429).

use utoipa::openapi::content::Content;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The extension naming the only roles that may call an operation.
pub const ROLES: &str = "x-roles";
/// The extension naming what a rate-limited operation counts.
pub const RATE_LIMIT: &str = "x-rate-limit";

/// The media type of every error body.
const PROBLEM_JSON: &str = crate::error::PROBLEM_JSON;

/// Completes every operation of a document with the responses common to all.
pub struct ProblemResponses;

impl ProblemResponses {
    /// Adds the common responses to every operation of `document` and moves each error body
    /// to `application/problem+json`.
    pub fn complete(&self, document: &mut utoipa::openapi::OpenApi) {
        for item in document.paths.paths.values_mut() {
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

fn seconds_header(description: &str) -> Header {
    HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
        )
        .description(Some(description))
        .build()
}

fn problem(description: &str) -> Response {
    let mut response = Response::new(description);
    response.content.insert(
        PROBLEM_JSON.to_owned(),
        Content::new(Some(RefOr::Ref(Ref::from_schema_name("Problem")))),
    );
    response
}

fn retry_after(mut response: Response) -> Response {
    response.headers.insert(
        "Retry-After".to_owned(),
        seconds_header("Seconds to wait before retrying"),
    );
    response
}

/// The string values of the extension `name` of `operation`.
fn extension_values<'a>(operation: &'a Operation, name: &str) -> Vec<&'a str> {
    let value = operation
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get(name));
    match value {
        Some(serde_json::Value::String(text)) => vec![text.as_str()],
        Some(serde_json::Value::Array(items)) => {
            items.iter().filter_map(serde_json::Value::as_str).collect()
        }
        _ => Vec::new(),
    }
}

fn complete(operation: &mut Operation) {
    let roles: Vec<String> = extension_values(operation, ROLES)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let rate_limit = extension_values(operation, RATE_LIMIT)
        .first()
        .map(|counted| (*counted).to_owned());
    let has_body = operation.request_body.is_some();
    let schemes: Vec<String> = serde_json::to_value(&operation.security)
        .ok()
        .and_then(|value| value.as_array().cloned())
        .into_iter()
        .flatten()
        .filter_map(|requirement| requirement.as_object().cloned())
        .flat_map(|requirement| requirement.keys().cloned().collect::<Vec<_>>())
        .collect();
    let responses = &mut operation.responses.responses;
    for response in responses.values_mut() {
        if let RefOr::T(response) = response {
            spell_links(response);
        }
    }
    for (status, response) in responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if is_error
            && let RefOr::T(response) = response
            && let Some(content) = response.content.shift_remove("application/json")
        {
            response.content.insert(PROBLEM_JSON.to_owned(), content);
        }
    }
    let mut add = |status: &str, response: Response| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(response));
    };
    add("500", problem("Internal error"));
    add(
        "503",
        retry_after(problem("Busy, or a service is not available")),
    );
    add("504", problem("A service did not answer in time"));
    if has_body {
        add("413", problem("Body too large"));
        add("415", problem("Body is not application/json"));
    }
    if schemes.iter().any(|scheme| scheme == "device") {
        add(
            "401",
            problem("No device token, or not this car's (a retired car's unit included)"),
        );
    } else if !schemes.is_empty() {
        add("401", problem("Missing or invalid access token"));
    }
    if !roles.is_empty() {
        let description = format!(
            "Forbidden: only a token of {} may do this",
            roles.join(" or ")
        );
        add("403", problem(&description));
    }
    if let Some(counted) = rate_limit {
        let description = format!("Too many requests {counted}");
        add("429", retry_after(problem(&description)));
    }
}

/// Moves a response's links where they serialise as OpenAPI spells them. utoipa 5 writes a
/// link's `operationId`, `operationRef` and `requestBody` in snake case, which tools reading the
/// document (schemathesis' stateful phase among them) reject as a link naming no operation.
fn spell_links(response: &mut Response) {
    if response.links.is_empty() {
        return;
    }
    let links: serde_json::Map<String, serde_json::Value> = std::mem::take(&mut response.links)
        .into_iter()
        .filter_map(|(name, link)| {
            let mut link = serde_json::to_value(link).ok()?;
            if let Some(fields) = link.as_object_mut() {
                for (snake, camel) in [
                    ("operation_id", "operationId"),
                    ("operation_ref", "operationRef"),
                    ("request_body", "requestBody"),
                ] {
                    if let Some(value) = fields.remove(snake) {
                        fields.insert(camel.to_owned(), value);
                    }
                }
            }
            Some((name, link))
        })
        .collect();
    response
        .extensions
        .get_or_insert_with(Default::default)
        .insert("links".to_owned(), serde_json::Value::Object(links));
}

/// The extension listing every problem type the API answers.
pub const PROBLEM_TYPES: &str = "x-problem-types";

/// Lists every problem type under [`PROBLEM_TYPES`]: its URI, status, title and meaning, from
/// the same catalog that answers them, so the list cannot drift from the answers.
pub fn list_problem_types(document: &mut utoipa::openapi::OpenApi) {
    let types: Vec<serde_json::Value> = actors::ErrorKind::ALL
        .into_iter()
        .map(|kind| {
            let described = crate::error::problem_type(kind);
            serde_json::json!({
                "type": crate::error::problem_type_uri(kind),
                "status": described.status.as_u16(),
                "title": described.title,
                "meaning": described.meaning,
            })
        })
        .collect();
    document
        .extensions
        .get_or_insert_with(Default::default)
        .insert(PROBLEM_TYPES.to_owned(), serde_json::Value::Array(types));
}

/// Customers and admins send a JWT; car units send their own device token.
pub struct SecuritySchemes;

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

/// Adds `T`'s schema, and those it refers to, to the document of `router`: for types that no
/// operation's body names, such as the WebSocket frames or a problem's extra members.
pub fn with_schema<T: ToSchema>(mut router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    let mut schemas = vec![(T::name().into_owned(), T::schema())];
    T::schemas(&mut schemas);
    router
        .get_openapi_mut()
        .components
        .get_or_insert_with(Default::default)
        .schemas
        .extend(schemas);
    router
}
