//! The domain events: what happened, to whom, when; the vocabulary every service writes into
//! its outbox and every subscriber reads.
//!
//! The payloads are a closed enum so that a consumer matching on them is told by the compiler
//! when a new event appears. Amounts are cents (BRL); times are the service clock's. Events
//! carry ids and figures, never personal data (names, addresses, documents): a consumer that
//! needs a customer's contact asks the customers service when it needs it, so an erasure does not
//! have to chase copies through event logs. The one exception, the confirmation code, is private
//! ([`EventData::is_public`]): it reaches the notifications service and nobody else.
//!
//! Stored with bincode (inside the outbox and the subscribers' logs), so no serde attribute that
//! bincode cannot round-trip appears here; the JSON form is built by [`DomainEvent::to_json`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::Cents;
use crate::ids::{CustomerId, ReservationId, VehicleId};

/// One domain event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// Stable id: a redelivered event carries the same one, and consumers deduplicate by it.
    pub id: Uuid,
    /// When it happened, by the service clock.
    pub occurred_at: DateTime<Utc>,
    /// The service whose change it records (its store's name).
    pub source: String,
    /// The entities it concerns.
    pub subjects: Subjects,
    /// What happened.
    pub data: EventData,
}

/// The ids an event concerns (any may be absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subjects {
    /// The reservation.
    pub reservation_id: Option<ReservationId>,
    /// The customer.
    pub customer_id: Option<CustomerId>,
    /// The car.
    pub vehicle_id: Option<VehicleId>,
}

impl Subjects {
    /// A reservation's three subjects.
    pub fn reservation(
        reservation_id: ReservationId,
        customer_id: CustomerId,
        vehicle_id: VehicleId,
    ) -> Self {
        Subjects {
            reservation_id: Some(reservation_id),
            customer_id: Some(customer_id),
            vehicle_id: Some(vehicle_id),
        }
    }

    /// A customer alone.
    pub fn customer(customer_id: CustomerId) -> Self {
        Subjects {
            customer_id: Some(customer_id),
            ..Subjects::default()
        }
    }

    /// A car alone.
    pub fn vehicle(vehicle_id: VehicleId) -> Self {
        Subjects {
            vehicle_id: Some(vehicle_id),
            ..Subjects::default()
        }
    }
}

/// Where a car was, for a message that tells the customer where to find it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

/// What happened. The type names (`reservation.confirmed`, …) are in [`EventData::type_name`]
/// and documented, with their fields, in the README's list of events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EventData {
    /// `customer.registered`: an account was created (not yet confirmed when confirmation is on).
    CustomerRegistered {
        /// Whether the e-mail address must still be confirmed.
        pending_confirmation: bool,
    },
    /// `customer.confirmation_requested` (private): a code to send to the address being
    /// confirmed.
    ConfirmationRequested {
        /// The six digits (their hash is what the customers store keeps).
        code: String,
        /// Until when the code works.
        expires_at: DateTime<Utc>,
        /// Whether it confirms a changed address rather than a new account.
        address_change: bool,
    },
    /// `customer.email_confirmed`.
    EmailConfirmed,
    /// `customer.erased`: the customer's personal data is gone; consumers drop what they hold
    /// for them.
    CustomerErased,
    /// `balance.outstanding`: the card refused money the customer owes.
    BalanceOutstanding {
        /// What this refusal added.
        amount_cents: Cents,
        /// What the customer owes in all.
        owed_cents: Cents,
    },
    /// `balance.paid`: the outstanding balance was collected.
    BalancePaid {
        /// What was collected.
        amount_cents: Cents,
    },
    /// `vehicle.registered`.
    VehicleRegistered {
        /// The plate.
        plate: String,
        /// The model.
        model: String,
    },
    /// `vehicle.retired`.
    VehicleRetired,
    /// `reservation.confirmed`: the car is booked and the hold placed.
    ReservationConfirmed {
        /// The car's plate.
        plate: String,
        /// The car's model.
        model: String,
        /// Where the car was when it was booked, if it had reported.
        place: Option<Place>,
        /// Window start.
        start_at: DateTime<Utc>,
        /// Window end.
        end_at: DateTime<Utc>,
        /// The amount held on the card.
        hold_cents: Cents,
        /// The hourly rate.
        hourly_rate_cents: Cents,
    },
    /// `reservation.rejected`: the card refused the hold.
    ReservationRejected {
        /// Why, as the provider put it.
        reason: String,
    },
    /// `reservation.cancelled`.
    ReservationCancelled {
        /// `customer`, `admin`, or `system` (the car was not returned in time for it).
        by: String,
        /// The hold released.
        released_cents: Cents,
    },
    /// `reservation.extended`.
    ReservationExtended {
        /// The end before.
        previous_end_at: DateTime<Utc>,
        /// The new end.
        end_at: DateTime<Utc>,
        /// The hold added for the added time.
        added_hold_cents: Cents,
        /// Every hold of the reservation together.
        hold_cents: Cents,
    },
    /// `reservation.no_show`: never unlocked by its end.
    ReservationNoShow {
        /// The fee charged.
        fee_cents: Cents,
    },
    /// `rental.started`: the first unlock went through.
    RentalStarted {
        /// When the doors opened.
        unlocked_at: DateTime<Utc>,
    },
    /// `rental.ended`: the rental is over and settled (or its settlement is pending).
    RentalEnded {
        /// `customer`, `system` (automatic end) or `admin` (forced).
        ended_by: String,
        /// When it ended.
        released_at: DateTime<Utc>,
        /// The booked end.
        end_at: DateTime<Utc>,
        /// The hold.
        hold_cents: Cents,
        /// What the rental cost in all (rate plus overtime and fee).
        total_cents: Cents,
        /// Of which overtime and the late fee.
        overtime_cents: Cents,
        /// What the card refused (now owed).
        outstanding_cents: Cents,
        /// Whether billing has still to settle it (it retries).
        settlement_pending: bool,
    },
    /// `unlock.failed`: the renter's unlock did not open the car.
    UnlockFailed {
        /// `refused` (the unit said no), `expired` (no answer in time) or `unavailable`.
        reason: String,
    },
    /// `command.sent`.
    CommandSent {
        /// The command.
        command_id: Uuid,
        /// `unlock` or `lock`.
        action: String,
        /// `customer` or `system`.
        origin: String,
    },
    /// `command.acknowledged`: the unit did it.
    CommandAcknowledged {
        /// The command.
        command_id: Uuid,
        /// `unlock` or `lock`.
        action: String,
    },
    /// `command.refused`: the unit could not do it.
    CommandRefused {
        /// The command.
        command_id: Uuid,
        /// `unlock` or `lock`.
        action: String,
        /// What the unit said.
        reason: String,
    },
    /// `command.expired`: no answer in time.
    CommandExpired {
        /// The command.
        command_id: Uuid,
        /// `unlock` or `lock`.
        action: String,
    },
    /// `charge.held`: an amount was authorised on the card.
    ChargeHeld {
        /// The amount.
        amount_cents: Cents,
    },
    /// `charge.captured`: the settlement took money.
    ChargeCaptured {
        /// Captured from the holds.
        captured_cents: Cents,
        /// Charged beyond the holds.
        extra_cents: Cents,
        /// Released back to the card.
        released_cents: Cents,
    },
    /// `charge.voided`: every hold released, nothing taken.
    ChargeVoided {
        /// Released.
        released_cents: Cents,
    },
    /// `charge.refused`: the card refused money beyond the hold.
    ChargeRefused {
        /// Refused.
        amount_cents: Cents,
    },
    /// `charge.refunded`.
    ChargeRefunded {
        /// Refunded.
        amount_cents: Cents,
    },
    /// `vehicle.moved`: where a car is, at most every `events.position_every_s` per car (the
    /// location service stores every fix; the event stream carries a thinned track).
    VehicleMoved {
        /// Latitude, degrees.
        lat: f64,
        /// Longitude, degrees.
        lon: f64,
        /// Speed the unit reported, if it did.
        speed_kmh: Option<f64>,
        /// Battery charge the unit reported, if it did.
        battery_pct: Option<u8>,
        /// When the unit took the fix.
        recorded_at: DateTime<Utc>,
    },
}

impl EventData {
    /// The event's type as subscribers see it.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventData::CustomerRegistered { .. } => "customer.registered",
            EventData::ConfirmationRequested { .. } => "customer.confirmation_requested",
            EventData::EmailConfirmed => "customer.email_confirmed",
            EventData::CustomerErased => "customer.erased",
            EventData::BalanceOutstanding { .. } => "balance.outstanding",
            EventData::BalancePaid { .. } => "balance.paid",
            EventData::VehicleRegistered { .. } => "vehicle.registered",
            EventData::VehicleRetired => "vehicle.retired",
            EventData::ReservationConfirmed { .. } => "reservation.confirmed",
            EventData::ReservationRejected { .. } => "reservation.rejected",
            EventData::ReservationCancelled { .. } => "reservation.cancelled",
            EventData::ReservationExtended { .. } => "reservation.extended",
            EventData::ReservationNoShow { .. } => "reservation.no_show",
            EventData::RentalStarted { .. } => "rental.started",
            EventData::RentalEnded { .. } => "rental.ended",
            EventData::UnlockFailed { .. } => "unlock.failed",
            EventData::CommandSent { .. } => "command.sent",
            EventData::CommandAcknowledged { .. } => "command.acknowledged",
            EventData::CommandRefused { .. } => "command.refused",
            EventData::CommandExpired { .. } => "command.expired",
            EventData::ChargeHeld { .. } => "charge.held",
            EventData::ChargeCaptured { .. } => "charge.captured",
            EventData::ChargeVoided { .. } => "charge.voided",
            EventData::ChargeRefused { .. } => "charge.refused",
            EventData::ChargeRefunded { .. } => "charge.refunded",
            EventData::VehicleMoved { .. } => "vehicle.moved",
        }
    }

    /// Whether it belongs to the lazy durability class: a car's position, appended alone right
    /// after the lazily stored fix it reports. A crash may take back such an event together
    /// with its fix, which only thins the track; nothing else was changed with it, so it may
    /// travel before it is on disk. Every other event comes with a change that must be durable
    /// before anyone hears of it.
    pub fn is_lazy(&self) -> bool {
        matches!(self, EventData::VehicleMoved { .. })
    }

    /// Whether operators' webhooks and event streams may see it. A confirmation code is for
    /// the address being confirmed only.
    pub fn is_public(&self) -> bool {
        !matches!(self, EventData::ConfirmationRequested { .. })
    }

    /// The payload's fields as a JSON object (`{}` for an event without fields).
    pub fn fields_json(&self) -> serde_json::Value {
        // Serde writes an enum variant as `{"Variant": {fields}}`, or as the bare name when it
        // has none; the fields are what subscribers want.
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map
                .into_iter()
                .next()
                .map(|(_, fields)| fields)
                .unwrap_or_else(|| serde_json::json!({})),
            _ => serde_json::json!({}),
        }
    }
}

impl DomainEvent {
    /// A new event with a fresh id.
    pub fn new(
        source: &str,
        occurred_at: DateTime<Utc>,
        subjects: Subjects,
        data: EventData,
    ) -> Self {
        DomainEvent {
            id: Uuid::now_v7(),
            occurred_at,
            source: source.to_owned(),
            subjects,
            data,
        }
    }

    /// The event's type.
    pub fn type_name(&self) -> &'static str {
        self.data.type_name()
    }

    /// The JSON form webhooks and the event stream carry:
    /// `{id, type, occurred_at, source, reservation_id?, customer_id?, vehicle_id?, data}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut object = serde_json::json!({
            "id": self.id,
            "type": self.type_name(),
            "occurred_at": self.occurred_at,
            "source": self.source,
            "data": self.data.fields_json(),
        });
        let subjects = [
            (
                "reservation_id",
                self.subjects.reservation_id.map(|id| id.0),
            ),
            ("customer_id", self.subjects.customer_id.map(|id| id.0)),
            ("vehicle_id", self.subjects.vehicle_id.map(|id| id.0)),
        ];
        for (name, id) in subjects {
            if let (Some(id), Some(map)) = (id, object.as_object_mut()) {
                map.insert(name.to_owned(), serde_json::json!(id));
            }
        }
        object
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_round_trips_through_the_store_codec_and_has_a_flat_json_form() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let reservation = ReservationId::new();
        let customer = CustomerId::new();
        let vehicle = VehicleId::new();
        let event = DomainEvent::new(
            "reservations",
            at,
            Subjects::reservation(reservation, customer, vehicle),
            EventData::ReservationConfirmed {
                plate: "QHT1A23".into(),
                model: "BYD Dolphin".into(),
                place: Some(Place {
                    lat: -27.59,
                    lon: -48.55,
                }),
                start_at: at,
                end_at: at + chrono::TimeDelta::hours(3),
                hold_cents: Cents::new(13_500),
                hourly_rate_cents: Cents::new(4_500),
            },
        );
        let bytes = storage::codec::encode(&event).unwrap();
        let back: DomainEvent = storage::codec::decode(&bytes).unwrap();
        assert_eq!(back, event);
        let json = event.to_json();
        assert_eq!(json["type"], "reservation.confirmed");
        assert_eq!(json["reservation_id"], reservation.to_string());
        assert_eq!(json["customer_id"], customer.to_string());
        assert_eq!(json["data"]["hold_cents"], 13_500);
        assert_eq!(json["data"]["plate"], "QHT1A23");
        assert_eq!(json["data"]["place"]["lat"], -27.59);
    }

    #[test]
    fn an_event_without_fields_has_an_empty_data_object_and_codes_are_private() {
        let event = DomainEvent::new(
            "customers",
            Utc::now(),
            Subjects::customer(CustomerId::new()),
            EventData::EmailConfirmed,
        );
        assert_eq!(event.to_json()["data"], serde_json::json!({}));
        assert!(event.data.is_public());
        let code = EventData::ConfirmationRequested {
            code: "123456".into(),
            expires_at: Utc::now(),
            address_change: false,
        };
        assert!(!code.is_public());
        assert!(event.to_json().get("vehicle_id").is_none());
    }
}
