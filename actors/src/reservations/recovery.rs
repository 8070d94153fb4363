//! What the service repairs at start, before it answers anything.
//!
//! A booking places its hold before it writes the reservation (`car_booking.rs`); a crash in
//! between leaves a hold for a reservation that does not exist, which is voided here. No booking
//! is in flight while this runs: the service has not started taking requests.
//!
//! A command a car's rentals actor ordered and had not seen answered is marked in flight; each
//! such car is asked to reconcile at start (it asks locks what became of the command).

use crate::billing::{BillingError, BillingHandle};
use crate::entity::EntityRef;

use super::car::{CarMsg, CarRentals};
use super::tables::Tables;

/// Why start-up recovery failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecoveryError {
    /// The reservations store.
    #[error("reservations store: {0}")]
    Storage(#[from] storage::StorageError),
    /// Billing could not list or void.
    #[error("billing: {0}")]
    Billing(#[from] BillingError),
}

/// Voids every unresolved hold whose reservation was never written.
pub(crate) async fn void_orphan_holds(
    tables: &Tables,
    billing: &BillingHandle,
) -> Result<(), RecoveryError> {
    for id in billing.unresolved()? {
        if tables.reservations.get(&id)?.is_some() {
            continue;
        }
        tracing::warn!(reservation = %id, "voiding a hold whose booking was interrupted");
        match billing.void(id).await {
            Ok(_) | Err(BillingError::NoHold) | Err(BillingError::NotFound) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

/// Asks every car with a command in flight to resolve it, in the background.
pub(crate) fn reconcile_in_flight(tables: &Tables, cars: &EntityRef<CarRentals>) {
    let vehicles: Vec<_> = tables
        .in_flight
        .iter()
        .filter_map(|entry| match entry {
            Ok((vehicle, _)) => Some(vehicle),
            Err(error) => {
                tracing::error!(%error, "unreadable in-flight command");
                None
            }
        })
        .collect();
    for vehicle in vehicles {
        let cars = cars.clone();
        tokio::spawn(async move {
            match cars
                .call_or_create(vehicle, |reply| CarMsg::Reconcile { reply })
                .await
            {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%vehicle, %error, "command in flight not reconciled; the car's next message retries")
                }
                Err(error) => {
                    tracing::warn!(%vehicle, %error, "command in flight not reconciled; the car's next message retries")
                }
            }
        });
    }
}
