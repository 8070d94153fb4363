//! Money as the system counts it: whole centavos of the Brazilian real.
//!
//! A type of its own so that an amount cannot be added to a count of minutes, multiplied by
//! another amount, or passed where a rate in another unit is expected. Arithmetic saturates
//! instead of wrapping: no sum of real rentals comes near `i64::MAX` centavos, and a
//! saturated figure is visibly wrong where a wrapped one would look like a refund.
//!
//! Serialised as the bare integer (`#[serde(transparent)]`): stored records and the API's
//! `*_cents` fields keep the form they had as plain integers.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Sub, SubAssign};

use serde::{Deserialize, Serialize};

/// An amount in centavos (BRL); may be negative only as a difference.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Cents(i64);

impl Cents {
    /// Nothing.
    pub const ZERO: Cents = Cents(0);

    /// `centavos` centavos.
    pub const fn new(centavos: i64) -> Cents {
        Cents(centavos)
    }

    /// The amount in centavos, for the wire and for the payment provider.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// Whether the amount is above zero.
    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// `count` times this amount (blocks of overtime, hours of a fee).
    pub const fn times(self, count: i64) -> Cents {
        Cents(self.0.saturating_mul(count))
    }

    /// This hourly rate over `minutes`, rounded up to the centavo: a fraction of a centavo is
    /// never lost in the operator's disfavour, nor charged twice.
    pub const fn per_hour_over(self, minutes: i64) -> Cents {
        Cents(self.0.saturating_mul(minutes).saturating_add(59) / 60)
    }
}

impl Add for Cents {
    type Output = Cents;

    fn add(self, other: Cents) -> Cents {
        Cents(self.0.saturating_add(other.0))
    }
}

impl AddAssign for Cents {
    fn add_assign(&mut self, other: Cents) {
        *self = *self + other;
    }
}

impl Sub for Cents {
    type Output = Cents;

    fn sub(self, other: Cents) -> Cents {
        Cents(self.0.saturating_sub(other.0))
    }
}

impl SubAssign for Cents {
    fn sub_assign(&mut self, other: Cents) {
        *self = *self - other;
    }
}

impl Sum for Cents {
    fn sum<I: Iterator<Item = Cents>>(amounts: I) -> Cents {
        amounts.fold(Cents::ZERO, Add::add)
    }
}

/// `R$ 1234,56`, as a Brazilian reads an amount (for logs and messages; the API sends
/// integers).
impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}R$ {},{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pro_rata_rounds_up_to_the_centavo() {
        assert_eq!(Cents::new(3_000).per_hour_over(120), Cents::new(6_000));
        assert_eq!(Cents::new(1_001).per_hour_over(121), Cents::new(2_019));
        assert_eq!(Cents::new(1_000).per_hour_over(0), Cents::ZERO);
    }

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(Cents::new(i64::MAX) + Cents::new(1), Cents::new(i64::MAX));
        assert_eq!(Cents::new(i64::MIN) - Cents::new(1), Cents::new(i64::MIN));
        assert_eq!(Cents::new(i64::MAX).times(2), Cents::new(i64::MAX));
        let total: Cents = [1, 2, 3].into_iter().map(Cents::new).sum();
        assert_eq!(total, Cents::new(6));
    }

    #[test]
    fn reads_like_reais_and_is_stored_as_the_bare_integer() {
        assert_eq!(Cents::new(123_456).to_string(), "R$ 1234,56");
        assert_eq!(Cents::new(-5).to_string(), "-R$ 0,05");
        let stored = storage::codec::encode(&Cents::new(700)).unwrap();
        let plain = storage::codec::encode(&700_i64).unwrap();
        assert_eq!(stored, plain, "stored records keep their layout");
        assert_eq!(
            storage::codec::decode::<Cents>(&plain).unwrap(),
            Cents::new(700)
        );
    }
}
