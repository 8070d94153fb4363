//! What a domain event asks of the notifications service, decided without a runtime: which
//! e-mail to write to whom (and not before when), which pending message to withdraw, whose
//! messages to erase. The subscriber carries these out; the operator webhook of every public
//! event is not decided here (it needs no more than the event).

use chrono::{DateTime, TimeDelta, Utc};

use super::templates::booking::Booking;
use super::templates::receipt::Ending;
use super::templates::{Rendered, account, booking, receipt};
use crate::domain::{Cents, Locale};
use crate::events::{DomainEvent, EventData};
use crate::ids::{CustomerId, ReservationId};

/// One thing to do for an event.
#[derive(Debug, Clone)]
pub(crate) enum Intent<'a> {
    /// Delete every message written to the customer.
    Erase(CustomerId),
    /// Withdraw the pending e-mail under this key.
    Withdraw(String),
    /// Queue an e-mail.
    Mail(MailIntent<'a>),
}

/// An e-mail to queue once the customer's contact is known.
#[derive(Debug, Clone)]
pub(crate) struct MailIntent<'a> {
    /// The deduplication key (derived from the event, or from the reservation for its
    /// reminder, which a later event must be able to withdraw).
    pub(crate) key: String,
    pub(crate) customer: CustomerId,
    /// Written to the address waiting for confirmation rather than the confirmed one.
    pub(crate) to_new_address: bool,
    pub(crate) not_before: Option<DateTime<Utc>>,
    pub(crate) mail: Mail<'a>,
}

/// Which message, with the event's figures.
#[derive(Debug, Clone)]
pub(crate) enum Mail<'a> {
    Confirmation {
        code: &'a str,
        expires_at: DateTime<Utc>,
        address_change: bool,
    },
    Confirmed(Booking<'a>),
    Reminder(Booking<'a>),
    Cancelled {
        by_admin: bool,
        released: Cents,
    },
    NoShow {
        fee: Cents,
    },
    UnlockFailed {
        reason: &'a str,
    },
    Receipt(Ending<'a>),
    Balance {
        amount: Cents,
        owed: Cents,
    },
    Refund {
        amount: Cents,
    },
}

/// The key of a reservation's reminder: the confirmation queues it, a cancellation withdraws it.
pub(crate) fn reminder_key(reservation: ReservationId) -> String {
    format!("reminder:{reservation}")
}

/// What `event` asks for at `now`, with reminders `reminder_before` the start (`None`: none).
pub(crate) fn intents<'a>(
    event: &'a DomainEvent,
    now: DateTime<Utc>,
    reminder_before: Option<TimeDelta>,
) -> Vec<Intent<'a>> {
    let Some(customer) = event.subjects.customer_id else {
        return Vec::new();
    };
    let mail = |mail: Mail<'a>| MailIntent {
        key: event.id.to_string(),
        customer,
        to_new_address: false,
        not_before: None,
        mail,
    };
    let reservation = event.subjects.reservation_id;
    match &event.data {
        EventData::CustomerErased => vec![Intent::Erase(customer)],
        EventData::ConfirmationRequested {
            code,
            expires_at,
            address_change,
        } => vec![Intent::Mail(MailIntent {
            to_new_address: *address_change,
            ..mail(Mail::Confirmation {
                code,
                expires_at: *expires_at,
                address_change: *address_change,
            })
        })],
        EventData::ReservationConfirmed {
            plate,
            model,
            place,
            start_at,
            end_at,
            hold_cents,
            hourly_rate_cents,
        } => {
            let booking = Booking {
                model,
                plate,
                place: *place,
                start_at: *start_at,
                end_at: *end_at,
                hold: *hold_cents,
                hourly_rate: *hourly_rate_cents,
            };
            let mut intents = vec![Intent::Mail(mail(Mail::Confirmed(booking)))];
            let due = reminder_before.map(|before| *start_at - before);
            if let (Some(reservation), Some(due)) = (reservation, due)
                && due > now
            {
                intents.push(Intent::Mail(MailIntent {
                    key: reminder_key(reservation),
                    not_before: Some(due),
                    ..mail(Mail::Reminder(booking))
                }));
            }
            intents
        }
        EventData::ReservationCancelled { by, released_cents } => {
            let mut intents = Vec::new();
            if let Some(reservation) = reservation {
                intents.push(Intent::Withdraw(reminder_key(reservation)));
            }
            intents.push(Intent::Mail(mail(Mail::Cancelled {
                by_admin: by == "admin",
                released: *released_cents,
            })));
            intents
        }
        EventData::ReservationNoShow { fee_cents } => {
            vec![Intent::Mail(mail(Mail::NoShow { fee: *fee_cents }))]
        }
        EventData::UnlockFailed { reason } => {
            vec![Intent::Mail(mail(Mail::UnlockFailed { reason }))]
        }
        EventData::RentalEnded {
            ended_by,
            released_at,
            end_at,
            hold_cents,
            total_cents,
            overtime_cents,
            outstanding_cents,
            settlement_pending,
        } => vec![Intent::Mail(mail(Mail::Receipt(Ending {
            ended_by,
            released_at: *released_at,
            end_at: *end_at,
            hold: *hold_cents,
            total: *total_cents,
            overtime: *overtime_cents,
            outstanding: *outstanding_cents,
            settlement_pending: *settlement_pending,
        })))],
        EventData::BalanceOutstanding {
            amount_cents,
            owed_cents,
        } => vec![Intent::Mail(mail(Mail::Balance {
            amount: *amount_cents,
            owed: *owed_cents,
        }))],
        EventData::ChargeRefunded { amount_cents } => {
            vec![Intent::Mail(mail(Mail::Refund {
                amount: *amount_cents,
            }))]
        }
        // The rest is for operators (webhooks) and reports: the customer already knows (they
        // did it in the app) or it is a step inside something they will hear of as a whole.
        EventData::CustomerRegistered { .. }
        | EventData::EmailConfirmed
        | EventData::BalancePaid { .. }
        | EventData::VehicleRegistered { .. }
        | EventData::VehicleRetired
        | EventData::VehicleMoved { .. }
        | EventData::ReservationRejected { .. }
        | EventData::ReservationExtended { .. }
        | EventData::RentalStarted { .. }
        | EventData::CommandSent { .. }
        | EventData::CommandAcknowledged { .. }
        | EventData::CommandRefused { .. }
        | EventData::CommandExpired { .. }
        | EventData::ChargeHeld { .. }
        | EventData::ChargeCaptured { .. }
        | EventData::ChargeVoided { .. }
        | EventData::ChargeRefused { .. } => Vec::new(),
    }
}

/// The message `mail` in `locale`, greeting `name`; links start at `base_url`.
pub(crate) fn render(mail: &Mail<'_>, locale: Locale, name: &str, base_url: &str) -> Rendered {
    match mail {
        Mail::Confirmation {
            code,
            expires_at,
            address_change,
        } => {
            let link = format!("{base_url}/confirm-email?code={code}");
            account::confirmation(locale, name, code, &link, *expires_at, *address_change)
        }
        Mail::Confirmed(booking) => booking::confirmed(locale, name, booking),
        Mail::Reminder(booking) => booking::reminder(locale, name, booking),
        Mail::Cancelled { by_admin, released } => {
            booking::cancelled(locale, name, *by_admin, *released)
        }
        Mail::NoShow { fee } => booking::no_show(locale, name, *fee),
        Mail::UnlockFailed { reason } => booking::unlock_failed(locale, name, reason),
        Mail::Receipt(ending) => receipt::receipt(locale, name, ending),
        Mail::Balance { amount, owed } => {
            account::balance_outstanding(locale, name, *amount, *owed)
        }
        Mail::Refund { amount } => account::refund(locale, name, *amount),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Subjects;
    use crate::ids::VehicleId;

    fn now() -> DateTime<Utc> {
        crate::testing::t0()
    }

    fn confirmed(start_in: TimeDelta) -> (DomainEvent, ReservationId) {
        let reservation = ReservationId::new();
        let start_at = now() + start_in;
        let event = DomainEvent::new(
            "reservations",
            now(),
            Subjects::reservation(reservation, CustomerId::new(), VehicleId::new()),
            EventData::ReservationConfirmed {
                plate: "QHT1A23".into(),
                model: "BYD Dolphin".into(),
                place: None,
                start_at,
                end_at: start_at + TimeDelta::hours(2),
                hold_cents: Cents::new(9_000),
                hourly_rate_cents: Cents::new(4_500),
            },
        );
        (event, reservation)
    }

    #[test]
    fn a_booking_queues_its_confirmation_and_a_reminder_before_the_start() {
        let (event, reservation) = confirmed(TimeDelta::hours(2));
        let intents = intents(&event, now(), Some(TimeDelta::minutes(30)));
        let mails: Vec<&MailIntent<'_>> = intents
            .iter()
            .filter_map(|intent| match intent {
                Intent::Mail(mail) => Some(mail),
                _ => None,
            })
            .collect();
        assert_eq!(mails.len(), 2);
        assert_eq!(mails[0].key, event.id.to_string());
        assert_eq!(mails[0].not_before, None);
        assert_eq!(mails[1].key, reminder_key(reservation));
        assert_eq!(mails[1].not_before, Some(now() + TimeDelta::minutes(90)));
    }

    #[test]
    fn no_reminder_when_its_time_has_passed_or_reminders_are_off() {
        let (soon, _) = confirmed(TimeDelta::minutes(20));
        assert_eq!(intents(&soon, now(), Some(TimeDelta::minutes(30))).len(), 1);
        let (later, _) = confirmed(TimeDelta::hours(3));
        assert_eq!(intents(&later, now(), None).len(), 1);
    }

    #[test]
    fn a_cancellation_withdraws_the_reminder_and_an_erasure_erases() {
        let reservation = ReservationId::new();
        let customer = CustomerId::new();
        let event = DomainEvent::new(
            "reservations",
            now(),
            Subjects::reservation(reservation, customer, VehicleId::new()),
            EventData::ReservationCancelled {
                by: "customer".into(),
                released_cents: Cents::new(9_000),
            },
        );
        let intents_of = intents(&event, now(), None);
        assert!(
            matches!(&intents_of[0], Intent::Withdraw(key) if *key == reminder_key(reservation))
        );
        assert!(matches!(&intents_of[1], Intent::Mail(_)));

        let erased = DomainEvent::new(
            "customers",
            now(),
            Subjects::customer(customer),
            EventData::CustomerErased,
        );
        assert!(matches!(intents(&erased, now(), None)[..], [Intent::Erase(id)] if id == customer));
    }

    #[test]
    fn a_confirmation_code_goes_to_the_address_being_confirmed_with_its_link() {
        let event = DomainEvent::new(
            "customers",
            now(),
            Subjects::customer(CustomerId::new()),
            EventData::ConfirmationRequested {
                code: "042917".into(),
                expires_at: now() + TimeDelta::minutes(30),
                address_change: true,
            },
        );
        let found = intents(&event, now(), None);
        let [Intent::Mail(mail)] = &found[..] else {
            panic!("{found:?}");
        };
        assert!(mail.to_new_address);
        let rendered = render(&mail.mail, Locale::En, "Ana", "https://app.test");
        assert!(
            rendered
                .text
                .contains("https://app.test/confirm-email?code=042917")
        );
    }

    #[test]
    fn events_without_a_customer_or_for_operators_only_ask_nothing() {
        let retired = DomainEvent::new(
            "vehicles",
            now(),
            Subjects::vehicle(VehicleId::new()),
            EventData::VehicleRetired,
        );
        assert!(intents(&retired, now(), Some(TimeDelta::minutes(30))).is_empty());
        let refund_without_customer = DomainEvent::new(
            "billing",
            now(),
            Subjects::default(),
            EventData::ChargeRefunded {
                amount_cents: Cents::new(100),
            },
        );
        assert!(intents(&refund_without_customer, now(), None).is_empty());
    }
}
