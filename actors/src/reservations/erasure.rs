//! Erasure of a customer (LGPD art. 18), the workflow that reaches every service.
//!
//! It runs in the customer's schedule, the actor that also takes the customer's bookings, so an
//! erasure and a booking can never interleave: a booking waiting behind the erasure finds the
//! customer erased when it fetches the card (`calendar.rs`), and an erasure waiting behind a
//! booking finds the reservation open and is refused.
//!
//! In order: the customers service removes the person (their key is destroyed, so every sealed
//! copy of their data is unreadable); the billing ledger keeps amounts under a pseudonym but no
//! card token, and the provider forgets the cards; the cars' position history loses the trips
//! the person made. Each step is idempotent, so a failed erasure is completed by repeating it.

use crate::ask::AskError;
use crate::customers::{Customer, CustomersError};
use crate::error_kind::{ErrorKind, Kinded};
use crate::ids::CustomerId;

use super::ReservationsHandle;
use super::calendar::{CustomerSchedule, ScheduleContext, ScheduleMsg};

/// Why an erasure did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    /// The customers service refused or failed (an open reservation, an unknown customer).
    #[error(transparent)]
    Customers(#[from] CustomersError),
    /// The customer's schedule did not answer.
    #[error(transparent)]
    Ask(#[from] AskError),
}

impl Kinded for ErasureError {
    fn kind(&self) -> ErrorKind {
        match self {
            ErasureError::Customers(error) => error.kind(),
            ErasureError::Ask(error) => error.kind(),
        }
    }
}

impl ReservationsHandle {
    /// Erases `customer` everywhere (see the module doc). Repeating it is harmless.
    pub async fn erase_customer(&self, customer: CustomerId) -> Result<Customer, ErasureError> {
        self.inner
            .schedules
            .call_or_create(customer, |reply| ScheduleMsg::Erase { reply })
            .await?
    }
}

impl CustomerSchedule {
    pub(super) async fn erase(&self, context: &ScheduleContext) -> Result<Customer, ErasureError> {
        let erased = context.customers.erase(self.customer).await?;
        Ok(erased)
    }
}
