//! Where and how a rental may end: not outside the service area, not while the car moves,
//! not without the doors locked (the rental stays active for a retry); an operator may end it
//! anyway, and the audit lists why.

use chrono::TimeDelta;

use super::*;
use crate::billing::ChargeStatus;
use crate::incident::IncidentKind;
use crate::location::FixInput;
use crate::reservations::{EndedBy, Requester, ReservationStatus, ReservationsError};

/// Palhoça, outside Florianópolis.
const PALHOCA: (f64, f64) = (-27.6453, -48.6697);

/// A rental under way: booked from t0 for two hours and unlocked.
async fn under_way() -> (TestSystem, CustomerId, VehicleId, Reservation) {
    let (fixture, customer, vehicle) = one_customer_one_car().await;
    let reservation = book(&fixture, customer, vehicle, 0, 2).await;
    fixture
        .services()
        .reservations
        .unlock(vehicle, customer)
        .await
        .expect("unlock");
    (fixture, customer, vehicle, reservation)
}

/// Reports the car at `(lat, lon)` one second after the clock's time.
async fn fix_at(fixture: &TestSystem, vehicle: VehicleId, (lat, lon): (f64, f64), speed: f64) {
    fixture.advance(TimeDelta::seconds(1));
    let fix = FixInput {
        lat,
        lon,
        recorded_at: fixture.now(),
        speed_kmh: Some(speed),
        heading_deg: None,
        battery_pct: Some(80.0),
        altitude_m: None,
        accuracy_m: None,
        charging: None,
    };
    let report = fixture
        .services()
        .location
        .record_positions(vehicle, vec![fix])
        .await
        .expect("the fix is recorded");
    assert_eq!(report.accepted, 1, "{report:?}");
}

fn status(fixture: &TestSystem, reservation: &Reservation) -> ReservationStatus {
    fixture
        .services()
        .reservations
        .get(Requester::Admin, reservation.id)
        .expect("reservation")
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_car_left_outside_the_service_area_is_refused_with_the_distance() {
    let (fixture, customer, vehicle, reservation) = under_way().await;
    fix_at(&fixture, vehicle, PALHOCA, 0.0).await;
    let refused = fixture
        .services()
        .reservations
        .finish(customer, reservation.id)
        .await;
    let Err(ReservationsError::OutsideServiceArea { distance_m }) = refused else {
        panic!("expected outside the service area, got {refused:?}");
    };
    let expected = fixture
        .services()
        .location
        .service_area()
        .distance_to_edge_m(PALHOCA.0, PALHOCA.1)
        .ceil() as u64;
    assert_eq!(distance_m, expected);
    assert_eq!(status(&fixture, &reservation), ReservationStatus::Active);
    assert_eq!(
        command_log(&fixture, vehicle),
        [(LockAction::Unlock, CommandStatus::Done)],
        "no lock was sent"
    );

    // Driven back: half an hour later (a jump of kilometres in a second would be flagged
    // as implausible and not become the position).
    fixture.advance(TimeDelta::minutes(30));
    fixture.park(vehicle).await;
    let (finished, _) = fixture
        .services()
        .reservations
        .finish(customer, reservation.id)
        .await
        .expect("finished back in Centro");
    assert_eq!(finished.status, ReservationStatus::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moving_car_is_refused_until_it_stands_still() {
    let (fixture, customer, vehicle, reservation) = under_way().await;
    fixture.fix(vehicle, Some(40.0)).await;
    let refused = fixture
        .services()
        .reservations
        .finish(customer, reservation.id)
        .await;
    assert!(
        matches!(refused, Err(ReservationsError::CarMoving { speed_kmh: Some(speed) }) if speed == 40.0),
        "{refused:?}"
    );
    assert_eq!(status(&fixture, &reservation), ReservationStatus::Active);

    fixture.park(vehicle).await;
    let (finished, _) = fixture
        .services()
        .reservations
        .finish(customer, reservation.id)
        .await
        .expect("finished once parked");
    assert_eq!(finished.ended_by, Some(EndedBy::Customer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_the_unit_does_not_acknowledge_leaves_the_rental_active_for_a_retry() {
    let (fixture, customer, vehicle, reservation) = under_way().await;
    fixture.park(vehicle).await;
    script_unit(&fixture, vehicle);
    let reservations = fixture.services().reservations.clone();
    let id = reservation.id;
    let finish = tokio::spawn(async move { reservations.finish(customer, id).await });
    // The unlock was the first command; the unit holds the lock and never answers.
    fixture.command(vehicle, 2).await;
    fixture.advance(TimeDelta::seconds(11));
    let refused = finish.await.expect("the request ran");
    assert!(
        matches!(
            refused,
            Err(ReservationsError::LockFailed(
                crate::commands::CommandError::UnitTimeout
            ))
        ),
        "{refused:?}"
    );
    assert_eq!(status(&fixture, &reservation), ReservationStatus::Active);

    // The unit refusing is the same answer.
    fixture
        .units()
        .set_behaviour(vehicle, UnitBehaviour::Refuse("door open".into()));
    let refused = fixture
        .services()
        .reservations
        .finish(customer, reservation.id)
        .await;
    assert!(
        matches!(refused, Err(ReservationsError::LockFailed(_))),
        "{refused:?}"
    );
    assert_eq!(status(&fixture, &reservation), ReservationStatus::Active);

    fixture.units().set_behaviour(vehicle, UnitBehaviour::Obey);
    let (finished, charge) = fixture
        .services()
        .reservations
        .finish(customer, reservation.id)
        .await
        .expect("the retry locks");
    assert_eq!(finished.status, ReservationStatus::Completed);
    assert_eq!(charge.status, ChargeStatus::Captured);
    assert_audit_clean(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_forces_the_end_of_a_car_driving_outside_the_area() {
    let (fixture, customer, vehicle, reservation) = under_way().await;
    fix_at(&fixture, vehicle, PALHOCA, 50.0).await;
    let services = fixture.services();
    let refused = services.reservations.finish(customer, reservation.id).await;
    assert!(
        matches!(refused, Err(ReservationsError::CarMoving { .. })),
        "{refused:?}"
    );
    let blank = services
        .reservations
        .force_finish(reservation.id, "  ")
        .await;
    assert!(
        matches!(&blank, Err(ReservationsError::Invalid(fields)) if fields[0].field == "reason"),
        "{blank:?}"
    );

    let (ended, charge) = services
        .reservations
        .force_finish(reservation.id, "unit stolen; police report 123")
        .await
        .expect("forced");
    assert_eq!(ended.status, ReservationStatus::Completed);
    assert_eq!(ended.ended_by, Some(EndedBy::Admin));
    assert_eq!(charge.status, ChargeStatus::Captured, "billing settled");
    assert_eq!(
        charge.captured_cents,
        ended.total.expect("total").amount_cents
    );

    let audit = assert_audit_clean(&fixture).await;
    assert_eq!(audit.incidents.get("admin_forced_end"), Some(&1));
    assert_eq!(audit.forced_ends.len(), 1, "{:?}", audit.forced_ends);
    let forced = &audit.forced_ends[0];
    assert_eq!(forced.reservation_id, reservation.id);
    assert!(
        forced.reason.starts_with("unit stolen; police report 123"),
        "{}",
        forced.reason
    );
    assert!(forced.reason.contains("not locked"), "{}", forced.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_car_whose_unit_never_reported_may_be_left_and_an_operator_is_told() {
    let (fixture, customer, _, reservation) = under_way().await;
    let (finished, _) = fixture
        .services()
        .reservations
        .finish(customer, reservation.id)
        .await
        .expect("not blocked by a silent tracker");
    assert_eq!(finished.status, ReservationStatus::Completed);
    let incidents = fixture.services().reservations.incidents().unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0].kind, IncidentKind::ReturnedWithoutPosition);
}
