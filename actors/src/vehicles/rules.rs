//! Pure rules of the fleet: what a valid car is, what a change may do, when a car is offered.

use chrono::{DateTime, Datelike, Utc};

use super::model::{NewVehicle, VehiclePatch, VehicleRecord, VehicleStatus};
use crate::domain::{InvalidField, Plate};

/// Oldest model year the fleet takes: older EVs lack the range and the telematics a unit needs.
pub(crate) const OLDEST_YEAR: i32 = 2010;
/// Cheapest and dearest hour, in centavos (R$ 1 to R$ 1,000): outside this is a typo.
pub(crate) const RATE_CENTS: std::ops::RangeInclusive<i64> = 100..=100_000;
const BATTERY_KWH: std::ops::RangeInclusive<f64> = 5.0..=250.0;
const RANGE_KM: std::ops::RangeInclusive<f64> = 10.0..=1_500.0;
const MODEL_CHARS: usize = 60;
const COLOR_CHARS: usize = 30;
/// Length of a tracker id, in characters (all ASCII: see [`is_tracker_id`]).
pub(crate) const TRACKER_ID_CHARS: std::ops::RangeInclusive<usize> = 20..=64;

/// A registration that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ValidVehicle {
    pub(crate) plate: Plate,
    pub(crate) model: String,
    pub(crate) year: i32,
    pub(crate) hourly_rate_cents: i64,
    pub(crate) battery_kwh: Option<f64>,
    pub(crate) range_km: Option<f64>,
    pub(crate) color: Option<String>,
}

/// A patch that passed validation; `color: Some(None)` removes the colour.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ValidPatch {
    pub(crate) hourly_rate_cents: Option<i64>,
    pub(crate) status: Option<VehicleStatus>,
    pub(crate) model: Option<String>,
    pub(crate) color: Option<Option<String>>,
    /// `Some(None)` removes the tracker id.
    pub(crate) tracker_id: Option<Option<String>>,
}

/// Checks every field of a registration against the clock's `now`; all failures are reported.
pub(crate) fn validate_new(
    new: &NewVehicle,
    now: DateTime<Utc>,
) -> Result<ValidVehicle, Vec<InvalidField>> {
    let mut errors = Vec::new();
    let plate = Plate::parse(&new.plate)
        .map_err(|error| errors.push(error))
        .ok();
    let model = model(&new.model).map_err(|error| errors.push(error)).ok();
    let newest = now.year() + 1;
    if !(OLDEST_YEAR..=newest).contains(&new.year) {
        errors.push(InvalidField::new(
            "year",
            format!("year must be between {OLDEST_YEAR} and {newest}"),
        ));
    }
    if let Err(error) = rate(new.hourly_rate_cents) {
        errors.push(error);
    }
    let in_range = |value: Option<f64>, range: std::ops::RangeInclusive<f64>| {
        value.is_none_or(|value| value.is_finite() && range.contains(&value))
    };
    if !in_range(new.battery_kwh, BATTERY_KWH) {
        errors.push(InvalidField::new(
            "battery_kwh",
            "battery capacity must be between 5 and 250 kWh",
        ));
    }
    if !in_range(new.range_km, RANGE_KM) {
        errors.push(InvalidField::new(
            "range_km",
            "range must be between 10 and 1500 km",
        ));
    }
    let color = match new.color.as_deref().map(color) {
        Some(Err(error)) => {
            errors.push(error);
            None
        }
        Some(Ok(color)) => color,
        None => None,
    };
    match (plate, model) {
        (Some(plate), Some(model)) if errors.is_empty() => Ok(ValidVehicle {
            plate,
            model,
            year: new.year,
            hourly_rate_cents: new.hourly_rate_cents,
            battery_kwh: new.battery_kwh,
            range_km: new.range_km,
            color,
        }),
        _ => Err(errors),
    }
}

/// Checks a patch; all failures are reported.
pub(crate) fn validate_patch(patch: &VehiclePatch) -> Result<ValidPatch, Vec<InvalidField>> {
    let mut errors = Vec::new();
    let mut valid = ValidPatch::default();
    if let Some(cents) = patch.hourly_rate_cents {
        match rate(cents) {
            Ok(()) => valid.hourly_rate_cents = Some(cents),
            Err(error) => errors.push(error),
        }
    }
    match patch.status {
        Some(VehicleStatus::Retired) => errors.push(InvalidField::new(
            "status",
            "a car is retired through retirement, which checks its reservations",
        )),
        status => valid.status = status,
    }
    if let Some(text) = &patch.model {
        match model(text) {
            Ok(model) => valid.model = Some(model),
            Err(error) => errors.push(error),
        }
    }
    if let Some(text) = &patch.color {
        match color(text) {
            Ok(color) => valid.color = Some(color),
            Err(error) => errors.push(error),
        }
    }
    match &patch.tracker_id {
        Some(Some(id)) if !is_tracker_id(id) => errors.push(InvalidField::new(
            "tracker_id",
            "a tracker id is 20 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'",
        )),
        tracker_id => valid.tracker_id = tracker_id.clone(),
    }
    if errors.is_empty() {
        Ok(valid)
    } else {
        Err(errors)
    }
}

/// Whether `id` may name a car's OsmAnd tracker. The protocol carries no credential: the id
/// alone makes a fix count as the car's, so it must be long enough not to be guessed (20
/// random characters of this alphabet are ~119 bits), and its alphabet is what Traccar Client
/// and URL query strings carry unescaped. It is compared exactly (case included).
pub(crate) fn is_tracker_id(id: &str) -> bool {
    TRACKER_ID_CHARS.contains(&id.len())
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
}

/// Why a change to a stored car is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The car is retired: its record is history now.
    Retired,
}

/// The car after `patch`, stamped `now`.
pub(crate) fn apply_patch(
    record: &VehicleRecord,
    patch: &ValidPatch,
    now: DateTime<Utc>,
) -> Result<VehicleRecord, Refusal> {
    if record.status == VehicleStatus::Retired {
        return Err(Refusal::Retired);
    }
    let mut changed = record.clone();
    if let Some(cents) = patch.hourly_rate_cents {
        changed.hourly_rate_cents = cents;
    }
    if let Some(status) = patch.status {
        changed.status = status;
    }
    if let Some(model) = &patch.model {
        changed.model = model.clone();
    }
    if let Some(color) = &patch.color {
        changed.color = color.clone();
    }
    if let Some(tracker_id) = &patch.tracker_id {
        changed.tracker_id = tracker_id.clone();
    }
    if changed != *record {
        changed.updated_at = now;
    }
    Ok(changed)
}

/// The car retired at `now`, or `None` if it already is (retiring is idempotent). The plate
/// stays claimed: the record is the car's history. The tracker id is freed: a retired car
/// sends no fixes, and its tracker may go into another car.
pub(crate) fn retire(record: &VehicleRecord, now: DateTime<Utc>) -> Option<VehicleRecord> {
    (record.status != VehicleStatus::Retired).then(|| VehicleRecord {
        status: VehicleStatus::Retired,
        updated_at: now,
        retired_at: Some(now),
        tracker_id: None,
        ..record.clone()
    })
}

/// Whether customers may be offered the car.
pub(crate) fn is_listed(status: VehicleStatus) -> bool {
    status == VehicleStatus::Available
}

fn rate(cents: i64) -> Result<(), InvalidField> {
    if RATE_CENTS.contains(&cents) {
        Ok(())
    } else {
        Err(InvalidField::new(
            "hourly_rate_cents",
            "hourly rate must be between 100 and 100000 centavos (R$ 1 to R$ 1,000)",
        ))
    }
}

fn model(text: &str) -> Result<String, InvalidField> {
    let text = text.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > MODEL_CHARS || text.chars().any(char::is_control) {
        return Err(InvalidField::new(
            "model",
            "model must be 1 to 60 characters without control characters",
        ));
    }
    Ok(text.to_owned())
}

/// An empty colour means none.
fn color(text: &str) -> Result<Option<String>, InvalidField> {
    let text = text.trim();
    if text.chars().count() > COLOR_CHARS || text.chars().any(char::is_control) {
        return Err(InvalidField::new(
            "color",
            "color must be at most 30 characters without control characters",
        ));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::VehicleId;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 15, 0, 0).unwrap()
    }

    fn dolphin() -> NewVehicle {
        NewVehicle {
            plate: "rio2a18".into(),
            model: "  BYD Dolphin ".into(),
            year: 2025,
            hourly_rate_cents: 4_500,
            battery_kwh: Some(44.9),
            range_km: Some(291.0),
            color: Some(" ".into()),
        }
    }

    fn fields(errors: Vec<InvalidField>) -> Vec<&'static str> {
        errors.iter().map(|error| error.field).collect()
    }

    #[test]
    fn a_valid_registration_is_normalised() {
        let valid = validate_new(&dolphin(), now()).unwrap();
        assert_eq!(valid.plate.as_str(), "RIO2A18");
        assert_eq!(valid.model, "BYD Dolphin");
        assert_eq!(valid.color, None, "a blank colour is no colour");
        let bare = NewVehicle {
            battery_kwh: None,
            range_km: None,
            color: None,
            year: 2027,
            ..dolphin()
        };
        assert!(
            validate_new(&bare, now()).is_ok(),
            "next year's model is fine"
        );
    }

    #[test]
    fn every_invalid_field_is_reported() {
        let bad = NewVehicle {
            plate: "ABCD123".into(),
            model: "".into(),
            year: 2009,
            hourly_rate_cents: 99,
            battery_kwh: Some(f64::NAN),
            range_km: Some(1_501.0),
            color: Some("x".repeat(31)),
        };
        assert_eq!(
            fields(validate_new(&bad, now()).unwrap_err()),
            [
                "plate",
                "model",
                "year",
                "hourly_rate_cents",
                "battery_kwh",
                "range_km",
                "color"
            ]
        );
        let future = NewVehicle {
            year: 2028,
            model: "m".repeat(61),
            hourly_rate_cents: 100_001,
            ..dolphin()
        };
        assert_eq!(
            fields(validate_new(&future, now()).unwrap_err()),
            ["model", "year", "hourly_rate_cents"]
        );
    }

    #[test]
    fn a_patch_may_not_retire_and_is_validated_field_by_field() {
        let patch = VehiclePatch {
            status: Some(VehicleStatus::Retired),
            hourly_rate_cents: Some(50),
            model: Some("\u{7}".into()),
            color: Some("blue".into()),
            tracker_id: None,
        };
        assert_eq!(
            fields(validate_patch(&patch).unwrap_err()),
            ["hourly_rate_cents", "status", "model"]
        );
        let clear = validate_patch(&VehiclePatch {
            color: Some(String::new()),
            status: Some(VehicleStatus::Maintenance),
            ..VehiclePatch::default()
        })
        .unwrap();
        assert_eq!(clear.color, Some(None));
        assert_eq!(clear.status, Some(VehicleStatus::Maintenance));
    }

    fn record() -> VehicleRecord {
        let valid = validate_new(&dolphin(), now()).unwrap();
        VehicleRecord {
            id: VehicleId::new(),
            plate: valid.plate.to_string(),
            model: valid.model,
            year: valid.year,
            hourly_rate_cents: valid.hourly_rate_cents,
            battery_kwh: valid.battery_kwh,
            range_km: valid.range_km,
            color: Some("white".into()),
            status: VehicleStatus::Available,
            device_token_sha256: [0; 32],
            created_at: now(),
            updated_at: now(),
            retired_at: None,
            tracker_id: None,
        }
    }

    #[test]
    fn patches_change_only_what_they_name_and_retired_cars_not_at_all() {
        let later = now() + chrono::TimeDelta::hours(1);
        let patch = ValidPatch {
            hourly_rate_cents: Some(5_000),
            color: Some(None),
            ..ValidPatch::default()
        };
        let changed = apply_patch(&record(), &patch, later).unwrap();
        assert_eq!(changed.hourly_rate_cents, 5_000);
        assert_eq!(changed.color, None);
        assert_eq!(changed.model, "BYD Dolphin");
        assert_eq!(changed.updated_at, later);
        let unchanged = apply_patch(&record(), &ValidPatch::default(), later).unwrap();
        assert_eq!(
            unchanged.updated_at,
            now(),
            "an empty patch changes nothing"
        );

        let retired = retire(&record(), later).unwrap();
        assert_eq!(retired.status, VehicleStatus::Retired);
        assert_eq!(retired.retired_at, Some(later));
        assert_eq!(retire(&retired, later), None, "idempotent");
        assert_eq!(apply_patch(&retired, &patch, later), Err(Refusal::Retired));
        assert!(is_listed(VehicleStatus::Available));
        assert!(!is_listed(VehicleStatus::Maintenance) && !is_listed(VehicleStatus::Retired));
    }

    #[test]
    fn tracker_ids_are_long_plain_and_removable() {
        let valid = |id: &str| {
            validate_patch(&VehiclePatch {
                tracker_id: Some(Some(id.to_owned())),
                ..VehiclePatch::default()
            })
        };
        let shortest = "a".repeat(19) + "Z";
        assert_eq!(valid(&shortest).unwrap().tracker_id, Some(Some(shortest)));
        assert!(valid(&"x.y_z-9".repeat(10)[..64]).is_ok());
        for bad in [
            "a".repeat(19),
            "a".repeat(65),
            "tracker id with spaces!".into(),
            "ç".repeat(20),
            "a%20".repeat(5),
        ] {
            assert_eq!(fields(valid(&bad).unwrap_err()), ["tracker_id"], "{bad}");
        }
        let cleared = validate_patch(&VehiclePatch {
            tracker_id: Some(None),
            ..VehiclePatch::default()
        })
        .unwrap();
        assert_eq!(cleared.tracker_id, Some(None));

        let with_tracker = VehicleRecord {
            tracker_id: Some("t".repeat(24)),
            ..record()
        };
        let removed = apply_patch(&with_tracker, &cleared, now()).unwrap();
        assert_eq!(removed.tracker_id, None);
        let retired = retire(&with_tracker, now()).unwrap();
        assert_eq!(retired.tracker_id, None, "retiring frees the tracker");
    }
}
