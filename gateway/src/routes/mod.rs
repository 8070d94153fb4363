//! One router per resource, merged in [`crate::app::router`]. Each module also contributes its
//! part of the OpenAPI document.

pub mod audit;
pub mod auth;
pub mod customers;
pub mod health;
pub mod location;
pub mod locks;
pub mod ops;
pub mod paging;
pub mod reservations;
pub mod units;
pub mod vehicles;
