//! How values read in a message: amounts, times and places in the customer's language, and
//! every value escaped before it enters an HTML body.

use chrono::{DateTime, FixedOffset, Utc};

use crate::domain::{Cents, Locale};
use crate::events::Place;

/// Florianópolis is three hours behind UTC all year: Brazil has kept no daylight saving time
/// since 2019, so a fixed offset is exact and needs no time-zone database.
const FLORIANOPOLIS: FixedOffset = match FixedOffset::east_opt(-3 * 3600) {
    Some(offset) => offset,
    None => panic!("three hours is a valid offset"),
};

/// `R$ 1.234,56` in Portuguese, `R$1,234.56` in English (the symbol stays the real's).
pub(crate) fn money(amount: Cents, locale: Locale) -> String {
    let cents = amount.get();
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let (units, fraction) = (cents / 100, cents % 100);
    let (group, decimal, symbol) = match locale {
        Locale::PtBr => ('.', ',', "R$ "),
        Locale::En => (',', '.', "R$"),
    };
    let digits = units.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(digit);
    }
    format!("{sign}{symbol}{grouped}{decimal}{fraction:02}")
}

/// `at` on the clocks of Florianópolis: `02/12/2026 07:00` or `2 Dec 2026, 07:00`.
pub(crate) fn local_time(at: DateTime<Utc>, locale: Locale) -> String {
    let local = at.with_timezone(&FLORIANOPOLIS);
    match locale {
        Locale::PtBr => local.format("%d/%m/%Y %H:%M").to_string(),
        Locale::En => local.format("%-d %b %Y, %H:%M").to_string(),
    }
}

/// The hour and minute of `at` in Florianópolis: `07:00`.
pub(crate) fn local_hour(at: DateTime<Utc>) -> String {
    at.with_timezone(&FLORIANOPOLIS).format("%H:%M").to_string()
}

/// The line that says which clock the times of a message follow.
pub(crate) fn zone_note(locale: Locale) -> &'static str {
    match locale {
        Locale::PtBr => "Horários de Florianópolis (UTC−03:00).",
        Locale::En => "Times are Florianópolis time (UTC−03:00).",
    }
}

/// A place as coordinates a person can paste into a map: `-27.59700, -48.54900`.
pub(crate) fn coordinates(place: Place) -> String {
    format!("{:.5}, {:.5}", place.lat, place.lon)
}

/// A link that opens a map on `place`.
pub(crate) fn map_link(place: Place) -> String {
    format!(
        "https://www.openstreetmap.org/?mlat={lat:.5}&mlon={lon:.5}#map=18/{lat:.5}/{lon:.5}",
        lat = place.lat,
        lon = place.lon
    )
}

/// `text` safe inside HTML text and inside a quoted attribute.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn amounts_are_written_the_way_each_language_writes_reais() {
        let cases = [
            (123_456, "R$ 1.234,56", "R$1,234.56"),
            (5, "R$ 0,05", "R$0.05"),
            (0, "R$ 0,00", "R$0.00"),
            (100_000_000, "R$ 1.000.000,00", "R$1,000,000.00"),
            (99_999, "R$ 999,99", "R$999.99"),
            (-1_050, "-R$ 10,50", "-R$10.50"),
        ];
        for (cents, pt, en) in cases {
            assert_eq!(money(Cents::new(cents), Locale::PtBr), pt);
            assert_eq!(money(Cents::new(cents), Locale::En), en);
        }
    }

    #[test]
    fn times_are_florianopolis_time_three_hours_behind_utc_in_summer_and_winter() {
        let summer = at("2026-12-02T10:00:00Z");
        assert_eq!(local_time(summer, Locale::PtBr), "02/12/2026 07:00");
        assert_eq!(local_time(summer, Locale::En), "2 Dec 2026, 07:00");
        let winter = at("2026-07-01T02:30:00Z");
        assert_eq!(local_time(winter, Locale::PtBr), "30/06/2026 23:30");
        assert_eq!(local_hour(winter), "23:30");
    }

    #[test]
    fn every_character_that_means_something_in_html_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("Florianópolis"), "Florianópolis");
    }

    #[test]
    fn a_place_reads_as_coordinates_and_opens_a_map() {
        let place = Place {
            lat: -27.597,
            lon: -48.549,
        };
        assert_eq!(coordinates(place), "-27.59700, -48.54900");
        assert!(map_link(place).contains("mlat=-27.59700&mlon=-48.54900"));
    }
}
