//! `GET /v1/fleet/overview`: the whole fleet as the operators' console first draws it, in one
//! answer (the event stream keeps it current afterwards).
//!
//! The gateway composes it from each service's own answers (cars, their latest fixes, the
//! open reservations, the units' channels, pending commands, incidents): no service reads
//! another's store, and this read lives above them like every other workflow across services.

use std::collections::{BTreeMap, HashMap};

use actors::commands::{CommandRecord, CommandStatus, LockAction};
use actors::ids::VehicleId;
use actors::reservations::{Requester, Reservation, ReservationFilter, ReservationStatus};
use actors::vehicles::{BatteryState, Vehicle, VehicleFilter, VehicleStatus};
use axum::extract::State;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::car_state::{CarFacts, CarState, car_state, masked_name};
use crate::auth::Admin;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

/// The most cars one overview carries; a larger fleet is drawn from the first ones and says so.
const MAX_CARS: usize = 5_000;
/// The most recent incidents listed.
const MAX_INCIDENTS: usize = 50;

/// The fleet at one instant.
#[derive(Debug, Serialize, ToSchema)]
pub struct FleetOverviewDto {
    /// The instant, by the services' clock (the console counts time left from it).
    pub now: DateTime<Utc>,
    /// Every car in service (retired ones left out), in registration order.
    pub cars: Vec<CarOverviewDto>,
    /// Whether the fleet had more cars than one overview carries.
    pub truncated: bool,
    /// Cars per state.
    pub counts: BTreeMap<String, u64>,
    /// Commands sent and not answered yet, oldest first.
    pub pending_commands: Vec<PendingCommandDto>,
    /// The latest incidents of reservations and locks, newest first.
    pub incidents: Vec<IncidentDto>,
}

/// One car on the map.
#[derive(Debug, Serialize, ToSchema)]
pub struct CarOverviewDto {
    /// The car.
    pub id: Uuid,
    /// Its plate.
    pub plate: String,
    /// Its model.
    pub model: String,
    /// What the console colours it by.
    pub state: CarState,
    /// The latest valid fix, if the unit ever reported one.
    pub position: Option<PositionDto>,
    /// The last reported charge.
    pub battery_pct: Option<f64>,
    /// Whether the unit's command channel is open.
    pub unit_connected: bool,
    /// The rental under way, or the reservation holding the car now.
    pub rental: Option<RentalDto>,
}

/// Where a car was.
#[derive(Debug, Serialize, ToSchema)]
pub struct PositionDto {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Speed, km/h.
    pub speed_kmh: Option<f64>,
    /// When the unit measured it.
    pub recorded_at: DateTime<Utc>,
}

/// A rental as the console lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RentalDto {
    /// The reservation.
    pub reservation_id: Uuid,
    /// `active` or `confirmed`.
    pub status: String,
    /// Window start.
    pub start_at: DateTime<Utc>,
    /// Window end.
    pub end_at: DateTime<Utc>,
    /// The customer's first name and initial.
    pub customer: String,
}

/// A command waiting for its unit.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingCommandDto {
    /// The command.
    pub command_id: Uuid,
    /// The car.
    pub vehicle_id: Uuid,
    /// `unlock` or `lock`.
    pub action: String,
    /// When it was sent.
    pub issued_at: DateTime<Utc>,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// An incident.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentDto {
    /// What happened (`late_unlock_relocked`, `auto_end_not_locked`, …).
    pub kind: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The car.
    pub vehicle_id: Uuid,
    /// The reservation, if one was concerned.
    pub reservation_id: Option<Uuid>,
    /// The details.
    pub detail: String,
}

/// The fleet's overview for the operators' console.
#[utoipa::path(
    get,
    path = "/v1/fleet/overview",
    operation_id = "fleet_overview",
    tag = "operations",
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"]))),
    responses((status = 200, description = "Every car's state, position, charge and rental; pending commands; recent incidents", body = FleetOverviewDto))
)]
pub async fn overview(
    _admin: Admin,
    State(state): State<AppState>,
) -> Result<ApiJson<FleetOverviewDto>, ApiError> {
    let now = state.now();
    let (vehicles, truncated) = fleet(&state).await?;
    let rentals = open_rentals(&state, now).await?;
    let mut cars = Vec::with_capacity(vehicles.len());
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for vehicle in vehicles {
        let rental = rentals.get(&vehicle.id);
        let car = car(&state, vehicle, rental, now).await?;
        *counts.entry(car.state.as_str().to_owned()).or_default() += 1;
        cars.push(car);
    }
    Ok(ApiJson(FleetOverviewDto {
        now,
        cars,
        truncated,
        counts,
        pending_commands: pending_commands(&state)?,
        incidents: incidents(&state)?,
    }))
}

async fn fleet(state: &AppState) -> Result<(Vec<Vehicle>, bool), ApiError> {
    let mut vehicles = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .services
            .vehicles
            .list(VehicleFilter::default(), 200, after)
            .await?;
        vehicles.extend(
            page.items
                .into_iter()
                .filter(|vehicle| vehicle.status != VehicleStatus::Retired),
        );
        if vehicles.len() >= MAX_CARS {
            vehicles.truncate(MAX_CARS);
            return Ok((vehicles, page.next_cursor.is_some()));
        }
        match page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => return Ok((vehicles, false)),
        }
    }
}

/// Each car's rental under way, or else the confirmed reservation whose window (with the
/// unlock grace before it) holds the car now.
async fn open_rentals(
    state: &AppState,
    now: DateTime<Utc>,
) -> Result<HashMap<VehicleId, Reservation>, ApiError> {
    let grace = TimeDelta::minutes(i64::from(state.config.rental.unlock_grace_min));
    let mut by_car: HashMap<VehicleId, Reservation> = HashMap::new();
    for status in [ReservationStatus::Confirmed, ReservationStatus::Active] {
        let filter = ReservationFilter {
            status: Some(status),
            ..ReservationFilter::default()
        };
        let mut after = None;
        loop {
            let page = state
                .services
                .reservations
                .list(Requester::Admin, &filter, 200, after)?;
            for reservation in page.items {
                let holds_now = reservation.status == ReservationStatus::Active
                    || (reservation.start_at - grace <= now && now < reservation.end_at);
                if holds_now {
                    // Active is read second, so it replaces a confirmed one of the same car.
                    by_car.insert(reservation.vehicle_id, reservation);
                }
            }
            match page.next_cursor {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
        }
    }
    Ok(by_car)
}

async fn car(
    state: &AppState,
    vehicle: Vehicle,
    rental: Option<&Reservation>,
    now: DateTime<Utc>,
) -> Result<CarOverviewDto, ApiError> {
    let services = &state.services;
    let fix = services.location.latest(vehicle.id).await?;
    let battery = services.vehicles.battery_of(&vehicle).await?;
    let unit_connected = state.system.unit_reachable(vehicle.id);
    let facts = CarFacts {
        maintenance: vehicle.status == VehicleStatus::Maintenance,
        active_until: rental
            .filter(|rental| rental.status == ReservationStatus::Active)
            .map(|rental| rental.end_at),
        reserved_now: rental.is_some_and(|rental| rental.status == ReservationStatus::Confirmed),
        battery_low: battery.state == BatteryState::Low,
        unit_connected,
    };
    let rental = match rental {
        Some(rental) => Some(RentalDto {
            reservation_id: rental.id.as_uuid(),
            status: if rental.status == ReservationStatus::Active {
                "active".into()
            } else {
                "confirmed".into()
            },
            start_at: rental.start_at,
            end_at: rental.end_at,
            customer: match services.customers.get(rental.customer_id).await {
                Ok(customer) => masked_name(&customer.name),
                Err(_) => String::new(),
            },
        }),
        None => None,
    };
    Ok(CarOverviewDto {
        id: vehicle.id.as_uuid(),
        plate: vehicle.plate,
        model: vehicle.model,
        state: car_state(&facts, now),
        position: fix.map(|fix| PositionDto {
            lat: fix.lat,
            lon: fix.lon,
            speed_kmh: fix.speed_kmh,
            recorded_at: fix.recorded_at,
        }),
        battery_pct: battery.battery_pct,
        unit_connected,
        rental,
    })
}

fn pending_commands(state: &AppState) -> Result<Vec<PendingCommandDto>, ApiError> {
    let commands: Vec<CommandRecord> = state.services.locks.all_commands()?;
    Ok(commands
        .into_iter()
        .filter(|command| command.status == CommandStatus::Pending)
        .map(|command| PendingCommandDto {
            command_id: command.id.as_uuid(),
            vehicle_id: command.vehicle_id.as_uuid(),
            action: match command.action {
                LockAction::Unlock => "unlock".into(),
                LockAction::Lock => "lock".into(),
            },
            issued_at: command.issued_at,
            expires_at: command.expires_at,
        })
        .collect())
}

fn incidents(state: &AppState) -> Result<Vec<IncidentDto>, ApiError> {
    let services = &state.services;
    let mut incidents = services.reservations.incidents()?;
    incidents.extend(services.locks.incidents()?);
    incidents.sort_by_key(|incident| std::cmp::Reverse(incident.at));
    incidents.truncate(MAX_INCIDENTS);
    Ok(incidents
        .into_iter()
        .map(|incident| IncidentDto {
            kind: incident.kind.as_str().to_owned(),
            at: incident.at,
            vehicle_id: incident.vehicle_id.as_uuid(),
            reservation_id: incident.reservation_id.map(|id| id.as_uuid()),
            detail: incident.detail,
        })
        .collect())
}
