//! The charge events of whole rentals, booked, extended, driven and ended through
//! reservations on a whole system.

use chrono::TimeDelta;

use crate::domain::Cents;
use crate::events::EventData;
use crate::reservations::{NewReservation, Requester};
use crate::testing::cards::VISA;
use crate::testing::{TestSystem, t0};

fn charge_events(events: &[crate::events::DomainEvent]) -> Vec<EventData> {
    events
        .iter()
        .filter(|event| event.source == "billing")
        .map(|event| event.data.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extended_rental_returned_late_holds_twice_and_captures_once_with_the_overtime() {
    let test = TestSystem::start().await;
    let services = test.services().clone();
    let customer = test.customer(1, VISA).await;
    let car = test.vehicle(1, 3_000).await;
    test.park(car).await;
    let window = NewReservation {
        vehicle_id: car,
        start_at: t0() + TimeDelta::hours(1),
        end_at: t0() + TimeDelta::hours(3),
    };
    let booked = services
        .reservations
        .create(customer, window, None)
        .await
        .unwrap();
    services
        .reservations
        .extend(customer, booked.id, t0() + TimeDelta::hours(4))
        .await
        .unwrap();
    test.advance(TimeDelta::minutes(50));
    services.reservations.unlock(car, customer).await.unwrap();
    // An hour past the extended end.
    test.advance(TimeDelta::hours(4));
    test.park(car).await;
    let (_, charge) = services
        .reservations
        .finish(customer, booked.id)
        .await
        .unwrap();
    assert!(charge.charged_cents > 0, "{charge:?}");

    let events = test.events().await.of_reservation(booked.id);
    assert_eq!(
        charge_events(&events),
        [
            EventData::ChargeHeld {
                amount_cents: Cents::new(6_000)
            },
            EventData::ChargeHeld {
                amount_cents: Cents::new(3_000)
            },
            EventData::ChargeCaptured {
                captured_cents: Cents::new(9_000),
                extra_cents: Cents::new(charge.charged_cents),
                released_cents: Cents::ZERO,
            }
        ]
    );
    assert!(
        events
            .iter()
            .filter(|event| event.source == "billing")
            .all(|event| {
                event.subjects.customer_id == Some(customer) && event.subjects.vehicle_id.is_none()
            })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_booking_voids_its_hold() {
    let test = TestSystem::start().await;
    let services = test.services().clone();
    let customer = test.customer(1, VISA).await;
    let car = test.vehicle(1, 3_000).await;
    test.park(car).await;
    let window = NewReservation {
        vehicle_id: car,
        start_at: t0() + TimeDelta::hours(5),
        end_at: t0() + TimeDelta::hours(7),
    };
    let booked = services
        .reservations
        .create(customer, window, None)
        .await
        .unwrap();
    services
        .reservations
        .cancel(Requester::Customer(customer), booked.id)
        .await
        .unwrap();
    let events = test.events().await.of_reservation(booked.id);
    assert_eq!(
        charge_events(&events),
        [
            EventData::ChargeHeld {
                amount_cents: Cents::new(6_000)
            },
            EventData::ChargeVoided {
                released_cents: Cents::new(6_000)
            }
        ]
    );
}
