//! The month and year printed on a payment card.

use chrono::{Datelike, NaiveDate};

use super::validation::InvalidField;

/// A card expiry date that had not yet passed when it was entered.
///
/// Card schemes treat "MM/YY" as valid through the last day of that month,
/// so a card expiring 05/2026 can still pay on 31 May 2026. Checking it on
/// entry spares the customer a payment that the acquirer would decline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CardExpiry {
    month: u32,
    year: i32,
}

impl CardExpiry {
    /// Validates an expiry against `today` (passed in, not read from the
    /// clock, so the rule is deterministic and testable).
    ///
    /// The year must have four digits: accepting "26" would force a guess at
    /// the century, which is the client's job, not the domain's.
    pub fn new(month: u32, year: i32, today: NaiveDate) -> Result<Self, InvalidField> {
        if !(1..=12).contains(&month) {
            return Err(InvalidField::new(
                "expiry_month",
                "expiry month must be between 1 and 12",
            ));
        }
        if !(1000..=9999).contains(&year) {
            return Err(InvalidField::new(
                "expiry_year",
                "expiry year must have four digits, e.g. 2030",
            ));
        }
        let expiry = Self { month, year };
        if expiry.is_expired_on(today) {
            return Err(InvalidField::new("card_expiry", "card has expired"));
        }
        Ok(expiry)
    }

    /// The expiry month, 1 to 12.
    pub fn month(&self) -> u32 {
        self.month
    }

    /// The four-digit expiry year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// Whether the card can no longer pay on `date`; a rental that outlives
    /// the card needs this check again when it is charged.
    pub fn is_expired_on(&self, date: NaiveDate) -> bool {
        (self.year, self.month) < (date.year(), date.month())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn this_month_is_valid_until_its_last_day() {
        let expiry = CardExpiry::new(5, 2026, date(2026, 5, 31)).expect("valid");
        assert_eq!((expiry.month(), expiry.year()), (5, 2026));
        assert!(CardExpiry::new(5, 2026, date(2026, 5, 1)).is_ok());
        assert!(!expiry.is_expired_on(date(2026, 5, 31)));
        assert!(expiry.is_expired_on(date(2026, 6, 1)));
    }

    #[test]
    fn last_month_is_expired() {
        let err = CardExpiry::new(4, 2026, date(2026, 5, 1)).expect_err("expired");
        assert_eq!(err.to_string(), "card_expiry: card has expired");
        assert!(CardExpiry::new(12, 2025, date(2026, 1, 15)).is_err());
        assert!(CardExpiry::new(1, 2027, date(2026, 12, 31)).is_ok());
    }

    #[test]
    fn month_and_year_ranges() {
        let today = date(2026, 5, 10);
        assert_eq!(
            CardExpiry::new(13, 2030, today).expect_err("13").field,
            "expiry_month"
        );
        assert_eq!(
            CardExpiry::new(0, 2030, today).expect_err("0").field,
            "expiry_month"
        );
        assert_eq!(
            CardExpiry::new(12, 30, today).expect_err("yy").field,
            "expiry_year"
        );
        assert_eq!(
            CardExpiry::new(12, 10000, today)
                .expect_err("5 digits")
                .field,
            "expiry_year"
        );
        assert!(CardExpiry::new(12, 9999, today).is_ok());
    }
}
