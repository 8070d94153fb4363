//! The fleet simulator: drives thousands of cars and customers through the services.
//!
//! [`fleet`] is the simulator itself: scenario, customers, the two backends, report.
//!
//! [`unit`](mod@unit) is the reference car-unit client: what a car's embedded unit does against
//! the backend (report positions over HTTP, obey lock/unlock commands over a WebSocket).

pub mod fleet;
pub mod unit;
