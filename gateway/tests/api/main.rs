//! The API over real HTTP and WebSocket, each test against its own whole application (see
//! [`helpers`]). One test binary for the whole crate: one link, and the helpers compiled once.

mod helpers;

mod audit;
mod auth;
mod authz_matrix;
mod billing;
mod binary;
mod client_limits;
mod cluster;
mod console;
mod customers;
mod email_confirmation;
mod events;
mod health;
mod limits;
mod locks;
mod mercadopago;
mod notifications;
mod ops;
mod osmand;
mod positions;
mod privacy;
mod reconciliation;
mod reference_unit;
mod reports;
mod reservations;
mod stripe;
mod totp;
mod units;
mod vehicles;
