//! The domain events a car's write causes, pure: derived from the car as stored before the
//! write and as the write leaves it, inside the transaction that writes it, so that a
//! re-sent registration or a second retirement (which write nothing new) tells nothing.

use chrono::{DateTime, Utc};

use super::model::{VehicleRecord, VehicleStatus};
use crate::events::{DomainEvent, EventData, Subjects};

/// The store whose outbox vehicles writes, as events name their source.
pub(crate) const SOURCE: &str = "vehicles";

/// The payload of the event that writing `after` over `before` (`None`: a new car) causes.
pub(crate) fn caused(before: Option<&VehicleRecord>, after: &VehicleRecord) -> Option<EventData> {
    match before {
        None => Some(EventData::VehicleRegistered {
            plate: after.plate.clone(),
            model: after.model.clone(),
        }),
        Some(before)
            if before.status != VehicleStatus::Retired
                && after.status == VehicleStatus::Retired =>
        {
            Some(EventData::VehicleRetired)
        }
        Some(_) => None,
    }
}

/// The event about `record`'s car, at `at`.
pub(crate) fn event(record: &VehicleRecord, at: DateTime<Utc>, data: EventData) -> DomainEvent {
    DomainEvent::new(SOURCE, at, Subjects::vehicle(record.id), data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::VehicleId;

    fn car() -> VehicleRecord {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        VehicleRecord {
            id: VehicleId::new(),
            plate: "RIO2A18".into(),
            model: "BYD Dolphin".into(),
            year: 2025,
            hourly_rate_cents: 4_500,
            battery_kwh: None,
            range_km: None,
            color: None,
            status: VehicleStatus::Available,
            device_token_sha256: [0; 32],
            created_at: at,
            updated_at: at,
            retired_at: None,
            tracker_id: None,
        }
    }

    #[test]
    fn a_new_car_is_registered_with_its_plate_and_model() {
        let car = car();
        assert_eq!(
            caused(None, &car),
            Some(EventData::VehicleRegistered {
                plate: "RIO2A18".into(),
                model: "BYD Dolphin".into(),
            })
        );
        let event = event(&car, car.created_at, EventData::VehicleRetired);
        assert_eq!(event.source, "vehicles");
        assert_eq!(event.subjects, Subjects::vehicle(car.id));
    }

    #[test]
    fn only_the_step_into_retirement_is_a_retirement() {
        let available = car();
        let maintenance = VehicleRecord {
            status: VehicleStatus::Maintenance,
            ..available.clone()
        };
        let retired = VehicleRecord {
            status: VehicleStatus::Retired,
            ..available.clone()
        };
        assert_eq!(caused(Some(&available), &maintenance), None);
        assert_eq!(
            caused(Some(&maintenance), &retired),
            Some(EventData::VehicleRetired)
        );
        assert_eq!(caused(Some(&retired), &retired), None);
    }
}
