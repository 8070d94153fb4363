//! Messages about a booking before and around its start: confirmed, the reminder, cancelled,
//! missed, and an unlock that did not open the car.

use chrono::{DateTime, Utc};

use super::format::{coordinates, local_hour, local_time, map_link, money, zone_note};
use super::{Body, Rendered, pick};
use crate::domain::{Cents, Locale};
use crate::events::Place;

/// What a confirmed booking tells the customer, as its event carries it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Booking<'a> {
    pub(crate) model: &'a str,
    pub(crate) plate: &'a str,
    pub(crate) place: Option<Place>,
    pub(crate) start_at: DateTime<Utc>,
    pub(crate) end_at: DateTime<Utc>,
    pub(crate) hold: Cents,
    pub(crate) hourly_rate: Cents,
}

impl Booking<'_> {
    fn car(&self) -> String {
        format!("{} ({})", self.model, self.plate)
    }

    fn window(&self, locale: Locale) -> String {
        let (start, end) = (
            local_time(self.start_at, locale),
            local_time(self.end_at, locale),
        );
        match locale {
            Locale::PtBr => format!("de {start} até {end}"),
            Locale::En => format!("from {start} to {end}"),
        }
    }

    /// The car, the window, and where the car is when that is known.
    fn describe(&self, locale: Locale, body: &mut Body) {
        let mut rows = vec![
            (pick(locale, "Carro", "Car"), self.car()),
            (pick(locale, "Período", "When"), self.window(locale)),
        ];
        if let Some(place) = self.place {
            rows.push((pick(locale, "Onde está", "Where it is"), coordinates(place)));
        }
        body.facts(&rows);
        if let Some(place) = self.place {
            body.link(
                pick(locale, "Ver no mapa", "Open the map"),
                &map_link(place),
            );
        }
    }
}

/// The car is booked and the hold placed.
pub(crate) fn confirmed(locale: Locale, name: &str, booking: &Booking<'_>) -> Rendered {
    let mut body = Body::greeting(locale, name);
    body.paragraph(pick(
        locale,
        "Sua reserva está confirmada.",
        "Your booking is confirmed.",
    ));
    booking.describe(locale, &mut body);
    body.facts(&[
        (pick(locale, "Valor por hora", "Hourly rate"), money(booking.hourly_rate, locale)),
        (pick(locale, "Pré-autorizado no cartão", "Held on your card"), money(booking.hold, locale)),
    ])
    .paragraph(pick(
        locale,
        "O valor pré-autorizado não é uma cobrança: ao devolver o carro cobramos o que foi usado e liberamos o resto. Você pode destravar o carro pelo app a partir de alguns minutos antes do início.",
        "The hold is not a charge: when you return the car we take what the rental cost and release the rest. You can unlock the car in the app from a few minutes before the start.",
    ))
    .paragraph(zone_note(locale));
    let subject = match locale {
        Locale::PtBr => format!("Reserva confirmada: {}", booking.car()),
        Locale::En => format!("Booking confirmed: {}", booking.car()),
    };
    body.finish(subject)
}

/// The booking starts soon.
pub(crate) fn reminder(locale: Locale, name: &str, booking: &Booking<'_>) -> Rendered {
    let hour = local_hour(booking.start_at);
    let mut body = Body::greeting(locale, name);
    body.paragraph(&match locale {
        Locale::PtBr => format!("Sua reserva começa às {hour}. O carro está esperando por você."),
        Locale::En => format!("Your booking starts at {hour}. The car is waiting for you."),
    });
    booking.describe(locale, &mut body);
    body.paragraph(pick(
        locale,
        "Destrave o carro pelo app quando chegar. Se não puder ir, cancele antes do início e o valor pré-autorizado é liberado.",
        "Unlock the car in the app when you get there. If you cannot make it, cancel before the start and the hold is released.",
    ))
    .paragraph(zone_note(locale));
    let subject = match locale {
        Locale::PtBr => format!("Sua reserva começa às {hour}: {}", booking.car()),
        Locale::En => format!("Your booking starts at {hour}: {}", booking.car()),
    };
    body.finish(subject)
}

/// The booking was cancelled and the hold released.
pub(crate) fn cancelled(locale: Locale, name: &str, by_admin: bool, released: Cents) -> Rendered {
    let mut body = Body::greeting(locale, name);
    body.paragraph(match (locale, by_admin) {
        (Locale::PtBr, false) => "Sua reserva foi cancelada, como você pediu.",
        (Locale::PtBr, true) => {
            "Nossa equipe cancelou sua reserva. Se tiver dúvidas, responda a este e-mail."
        }
        (Locale::En, false) => "Your booking is cancelled, as you asked.",
        (Locale::En, true) => {
            "Our team cancelled your booking. If you have questions, reply to this e-mail."
        }
    })
    .paragraph(&match locale {
        Locale::PtBr => format!(
            "Liberamos {} pré-autorizados no seu cartão; nada foi cobrado.",
            money(released, locale)
        ),
        Locale::En => format!(
            "We released the {} held on your card; nothing was charged.",
            money(released, locale)
        ),
    });
    body.finish(pick(locale, "Reserva cancelada", "Booking cancelled").to_owned())
}

/// The booking ended without the car being unlocked: the fee.
pub(crate) fn no_show(locale: Locale, name: &str, fee: Cents) -> Rendered {
    let mut body = Body::greeting(locale, name);
    body.paragraph(&match locale {
        Locale::PtBr => format!(
            "O período da sua reserva terminou sem que o carro fosse destravado. Cobramos a taxa de não comparecimento de {} e liberamos o restante do valor pré-autorizado.",
            money(fee, locale)
        ),
        Locale::En => format!(
            "Your booking ended without the car being unlocked. We charged the missed-booking fee of {} and released the rest of the hold.",
            money(fee, locale)
        ),
    })
    .paragraph(pick(
        locale,
        "Da próxima vez, se não puder ir, cancele antes do início: não há cobrança.",
        "Next time, if you cannot make it, cancel before the start: it costs nothing.",
    ));
    let subject = match locale {
        Locale::PtBr => format!("Reserva não utilizada: taxa de {}", money(fee, locale)),
        Locale::En => format!("Missed booking: {} fee", money(fee, locale)),
    };
    body.finish(subject)
}

/// An unlock that did not open the car, and what to do about it.
pub(crate) fn unlock_failed(locale: Locale, name: &str, reason: &str) -> Rendered {
    let mut body = Body::greeting(locale, name);
    body.paragraph(pick(
        locale,
        "Não conseguimos destravar o carro agora há pouco.",
        "We could not unlock the car a moment ago.",
    ))
    .paragraph(match (locale, reason) {
        (Locale::PtBr, "refused") => "O carro recusou o comando. Confira se está ao lado do carro certo e tente de novo pelo app; se recusar outra vez, fale com o suporte.",
        (Locale::En, "refused") => "The car refused the command. Check that you are next to the right car and try again in the app; if it refuses again, contact support.",
        (Locale::PtBr, "expired") => "O carro não respondeu a tempo, talvez por falta de sinal. Aproxime-se do carro, espere alguns segundos e tente de novo pelo app.",
        (Locale::En, "expired") => "The car did not answer in time, perhaps for lack of signal. Move close to the car, wait a few seconds and try again in the app.",
        (Locale::PtBr, _) => "Nosso serviço de comandos ficou indisponível por um momento. Tente de novo pelo app em instantes.",
        (Locale::En, _) => "Our command service was briefly unavailable. Try again in the app in a moment.",
    })
    .paragraph(pick(
        locale,
        "Sua reserva continua valendo e nada foi cobrado por esta tentativa.",
        "Your booking still stands and this attempt cost nothing.",
    ));
    body.finish(
        pick(
            locale,
            "Não conseguimos destravar o carro",
            "We could not unlock the car",
        )
        .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn booking(place: Option<Place>) -> Booking<'static> {
        let start_at = crate::testing::t0() + TimeDelta::hours(2);
        Booking {
            model: "BYD Dolphin",
            plate: "QHT1A23",
            place,
            start_at,
            end_at: start_at + TimeDelta::hours(3),
            hold: Cents::new(13_500),
            hourly_rate: Cents::new(4_500),
        }
    }

    #[test]
    fn a_confirmation_names_the_car_the_window_the_hold_and_where_the_car_is() {
        let place = Place {
            lat: -27.5954,
            lon: -48.548,
        };
        let pt = confirmed(Locale::PtBr, "Ana", &booking(Some(place)));
        assert_eq!(pt.subject, "Reserva confirmada: BYD Dolphin (QHT1A23)");
        assert!(
            pt.text
                .contains("Período: de 23/11/2026 09:00 até 23/11/2026 12:00"),
            "{}",
            pt.text
        );
        assert!(pt.text.contains("Pré-autorizado no cartão: R$ 135,00"));
        assert!(pt.text.contains("Valor por hora: R$ 45,00"));
        assert!(pt.text.contains("Onde está: -27.59540, -48.54800"));
        assert!(pt.text.contains("openstreetmap.org/?mlat=-27.59540"));
        assert!(pt.html.contains("mlat=-27.59540&amp;mlon"));

        let en = confirmed(Locale::En, "Ana", &booking(None));
        assert_eq!(en.subject, "Booking confirmed: BYD Dolphin (QHT1A23)");
        assert!(
            en.text
                .contains("from 23 Nov 2026, 09:00 to 23 Nov 2026, 12:00"),
            "{}",
            en.text
        );
        assert!(en.text.contains("Held on your card: R$135.00"));
        assert!(!en.text.contains("Where it is"), "no place, no map");
    }

    #[test]
    fn the_reminder_says_the_local_start_hour() {
        let pt = reminder(Locale::PtBr, "Ana", &booking(None));
        assert_eq!(
            pt.subject,
            "Sua reserva começa às 09:00: BYD Dolphin (QHT1A23)"
        );
        let en = reminder(Locale::En, "Ana", &booking(None));
        assert!(en.text.contains("Your booking starts at 09:00."));
    }

    #[test]
    fn a_cancellation_says_who_and_what_was_released() {
        let pt = cancelled(Locale::PtBr, "Ana", false, Cents::new(13_500));
        assert_eq!(pt.subject, "Reserva cancelada");
        assert!(pt.text.contains("Liberamos R$ 135,00"));
        let en = cancelled(Locale::En, "Ana", true, Cents::new(13_500));
        assert!(en.text.contains("Our team cancelled"));
        assert!(en.text.contains("released the R$135.00"));
    }

    #[test]
    fn a_no_show_names_its_fee() {
        assert_eq!(
            no_show(Locale::PtBr, "Ana", Cents::new(4_500)).subject,
            "Reserva não utilizada: taxa de R$ 45,00"
        );
        assert!(
            no_show(Locale::En, "Ana", Cents::new(4_500))
                .text
                .contains("fee of R$45.00")
        );
    }

    #[test]
    fn a_failed_unlock_says_what_to_do_for_each_reason() {
        let refused = unlock_failed(Locale::En, "Ana", "refused");
        assert!(refused.text.contains("refused the command"));
        let expired = unlock_failed(Locale::PtBr, "Ana", "expired");
        assert!(expired.text.contains("não respondeu a tempo"));
        assert_eq!(expired.subject, "Não conseguimos destravar o carro");
        assert!(
            unlock_failed(Locale::En, "Ana", "unavailable")
                .text
                .contains("briefly unavailable")
        );
    }
}
