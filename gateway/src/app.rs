//! The application: shared state and the router of every resource.

use std::sync::Arc;

use actors::RentalSystem;
use axum::Router;

use crate::routes;

/// What every handler can reach: the service handles, through the running system.
#[derive(Clone)]
pub struct AppState {
    /// The actor system.
    pub system: Arc<RentalSystem>,
}

/// Every route of the API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(routes::health::router())
        .with_state(state)
}
