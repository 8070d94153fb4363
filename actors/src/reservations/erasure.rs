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
use crate::billing::BillingError;
use crate::customers::{Customer, CustomersError};
use crate::error_kind::{ErrorKind, Kinded};
use crate::ids::CustomerId;
use crate::location::LocationError;

use super::calendar::{CustomerSchedule, ScheduleContext, ScheduleMsg};
use super::trips::trips;
use super::{ReservationsError, ReservationsHandle};

/// Why an erasure did not complete. After the customers step, repeating the erasure finishes
/// the others.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    /// The customers service refused or failed (an open reservation, an unknown customer).
    #[error(transparent)]
    Customers(#[from] CustomersError),
    /// The billing ledger or the payment provider could not forget the customer.
    #[error("billing could not forget the customer")]
    Billing(#[source] BillingError),
    /// The position history could not forget a trip.
    #[error("location could not forget a trip")]
    Location(#[source] LocationError),
    /// The reservations store could not list the trips.
    #[error("the customer's trips could not be read")]
    Trips(#[source] Box<ReservationsError>),
    /// The customer's schedule did not answer.
    #[error(transparent)]
    Ask(#[from] AskError),
}

impl Kinded for ErasureError {
    fn kind(&self) -> ErrorKind {
        match self {
            ErasureError::Customers(error) => error.kind(),
            // Whatever billing or location said, the erasure is to be repeated later.
            ErasureError::Billing(_) | ErasureError::Location(_) | ErasureError::Trips(_) => {
                ErrorKind::Unavailable
            }
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
        let customer = self.customer;
        let card = context.customers.card_token(customer)?;
        let erased = context.customers.erase(customer).await?;
        let trips = trips(&context.tables, customer, context.clock.now())
            .map_err(|error| ErasureError::Trips(Box::new(error)))?;
        context
            .billing
            .forget_customer(customer, card.into_iter().collect())
            .await
            .map_err(ErasureError::Billing)?;
        let mut forgotten = 0;
        for (_, vehicle, from, to) in &trips {
            forgotten += context
                .location
                .forget_window(*vehicle, *from, *to)
                .await
                .map_err(ErasureError::Location)?;
        }
        tracing::info!(
            %customer,
            trips = trips.len(),
            positions = forgotten,
            "customer erased everywhere"
        );
        Ok(erased)
    }
}
