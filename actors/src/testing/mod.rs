//! The test harness of the rental system, one for every crate that tests against it: the
//! crate's own unit tests, its integration tests, the gateway's API tests and the simulator's.
//!
//! - [`TestSystem`]: the whole system on a temporary directory, its clock manual and its car
//!   units scripted, with restarts on the same data, and an [`EventRecorder`] subscribed to its
//!   domain events;
//! - [`new_customer`], [`new_vehicle`]: registrations that pass every rule, distinct per
//!   number; [`samples`]: the documents, plates and contacts they are made of.
//!
//! Behind the `testing` feature (and `cfg(test)`), because it brings the units that obey in
//! process and a temporary-directory dependency that production builds have no use for. The
//! pure generators stay in [`samples`](crate::domain::samples), outside the feature, for the
//! simulator's release build; they are re-exported here so that tests look in one place.

mod data;
mod events;
mod eventually;
mod system;

pub use crate::billing::mercadopago::fake as mercadopago;
pub use crate::domain::samples::{self, cards};
pub use crate::locks::{InProcessUnits, UnitBehaviour};
pub use data::{PASSWORD, new_customer, new_vehicle};
pub use events::EventRecorder;
pub use eventually::eventually;
pub use system::{TestSystem, t0};
