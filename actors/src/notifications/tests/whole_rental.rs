//! Every message of a whole rental, in the whole system: the customer hears of the booking,
//! is reminded before the start, and gets a receipt whose figures are the ledger's, in that
//! order, once each, and an extension adds nothing the customer did not ask to hear.

use chrono::TimeDelta;

use super::events::email_of;
use crate::domain::{Cents, Locale};
use crate::notifications::MessageState;
use crate::notifications::templates::format::money;
use crate::reservations::NewReservation;
use crate::testing::{TestSystem, cards::VISA, t0};

/// The hourly rate of the car, in centavos.
const RATE: i64 = 4_000;
/// Half an hour late: two started 15-minute blocks at the rate, and the late fee.
const HALF_HOUR_LATE: i64 = 2 * RATE / 4 + 5_000;

/// The subjects and texts of the e-mails written to `customer` since `from` (an index into
/// the list), in the order they were queued.
fn emails_since(
    system: &TestSystem,
    customer: crate::ids::CustomerId,
    from: usize,
) -> Vec<(String, String, MessageState)> {
    system
        .services()
        .notifications
        .messages_to(customer)
        .unwrap()
        .into_iter()
        .skip(from)
        .map(|message| {
            let state = message.state;
            let email = email_of(&message);
            (email.subject.clone(), email.text.clone(), state)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_rental_writes_booking_reminder_and_receipt_in_order_with_the_ledger_s_amounts() {
    let system = TestSystem::start().await;
    let customer = system.customer(1, VISA).await;
    let vehicle = system.vehicle(1, RATE).await;
    system.park(vehicle).await;
    let services = system.services().clone();
    system.events().await;
    // Registration may have written (the confirmation code): the rental's messages follow it.
    let before = services.notifications.messages_to(customer).unwrap().len();

    let start = t0() + TimeDelta::hours(2);
    let booked = services
        .reservations
        .create(
            customer,
            NewReservation {
                vehicle_id: vehicle,
                start_at: start,
                end_at: start + TimeDelta::hours(2),
            },
            None,
        )
        .await
        .unwrap();
    system.events().await;
    let car = services.vehicles.get(vehicle).await.unwrap();
    let hold = Cents::new(2 * RATE);
    let after_booking = emails_since(&system, customer, before);
    assert_eq!(after_booking.len(), 2, "{after_booking:#?}");
    let (subject, text, _) = &after_booking[0];
    assert_eq!(
        subject,
        &format!("Reserva confirmada: {} ({})", car.model, car.plate)
    );
    assert!(text.contains(&money(hold, Locale::PtBr)), "{text}");
    // The reminder waits for its time.
    let (subject, _, state) = &after_booking[1];
    assert!(subject.starts_with("Sua reserva começa às"), "{subject}");
    assert_eq!(*state, MessageState::Pending);
    services.notifications.deliver_due().await.unwrap();
    assert_eq!(
        emails_since(&system, customer, before)[1].2,
        MessageState::Pending
    );
    system.advance(start - TimeDelta::minutes(30) - system.now());
    services.notifications.deliver_due().await.unwrap();
    assert_eq!(
        emails_since(&system, customer, before)[1].2,
        MessageState::Delivered
    );

    // The rental: unlocked at the start, locked, released half an hour late.
    system.advance(start - system.now());
    services
        .reservations
        .unlock(vehicle, customer)
        .await
        .unwrap();
    services.reservations.lock(vehicle, customer).await.unwrap();
    system.advance(booked.end_at + TimeDelta::minutes(30) - system.now());
    let (finished, _) = services
        .reservations
        .finish(customer, booked.id)
        .await
        .unwrap();
    system.events().await;

    let all = emails_since(&system, customer, before);
    assert_eq!(all.len(), 3, "booking, reminder, receipt: {all:#?}");
    let total = Cents::new(2 * RATE + HALF_HOUR_LATE);
    assert_eq!(
        finished.total.map(|total| total.amount_cents),
        Some(total.get())
    );
    let charges = services
        .billing
        .summary(booked.id)
        .await
        .unwrap()
        .expect("the rental has a charge");
    assert_eq!(
        charges.captured_cents + charges.charged_cents,
        total.get(),
        "the receipt's total is what the ledger took"
    );
    let (subject, text, _) = &all[2];
    assert_eq!(
        subject,
        &format!("Recibo da sua locação: {}", money(total, Locale::PtBr))
    );
    for figure in [hold, total, Cents::new(HALF_HOUR_LATE)] {
        assert!(
            text.contains(&money(figure, Locale::PtBr)),
            "{} missing from {text}",
            money(figure, Locale::PtBr)
        );
    }
    // Relaying again (an at-least-once redelivery) writes nothing more.
    services.events.relay_now().await.unwrap();
    assert_eq!(emails_since(&system, customer, before).len(), 3);
}
