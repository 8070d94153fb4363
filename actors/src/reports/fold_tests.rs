use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::domain::Cents;
use crate::events::{Place, Subjects};

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-07T13:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + TimeDelta::minutes(minutes)
}

struct Script {
    subjects: Subjects,
}

impl Script {
    fn new() -> Self {
        Script {
            subjects: Subjects::reservation(
                ReservationId::new(),
                CustomerId::new(),
                VehicleId::new(),
            ),
        }
    }

    fn event(&self, minutes: i64, data: EventData) -> DomainEvent {
        DomainEvent::new("reservations", at(minutes), self.subjects.clone(), data)
    }

    fn confirmed(&self) -> DomainEvent {
        self.event(
            0,
            EventData::ReservationConfirmed {
                plate: "QHT1A23".into(),
                model: "BYD Dolphin".into(),
                place: Some(Place {
                    lat: -27.5954,
                    lon: -48.548,
                }),
                start_at: at(60),
                end_at: at(240),
                hold_cents: Cents::new(13_500),
                hourly_rate_cents: Cents::new(4_500),
            },
        )
    }

    fn ended(&self, minutes: i64, overtime: i64) -> DomainEvent {
        self.event(
            minutes,
            EventData::RentalEnded {
                ended_by: "customer".into(),
                released_at: at(minutes),
                end_at: at(240),
                hold_cents: Cents::new(13_500),
                total_cents: Cents::new(13_500 + overtime),
                overtime_cents: Cents::new(overtime),
                outstanding_cents: Cents::ZERO,
                settlement_pending: false,
            },
        )
    }
}

fn fold_trip(events: &[DomainEvent], start_place: Option<(f64, f64)>) -> Trip {
    let mut trip = Trip::default();
    for event in events {
        assert!(matches!(target(event), Target::Trip(_)), "{event:?}");
        apply_to_trip(&mut trip, event, start_place);
    }
    trip
}

#[test]
fn a_late_rental_folds_into_one_trip_with_its_money_and_area() {
    let script = Script::new();
    let events = [
        script.confirmed(),
        script.event(
            65,
            EventData::RentalStarted {
                unlocked_at: at(65),
            },
        ),
        script.ended(270, 3_000),
        script.event(
            271,
            EventData::ChargeCaptured {
                captured_cents: Cents::new(13_500),
                extra_cents: Cents::new(3_000),
                released_cents: Cents::ZERO,
            },
        ),
        script.event(
            300,
            EventData::ChargeRefunded {
                amount_cents: Cents::new(1_000),
            },
        ),
    ];
    let trip = fold_trip(&events, Some((-27.6012, -48.5201)));
    assert_eq!(trip.plate.as_deref(), Some("QHT1A23"));
    assert_eq!(trip.started_at, Some(at(65)));
    assert_eq!(trip.released_at, Some(at(270)));
    assert!(trip.returned_late());
    assert_eq!(trip.overtime_cents, 3_000);
    assert_eq!(trip.revenue_between(at(0), at(1_000)), 15_500);
    // The refund falls after the capture: a span ending between them counts the capture only.
    assert_eq!(trip.revenue_between(at(0), at(290)), 16_500);
    // The start's own position decides the area, not where the car was booked.
    assert_eq!(trip.start_place, Some((-27.6012, -48.5201)));
}

#[test]
fn events_of_other_stores_may_come_first_and_the_trip_is_the_same() {
    let script = Script::new();
    let extended = script.event(
        100,
        EventData::ReservationExtended {
            previous_end_at: at(240),
            end_at: at(300),
            added_hold_cents: Cents::new(4_500),
            hold_cents: Cents::new(18_000),
        },
    );
    let started = script.event(
        65,
        EventData::RentalStarted {
            unlocked_at: at(65),
        },
    );
    let in_order = fold_trip(
        &[script.confirmed(), started.clone(), extended.clone()],
        None,
    );
    let shuffled = fold_trip(&[extended, started, script.confirmed()], None);
    assert_eq!(in_order.end_at, Some(at(300)));
    assert_eq!(in_order.hold_cents, 18_000);
    assert_eq!(shuffled.end_at, in_order.end_at);
    assert_eq!(shuffled.hold_cents, in_order.hold_cents);
    // Without a position at the start, the place at booking decides, whichever came first.
    assert_eq!(in_order.start_place, in_order.booked_at_place);
    assert!(in_order.start_place.is_some());
    assert_eq!(shuffled.start_place, in_order.start_place);
}

#[test]
fn cancellations_no_shows_balances_and_cars_are_recorded() {
    let script = Script::new();
    let cancelled = fold_trip(
        &[
            script.confirmed(),
            script.event(
                10,
                EventData::ReservationCancelled {
                    by: "customer".into(),
                    released_cents: Cents::new(13_500),
                },
            ),
        ],
        None,
    );
    assert_eq!(cancelled.cancelled_at, Some(at(10)));
    let no_show = fold_trip(
        &[
            script.confirmed(),
            script.event(
                240,
                EventData::ReservationNoShow {
                    fee_cents: Cents::new(4_500),
                },
            ),
        ],
        None,
    );
    assert_eq!(no_show.no_show_fee_cents, 4_500);

    let customer = Subjects::customer(CustomerId::new());
    let owed = DomainEvent::new(
        "customers",
        at(0),
        customer.clone(),
        EventData::BalanceOutstanding {
            amount_cents: Cents::new(2_000),
            owed_cents: Cents::new(2_000),
        },
    );
    let paid = DomainEvent::new(
        "customers",
        at(5),
        customer,
        EventData::BalancePaid {
            amount_cents: Cents::new(2_000),
        },
    );
    assert_eq!(apply_to_balance(0, &owed), 2_000);
    assert_eq!(apply_to_balance(2_000, &paid), 0);

    let car = Subjects::vehicle(VehicleId::new());
    let mut facts = CarFacts::default();
    for (minutes, data) in [
        (
            0,
            EventData::VehicleRegistered {
                plate: "QHT1A23".into(),
                model: "BYD Dolphin".into(),
            },
        ),
        (50, EventData::VehicleRetired),
    ] {
        apply_to_car(
            &mut facts,
            &DomainEvent::new("vehicles", at(minutes), car.clone(), data),
        );
    }
    assert_eq!(facts.registered_at, Some(at(0)));
    assert_eq!(facts.retired_at, Some(at(50)));
}

#[test]
fn events_the_reports_do_not_count_change_nothing() {
    let script = Script::new();
    let held = script.event(
        0,
        EventData::ChargeHeld {
            amount_cents: Cents::new(1),
        },
    );
    assert_eq!(target(&held), Target::Nothing);
    let moved = DomainEvent::new(
        "location",
        at(0),
        Subjects::vehicle(VehicleId::new()),
        EventData::VehicleMoved {
            lat: -27.6,
            lon: -48.5,
            speed_kmh: None,
            battery_pct: Some(80),
            recorded_at: at(-1),
        },
    );
    assert!(matches!(target(&moved), Target::Position(_, recorded, _) if recorded == at(-1)));
}
