//! The operators' console: its pages and scripts, served from files compiled into the binary
//! (`gateway/console/`: HTML, CSS and plain JavaScript modules, no build step, nothing fetched
//! from elsewhere), the settings it draws the map from, and the one API read it needs beyond the
//! rest ([`fleet`]).
//!
//! Every page goes out with a strict Content-Security-Policy: scripts and styles from this
//! origin only (no inline code, no `eval`), connections to this origin only, images from here
//! or the configured tile server, no framing. The console keeps the admin's token in the tab's
//! session storage, so a script injected from anywhere else is what the policy must stop.

mod car_state;
pub mod fleet;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;

pub use car_state::CarState;
// The handler and the path type `routes!` names beside it.
use fleet::*;

/// The documented route the console reads (merged into the API).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(overview))
}

/// The console's files, its settings and the root page: not part of the API document.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/console", get(index))
        .route("/console/", get(index))
        .route("/console/settings.json", get(settings))
        .route("/console/{file}", get(asset))
}

/// A file of the console: its name, media type and content.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    body: &'static str,
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// An [`Asset`] from the file `console/<name>`, served under the same name: one place names
/// both, so the table cannot serve one file under another's name.
macro_rules! asset {
    ($name:literal, $media_type:expr) => {
        Asset {
            name: $name,
            media_type: $media_type,
            body: include_str!(concat!("../../../console/", $name)),
        }
    };
}

const ASSETS: [Asset; 8] = [
    asset!("console.css", "text/css; charset=utf-8"),
    asset!("app.js", JAVASCRIPT),
    asset!("api.js", JAVASCRIPT),
    asset!("map.js", JAVASCRIPT),
    asset!("panels.js", JAVASCRIPT),
    asset!("reports.js", JAVASCRIPT),
    asset!("stream.js", JAVASCRIPT),
    asset!("index.html", "text/html; charset=utf-8"),
];

const ROOT_PAGE: &str = include_str!("../../../console/root.html");

/// The policy of every console page; `img-src` adds the tile server's origin when one is set.
pub fn content_security_policy(tile_origin: Option<&str>) -> String {
    let images = match tile_origin {
        Some(origin) => format!("'self' data: {origin}"),
        None => "'self' data:".to_owned(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src {images}; \
         connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

fn page(state: &AppState, media_type: &'static str, body: &'static str) -> Response {
    let policy = content_security_policy(state.config.console.tile_origin().as_deref());
    let mut response = ([(header::CONTENT_TYPE, media_type)], body).into_response();
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The files change with the binary only; a short cache keeps a deployment's new console
    // from waiting long behind an old one.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn root(State(state): State<AppState>) -> Response {
    page(&state, "text/html; charset=utf-8", ROOT_PAGE)
}

async fn index(State(state): State<AppState>) -> Response {
    asset(State(state), axum::extract::Path("index.html".to_owned()))
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn asset(
    State(state): State<AppState>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    ASSETS
        .iter()
        .find(|asset| asset.name == file)
        .map(|asset| page(&state, asset.media_type, asset.body))
        .ok_or_else(|| ApiError::not_found("no such console file"))
}

/// What the map is drawn from: public facts of the deployment (the service area customers see
/// in the app anyway), no data of cars or people.
#[derive(Serialize)]
struct Settings<'a> {
    service_area: &'a [[f64; 2]],
    neighbourhoods: &'a [actors::config::Neighbourhood],
    tile_url: &'a str,
    min_battery_pct: f64,
}

async fn settings(State(state): State<AppState>) -> Response {
    let config = &state.config;
    let settings = Settings {
        service_area: &config.fleet.service_area,
        neighbourhoods: &config.console.neighbourhoods,
        tile_url: &config.console.tile_url,
        min_battery_pct: config.fleet.min_battery_pct,
    };
    let mut response = axum::Json(settings).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_this_origin_only_and_the_tile_server_for_images() {
        let policy = content_security_policy(None);
        assert!(policy.contains("script-src 'self';"));
        assert!(policy.contains("default-src 'none'"));
        assert!(!policy.contains("unsafe"));
        let tiles = content_security_policy(Some("https://tiles.example.com"));
        assert!(tiles.contains("img-src 'self' data: https://tiles.example.com;"));
    }

    #[test]
    fn every_page_names_only_scripts_and_styles_the_console_serves() {
        let served: Vec<&str> = ASSETS.iter().map(|asset| asset.name).collect();
        for asset in ASSETS.iter().chain(std::iter::once(&Asset {
            name: "root.html",
            media_type: "",
            body: ROOT_PAGE,
        })) {
            for reference in asset.body.split("/console/").skip(1) {
                let file: String = reference
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_')
                    .collect();
                if file.ends_with(".js") || file.ends_with(".css") {
                    assert!(
                        served.contains(&file.as_str()),
                        "{} names {file}",
                        asset.name
                    );
                }
            }
            for import in asset.body.split("from \"./").skip(1) {
                let file: String = import.chars().take_while(|c| *c != '"').collect();
                assert!(
                    served.contains(&file.as_str()),
                    "{} imports {file}",
                    asset.name
                );
            }
            assert!(
                !asset.body.contains("<script>") && !asset.body.contains(" style=\""),
                "{} has inline code or style the policy would block",
                asset.name
            );
        }
    }
}
