//! The actor system started in this process on an accelerated clock, driven through the
//! services' handles; the car units are the in-process ones, which obey every command (hence
//! the simulator's `in-process-units` feature of `actors`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actors::ErrorKind;
use actors::audit::SystemAudit;
use actors::clock::{AcceleratedClock, SharedClock};
use actors::config::Config;
use actors::customers::{CardInput, CustomerStatus, NewCustomer};
use actors::events::{DomainEvent, EventData, EventSubscriber, SubscriberError};
use actors::ids::{CustomerId, ReservationId, VehicleId};
use actors::location::FixInput;
use actors::locks::{InProcessUnits, UnitLink};
use actors::ports::BoxFuture;
use actors::reservations::{NewReservation, Requester};
use actors::system::{RentalSystem, SystemOptions};
use actors::vehicles::NewVehicle;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Backend, FoundCar, OpError, OpErrorKind, Person, plate_of};
use crate::fleet::city::Position;
use crate::fleet::scenario::CarPlan;
use crate::unit::Fix;

/// How many cars a search returns.
const SEARCH_LIMIT: usize = 10;

/// The system in this process.
pub struct InProcess {
    system: RentalSystem,
    clock: SharedClock,
    /// The confirmation codes the system sends, as the customers would read them by e-mail.
    inbox: Arc<Inbox>,
}

/// Keeps the latest confirmation code sent to each customer, from the relayed events.
#[derive(Default)]
struct Inbox {
    codes: Mutex<HashMap<CustomerId, String>>,
}

impl Inbox {
    fn take(&self, customer: CustomerId) -> Option<String> {
        self.codes.lock().ok()?.remove(&customer)
    }
}

impl EventSubscriber for Inbox {
    fn name(&self) -> &'static str {
        "simulator inbox"
    }

    fn deliver<'a>(
        &'a self,
        events: &'a [DomainEvent],
    ) -> BoxFuture<'a, Result<(), SubscriberError>> {
        Box::pin(async move {
            for event in events {
                if let (EventData::ConfirmationRequested { code, .. }, Some(customer)) =
                    (&event.data, event.subjects.customer_id)
                    && let Ok(mut codes) = self.codes.lock()
                {
                    codes.insert(customer, code.clone());
                }
            }
            Ok(())
        })
    }
}

impl InProcess {
    /// Starts the system with `config` on a clock running `speedup` times real time.
    pub async fn start(config: &Config, speedup: u32) -> Result<InProcess, OpError> {
        let clock: SharedClock = Arc::new(AcceleratedClock::new(Utc::now(), speedup));
        let inbox = Arc::new(Inbox::default());
        let options = SystemOptions {
            clock: clock.clone(),
            units: UnitLink::InProcess(InProcessUnits::new()),
            subscribers: vec![inbox.clone()],
        };
        let system = RentalSystem::start(config, options)
            .await
            .map_err(|error| OpError::harness("start", error.to_string()))?;
        Ok(InProcess {
            system,
            clock,
            inbox,
        })
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
        altitude_m: None,
        accuracy_m: None,
        charging: None,
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
            .map_err(|error| OpError::service(&error))?;
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
            .map_err(|error| OpError::service(&error))?;
        match report.rejected.first() {
            None => Ok(()),
            Some(rejected) => Err(OpError::new(
                OpErrorKind::Service(ErrorKind::Invalid),
                format!("{rejected:?}"),
            )),
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
                }
                .into(),
                locale: None,
            })
            .await
            .map_err(|error| OpError::service(&error))?;
        if customer.status == CustomerStatus::PendingConfirmation {
            // The code the registration e-mailed, as the customer reads it.
            self.services()
                .events
                .relay_now()
                .await
                .map_err(|error| OpError::harness("relay", error.to_string()))?;
            let code = self
                .inbox
                .take(customer.id)
                .ok_or_else(|| OpError::harness("confirmation", "no confirmation code was sent"))?;
            self.services()
                .customers
                .confirm_email(customer.id, &code)
                .await
                .map_err(|error| OpError::service(&error))?;
        }
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
            .map_err(|error| OpError::service(&error))?;
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
            .map_err(|error| OpError::service(&error))?;
        Ok(reservation.id.as_uuid())
    }

    async fn unlock(&self, who: &CustomerId, car: Uuid) -> Result<(), OpError> {
        let reservations = &self.services().reservations;
        reservations
            .unlock(VehicleId(car), *who)
            .await
            .map_err(|error| OpError::service(&error))?;
        Ok(())
    }

    async fn lock(&self, who: &CustomerId, car: Uuid) -> Result<(), OpError> {
        let reservations = &self.services().reservations;
        reservations
            .lock(VehicleId(car), *who)
            .await
            .map_err(|error| OpError::service(&error))?;
        Ok(())
    }

    async fn finish(&self, who: &CustomerId, reservation: Uuid) -> Result<(), OpError> {
        let reservations = &self.services().reservations;
        reservations
            .finish(*who, ReservationId(reservation))
            .await
            .map_err(|error| OpError::service(&error))?;
        Ok(())
    }

    async fn cancel(&self, who: &CustomerId, reservation: Uuid) -> Result<(), OpError> {
        let reservations = &self.services().reservations;
        reservations
            .cancel(Requester::Customer(*who), ReservationId(reservation))
            .await
            .map_err(|error| OpError::service(&error))?;
        Ok(())
    }

    async fn audit(&self) -> Result<SystemAudit, OpError> {
        actors::audit::audit(self.services())
            .await
            .map_err(|error| OpError::harness("audit", error.to_string()))
    }

    async fn close(&self) -> Result<(), OpError> {
        self.system
            .shutdown()
            .await
            .map_err(|error| OpError::harness("shutdown", error.to_string()))
    }
}
