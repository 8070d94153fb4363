//! The actor system started in this process on an accelerated clock, driven through the
//! services' handles; the car units are the in-process ones, which obey every command (hence
//! the simulator's `in-process-units` feature of `actors`).

use std::sync::Arc;

use actors::audit::SystemAudit;
use actors::clock::{AcceleratedClock, SharedClock};
use actors::commands::CommandError;
use actors::config::Config;
use actors::customers::{CardInput, CustomersError, NewCustomer};
use actors::ids::{CustomerId, ReservationId, VehicleId};
use actors::location::{FixInput, LocationError};
use actors::locks::{InProcessUnits, UnitLink};
use actors::reservations::AccessDenied;
use actors::reservations::{NewReservation, Requester, ReservationsError};
use actors::system::{RentalSystem, SystemOptions};
use actors::vehicles::{NewVehicle, VehiclesError};
use actors::{AskError, StorageError};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Backend, FoundCar, OpError, Person, plate_of};
use crate::fleet::city::Position;
use crate::fleet::scenario::CarPlan;
use crate::unit::Fix;

/// How many cars a search returns.
const SEARCH_LIMIT: usize = 10;

/// The system in this process.
pub struct InProcess {
    system: RentalSystem,
    clock: SharedClock,
}

impl InProcess {
    /// Starts the system with `config` on a clock running `speedup` times real time.
    pub async fn start(config: &Config, speedup: u32) -> Result<InProcess, OpError> {
        let clock: SharedClock = Arc::new(AcceleratedClock::new(Utc::now(), speedup));
        let options = SystemOptions {
            clock: clock.clone(),
            units: UnitLink::InProcess(InProcessUnits::new()),
        };
        let system = RentalSystem::start(config, options)
            .await
            .map_err(|error| OpError::new("start", error.to_string()))?;
        Ok(InProcess { system, clock })
    }

    fn services(&self) -> &actors::system::Services {
        self.system.services()
    }
}

fn fix_input(fix: Fix) -> FixInput {
    FixInput {
        lat: fix.lat,
        lon: fix.lon,
        recorded_at: fix.recorded_at,
        speed_kmh: fix.speed_kmh,
        heading_deg: fix.heading_deg,
        battery_pct: fix.battery_pct,
    }
}

impl Backend for InProcess {
    type Session = CustomerId;

    fn clock(&self) -> &SharedClock {
        &self.clock
    }

    async fn add_car(&self, car: &CarPlan) -> Result<Uuid, OpError> {
        let registered = self
            .services()
            .vehicles
            .register(NewVehicle {
                plate: plate_of(car, 0),
                model: car.model.into(),
                year: i32::from(car.year),
                hourly_rate_cents: car.hourly_rate_cents,
                battery_kwh: Some(car.battery_kwh),
                range_km: Some(car.range_km),
                color: Some(car.color.into()),
            })
            .await
            .map_err(vehicles_error)?;
        let id = registered.vehicle.id.as_uuid();
        let mut parked = Fix::new(car.parked_at.lat, car.parked_at.lon, self.clock.now());
        parked.speed_kmh = Some(0.0);
        parked.battery_pct = Some(90.0);
        self.report(id, parked, true).await?;
        Ok(id)
    }

    async fn report(&self, car: Uuid, fix: Fix, _stopped: bool) -> Result<(), OpError> {
        let report = self
            .services()
            .location
            .record_positions(VehicleId(car), vec![fix_input(fix)])
            .await
            .map_err(location_error)?;
        match report.rejected.first() {
            None => Ok(()),
            Some(rejected) => Err(OpError::new("invalid", format!("{rejected:?}"))),
        }
    }

    async fn register(&self, person: &Person) -> Result<CustomerId, OpError> {
        let customer = self
            .services()
            .customers
            .register(NewCustomer {
                name: person.name.clone(),
                cpf: person.cpf.clone(),
                cnh: person.cnh.clone(),
                email: person.email.clone(),
                phone: person.phone.clone(),
                password: person.password.clone(),
                card: CardInput {
                    number: person.card_number.into(),
                    exp_month: 12,
                    exp_year: 2031,
                    cvc: "123".into(),
                    holder_name: person.name.to_uppercase(),
                },
            })
            .await
            .map_err(customers_error)?;
        Ok(customer.id)
    }

    async fn nearby(
        &self,
        _who: &CustomerId,
        at: Position,
        radius_m: f64,
    ) -> Result<Vec<FoundCar>, OpError> {
        let found = self
            .services()
            .vehicles
            .nearby_available(at.lat, at.lon, radius_m, SEARCH_LIMIT)
            .await
            .map_err(vehicles_error)?;
        Ok(found
            .into_iter()
            .map(|car| FoundCar {
                id: car.vehicle.id.as_uuid(),
                position: Position {
                    lat: car.position.lat,
                    lon: car.position.lon,
                },
            })
            .collect())
    }

    async fn reserve(
        &self,
        who: &CustomerId,
        car: Uuid,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        idempotency_key: String,
    ) -> Result<Uuid, OpError> {
        let request = NewReservation {
            vehicle_id: VehicleId(car),
            start_at: start,
            end_at: end,
        };
        let reservation = self
            .services()
            .reservations
            .create(*who, request, Some(idempotency_key))
            .await
            .map_err(reservations_error)?;
        Ok(reservation.id.as_uuid())
    }

    async fn unlock(&self, who: &CustomerId, car: Uuid) -> Result<(), OpError> {
        let reservations = &self.services().reservations;
        reservations
            .unlock(VehicleId(car), *who)
            .await
            .map_err(reservations_error)?;
        Ok(())
    }

    async fn lock(&self, who: &CustomerId, car: Uuid) -> Result<(), OpError> {
        let reservations = &self.services().reservations;
        reservations
            .lock(VehicleId(car), *who)
            .await
            .map_err(reservations_error)?;
        Ok(())
    }

    async fn finish(&self, who: &CustomerId, reservation: Uuid) -> Result<(), OpError> {
        let reservations = &self.services().reservations;
        reservations
            .finish(*who, ReservationId(reservation))
            .await
            .map_err(reservations_error)?;
        Ok(())
    }

    async fn cancel(&self, who: &CustomerId, reservation: Uuid) -> Result<(), OpError> {
        let reservations = &self.services().reservations;
        reservations
            .cancel(Requester::Customer(*who), ReservationId(reservation))
            .await
            .map_err(reservations_error)?;
        Ok(())
    }

    async fn audit(&self) -> Result<SystemAudit, OpError> {
        actors::audit::audit(self.services())
            .await
            .map_err(|error| OpError::new("audit", error.to_string()))
    }

    async fn close(&self) -> Result<(), OpError> {
        self.system
            .shutdown()
            .await
            .map_err(|error| OpError::new("shutdown", error.to_string()))
    }
}

// The labels below are the API's problem types for the same errors, so that an in-process
// run and a run against a server count their errors under the same names.

fn ask_error(error: AskError) -> OpError {
    let kind = match error {
        AskError::NotFound { .. } => "not-found",
        AskError::Timeout { .. } => "timeout",
        AskError::Unavailable { .. } => "unavailable",
    };
    OpError::new(kind, error.to_string())
}

fn storage_error(error: StorageError) -> OpError {
    OpError::new("internal", error.to_string())
}

fn customers_error(error: CustomersError) -> OpError {
    let kind = match &error {
        CustomersError::Invalid(_) => "invalid",
        CustomersError::Conflict { .. } => "already-registered",
        CustomersError::Billing(_) => "payment-declined",
        CustomersError::Ask(_) => "unavailable",
        _ => "internal",
    };
    OpError::new(kind, error.to_string())
}

fn vehicles_error(error: VehiclesError) -> OpError {
    match error {
        VehiclesError::Ask(error) => ask_error(error),
        VehiclesError::Storage(error) => storage_error(error),
        VehiclesError::Location(error) => location_error(error),
        other => {
            let kind = match &other {
                VehiclesError::Invalid(_) => "invalid",
                VehiclesError::NotFound => "not-found",
                VehiclesError::Conflict { .. } => "already-registered",
                VehiclesError::OutsideServiceArea => "outside-service-area",
                _ => "conflict",
            };
            OpError::new(kind, other.to_string())
        }
    }
}

fn location_error(error: LocationError) -> OpError {
    match error {
        LocationError::Ask(error) => ask_error(error),
        LocationError::Storage(error) => storage_error(error),
        other => OpError::new("invalid", other.to_string()),
    }
}

fn reservations_error(error: ReservationsError) -> OpError {
    if let ReservationsError::Command(inner) = error {
        return command_error(inner);
    }
    let kind = match &error {
        ReservationsError::Invalid(_) => "invalid",
        ReservationsError::IdempotencyMismatch => "idempotency-mismatch",
        ReservationsError::NotFound => "not-found",
        ReservationsError::VehicleUnavailable => "vehicle-unavailable",
        ReservationsError::CustomerCannotBook(_) => "cannot-book",
        ReservationsError::VehicleBusy => "vehicle-busy",
        ReservationsError::CustomerBusy => "customer-busy",
        ReservationsError::PaymentDeclined { .. } => "payment-declined",
        ReservationsError::InvalidState { .. } => "invalid-state",
        ReservationsError::Access(AccessDenied::CarNotReturned) => "car-not-returned",
        ReservationsError::Access(_) => "no-access",
        ReservationsError::OutstandingBalance { .. } => "outstanding-balance",
        ReservationsError::Upstream { .. } | ReservationsError::Ask(_) => "unavailable",
        _ => "internal",
    };
    OpError::new(kind, error.to_string())
}

fn command_error(error: CommandError) -> OpError {
    let kind = match &error {
        CommandError::Moving => "moving",
        CommandError::CommandInProgress | CommandError::StaleFence { .. } => "command-in-progress",
        CommandError::UnitTimeout => "car-timeout",
        CommandError::UnitFailed(_) => "car-failed",
        CommandError::UnknownCommand(_) => "not-found",
        CommandError::Location(_) | CommandError::Ask(_) => "unavailable",
        CommandError::Storage(_) => "internal",
    };
    OpError::new(kind, error.to_string())
}
