//! Amounts between the port's integer centavos and Mercado Pago's decimal reais.
//!
//! Mercado Pago takes and answers `transaction_amount` and `amount` as JSON numbers in BRL
//! (`12.34`). The value sent is built from the integer centavos as the decimal text
//! `"<reais>.<centavos>"` and only then read as a double: the nearest double to a decimal of
//! at most 15 significant digits prints back (shortest round-trip form, as `serde_json`
//! writes it) as that same decimal, so `1234` is sent as `12.34`, never `12.339999…`. The
//! tests read every amount sent back as a decimal and require the exact centavos.

use serde_json::{Number, Value};

/// Largest amount sent: 10^13 centavos keeps every amount within 15 significant digits.
const MAX_CENTS: i64 = 10_000_000_000_000;

/// The decimal text of `cents` in reais (`1234` → `"12.34"`, `5` → `"0.05"`).
fn decimal(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The JSON number of `cents` in reais, if it is positive and not absurdly large.
pub(crate) fn to_json(cents: i64) -> Option<Value> {
    if cents <= 0 || cents > MAX_CENTS {
        return None;
    }
    let reais: f64 = decimal(cents).parse().ok()?;
    Number::from_f64(reais).map(Value::Number)
}

/// The centavos of a JSON number of reais, if it is a non-negative whole number of centavos
/// (the check that what is sent reads back as the amount meant, and how the amounts of a
/// payment read from Mercado Pago are taken).
pub(crate) fn from_json(value: &Value) -> Option<i64> {
    let Value::Number(number) = value else {
        return None;
    };
    let text = match number.as_u64() {
        Some(whole) => whole.to_string(),
        None => format!("{}", number.as_f64()?),
    };
    parse_decimal(&text)
}

/// The centavos of a decimal text of reais with at most two decimal places.
fn parse_decimal(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if fraction.len() > 2 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let reais: i64 = whole.parse().ok()?;
    let cents: i64 = format!("{fraction:0<2}").parse().ok()?;
    reais.checked_mul(100)?.checked_add(cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_amount_up_to_ten_thousand_reais_is_sent_as_its_exact_decimal() {
        for cents in 1..=1_000_000 {
            let value = to_json(cents).expect("a positive amount");
            let written = serde_json::to_string(&value).expect("a number serializes");
            assert_eq!(
                parse_decimal(&written),
                Some(cents),
                "{cents} was written {written}"
            );
            assert_eq!(from_json(&value), Some(cents));
        }
    }

    #[test]
    fn large_amounts_keep_their_centavos() {
        for cents in [MAX_CENTS, MAX_CENTS - 1, 999_999_999_999, 123_456_789_012] {
            let written = serde_json::to_string(&to_json(cents).expect("in range")).expect("json");
            assert_eq!(parse_decimal(&written), Some(cents), "{written}");
        }
    }

    #[test]
    fn zero_negative_and_absurd_amounts_are_not_sent() {
        assert_eq!(to_json(0), None);
        assert_eq!(to_json(-100), None);
        assert_eq!(to_json(MAX_CENTS + 1), None);
    }

    #[test]
    fn answers_in_whole_reais_or_centavos_are_read_and_fractions_of_centavos_refused() {
        assert_eq!(from_json(&serde_json::json!(12)), Some(1200));
        assert_eq!(from_json(&serde_json::json!(12.3)), Some(1230));
        assert_eq!(from_json(&serde_json::json!(0.05)), Some(5));
        assert_eq!(from_json(&serde_json::json!(12.345)), None);
        assert_eq!(from_json(&serde_json::json!(-1.0)), None);
        assert_eq!(from_json(&serde_json::json!("12.34")), None);
    }
}
