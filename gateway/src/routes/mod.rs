//! One `OpenApiRouter` per resource, merged in [`api::api`]: each route is declared once,
//! by its handler's `#[utoipa::path]` registered with `routes!`, and that declaration both
//! serves it and documents it.

pub mod api;
pub mod audit;
pub mod auth;
pub mod cluster;
pub mod console;
pub mod customers;
pub mod events;
pub mod fleet;
pub mod health;
pub mod location;
pub mod locks;
pub mod notifications;
pub mod openapi;
pub mod ops;
pub mod paging;
pub mod reconciliation;
pub mod reports;
pub mod reservations;
pub mod totp;
pub mod units;
pub mod vehicles;
pub mod webhooks;
