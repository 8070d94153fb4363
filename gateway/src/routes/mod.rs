//! One router per resource, merged in [`crate::app::router`].

pub mod health;
