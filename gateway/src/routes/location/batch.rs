//! The position batch parser: one pass over the body, a malformed fix rejected on its own.

use super::*;

impl<'de> Deserialize<'de> for PositionsBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = PositionsBody;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one fix object or an array of at most {MAX_BATCH} fixes")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PositionsBody, A::Error> {
        let mut body = PositionsBody::default();
        let slot = read_fix(map)?;
        body.push(0, slot);
        Ok(body)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PositionsBody, A::Error> {
        let mut body = PositionsBody {
            fixes: Vec::with_capacity(seq.size_hint().unwrap_or(16).min(MAX_BATCH)),
            ..PositionsBody::default()
        };
        let mut index = 0;
        while let Some(slot) = seq.next_element::<Slot>()? {
            if index == MAX_BATCH {
                // Refused before reading the rest.
                return Err(de::Error::custom(format_args!(
                    "a batch holds at most {MAX_BATCH} fixes; this one has more"
                )));
            }
            body.push(index, slot);
            index += 1;
        }
        Ok(body)
    }
}

impl PositionsBody {
    fn push(&mut self, index: usize, Slot { fix, ignored }: Slot) {
        for name in ignored {
            if self.ignored.len() < MAX_IGNORED_FIELDS && !self.ignored.contains(&name) {
                self.ignored.push(name);
            }
        }
        match fix {
            Ok(fix) => {
                if let Some(origin) = &mut self.origin {
                    origin.push(index);
                }
                self.fixes.push(fix);
            }
            Err(errors) => {
                if self.origin.is_none() {
                    self.origin = Some((0..self.fixes.len()).collect());
                }
                self.malformed.push(RejectedFixDto { index, errors });
            }
        }
    }
}

/// Most distinct unknown field names one answer lists (each cut to 64 characters): enough to
/// spot a unit sending fields we do not read, bounded whatever a body holds.
pub(super) const MAX_IGNORED_FIELDS: usize = 16;

/// One element of a batch: a fix, or what is wrong with it, and the unknown fields it had.
struct Slot {
    fix: Result<FixInput, BTreeMap<String, String>>,
    ignored: Vec<String>,
}

impl<'de> Deserialize<'de> for Slot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SlotVisitor)
    }
}

struct SlotVisitor;

fn not_an_object() -> Slot {
    Slot {
        fix: Err(BTreeMap::from([(
            "fix".to_owned(),
            "a fix must be a JSON object".to_owned(),
        )])),
        ignored: Vec::new(),
    }
}

impl<'de> Visitor<'de> for SlotVisitor {
    type Value = Slot;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a fix object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Slot, A::Error> {
        read_fix(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Slot, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(not_an_object())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Slot, E> {
        Ok(not_an_object())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Slot, E> {
        Ok(not_an_object())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Slot, E> {
        Ok(not_an_object())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Slot, E> {
        Ok(not_an_object())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Slot, E> {
        Ok(not_an_object())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Slot, E> {
        Ok(not_an_object())
    }
}

/// The fields of a fix, by name.
enum Key {
    Lat,
    Lon,
    RecordedAt,
    SpeedKmh,
    HeadingDeg,
    BatteryPct,
    AltitudeM,
    AccuracyM,
    Charging,
    Unknown(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(match name {
                    "lat" => Key::Lat,
                    "lon" => Key::Lon,
                    "recorded_at" => Key::RecordedAt,
                    "speed_kmh" => Key::SpeedKmh,
                    "heading_deg" => Key::HeadingDeg,
                    "battery_pct" => Key::BatteryPct,
                    "altitude_m" => Key::AltitudeM,
                    "accuracy_m" => Key::AccuracyM,
                    "charging" => Key::Charging,
                    other => Key::Unknown(other.chars().take(64).collect()),
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// A field's value read without failing the parse: `Ok(None)` for null, `Err(reason)` for a
/// value of the wrong type.
struct Lenient<T>(Result<Option<T>, &'static str>);

const NOT_A_NUMBER: &str = "must be a number";
const NOT_A_TIME: &str = "must be an RFC 3339 time, e.g. 2026-03-01T12:00:00Z";
const NOT_A_BOOLEAN: &str = "must be true or false";

/// What a wrong-typed value answers; maps and arrays are skipped whole.
macro_rules! refuse_other_types {
    ($reason:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Lenient(Err($reason)))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Lenient(Ok(None)))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Lenient(Err($reason)))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Lenient(Err($reason)))
        }
    };
}

impl<'de> Deserialize<'de> for Lenient<f64> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumberVisitor;
        impl<'de> Visitor<'de> for NumberVisitor {
            type Value = Lenient<f64>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
                Ok(Lenient(Ok(Some(value))))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
                Ok(Lenient(Ok(Some(value as f64))))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
                Ok(Lenient(Ok(Some(value as f64))))
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Lenient(Err(NOT_A_NUMBER)))
            }

            refuse_other_types!(NOT_A_NUMBER);
        }
        deserializer.deserialize_any(NumberVisitor)
    }
}

impl<'de> Deserialize<'de> for Lenient<bool> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BooleanVisitor;
        impl<'de> Visitor<'de> for BooleanVisitor {
            type Value = Lenient<bool>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true or false")
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
                Ok(Lenient(Ok(Some(value))))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(Ok(None)))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient(Err(NOT_A_BOOLEAN)))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient(Err(NOT_A_BOOLEAN)))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient(Err(NOT_A_BOOLEAN)))
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Lenient(Err(NOT_A_BOOLEAN)))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Lenient(Err(NOT_A_BOOLEAN)))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(Err(NOT_A_BOOLEAN)))
            }
        }
        deserializer.deserialize_any(BooleanVisitor)
    }
}

impl<'de> Deserialize<'de> for Lenient<DateTime<Utc>> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;
        impl<'de> Visitor<'de> for TimeVisitor {
            type Value = Lenient<DateTime<Utc>>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 time")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Lenient(
                    DateTime::parse_from_rfc3339(text)
                        .map(|time| Some(time.with_timezone(&Utc)))
                        .map_err(|_| NOT_A_TIME),
                ))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient(Err(NOT_A_TIME)))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient(Err(NOT_A_TIME)))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient(Err(NOT_A_TIME)))
            }

            refuse_other_types!(NOT_A_TIME);
        }
        deserializer.deserialize_any(TimeVisitor)
    }
}

/// Reads one fix object; its problems are returned as field errors, never as a parse error
/// (only broken JSON is). Unknown fields are skipped and named in the slot: a unit newer
/// than the server (or one sending its own extras) keeps its fixes.
fn read_fix<'de, A: MapAccess<'de>>(mut map: A) -> Result<Slot, A::Error> {
    let mut errors = BTreeMap::new();
    let (mut lat, mut lon, mut recorded_at) = (None, None, None);
    let (mut speed_kmh, mut heading_deg, mut battery_pct) = (None, None, None);
    let (mut altitude_m, mut accuracy_m, mut charging) = (None, None, None);
    let mut bad_charging = false;
    let mut keep = |slot: &mut Option<f64>, name: &str, value: Lenient<f64>| match value.0 {
        Ok(value) => *slot = value,
        Err(reason) => {
            errors.insert(name.to_owned(), reason.to_owned());
        }
    };
    let mut unknown = Vec::new();
    let mut bad_time = false;
    while let Some(key) = map.next_key::<Key>()? {
        match key {
            Key::Lat => keep(&mut lat, "lat", map.next_value()?),
            Key::Lon => keep(&mut lon, "lon", map.next_value()?),
            Key::SpeedKmh => keep(&mut speed_kmh, "speed_kmh", map.next_value()?),
            Key::HeadingDeg => keep(&mut heading_deg, "heading_deg", map.next_value()?),
            Key::BatteryPct => keep(&mut battery_pct, "battery_pct", map.next_value()?),
            Key::AltitudeM => keep(&mut altitude_m, "altitude_m", map.next_value()?),
            Key::AccuracyM => keep(&mut accuracy_m, "accuracy_m", map.next_value()?),
            Key::Charging => match map.next_value::<Lenient<bool>>()?.0 {
                Ok(value) => charging = value,
                Err(_) => bad_charging = true,
            },
            Key::RecordedAt => match map.next_value::<Lenient<DateTime<Utc>>>()?.0 {
                Ok(time) => recorded_at = time,
                Err(_) => bad_time = true,
            },
            Key::Unknown(name) => {
                map.next_value::<IgnoredAny>()?;
                if unknown.len() < MAX_IGNORED_FIELDS && !unknown.contains(&name) {
                    unknown.push(name);
                }
            }
        }
    }
    if bad_time {
        errors.insert("recorded_at".to_owned(), NOT_A_TIME.to_owned());
    }
    if bad_charging {
        errors.insert("charging".to_owned(), NOT_A_BOOLEAN.to_owned());
    }
    for (name, missing) in [
        ("lat", lat.is_none()),
        ("lon", lon.is_none()),
        ("recorded_at", recorded_at.is_none()),
    ] {
        if missing {
            errors
                .entry(name.to_owned())
                .or_insert_with(|| "required".to_owned());
        }
    }
    let fix = match (lat, lon, recorded_at) {
        (Some(lat), Some(lon), Some(recorded_at)) if errors.is_empty() => Ok(FixInput {
            lat,
            lon,
            recorded_at,
            speed_kmh,
            heading_deg,
            battery_pct,
            altitude_m,
            accuracy_m,
            charging,
        }),
        _ => Err(errors),
    };
    Ok(Slot {
        fix,
        ignored: unknown,
    })
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
