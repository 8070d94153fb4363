//! Valid and distinct identities for the set-up of the load benchmarks: plates, CPFs and
//! e-mails derived from a number, so thousands of registrations never collide on a unique
//! index and never fail validation.

use serde_json::{Value, json};

/// A card the sandbox provider approves (see `actors::billing::sandbox`).
pub const APPROVED_CARD: &str = "4111111111111111";

/// The password of every benchmark customer.
pub const PASSWORD: &str = "s3nha-segura-2026";

/// A Mercosul plate (`ABC1D23`) unique to `n`, for n below 26³ · 10 · 26 · 100 (about 457 M).
pub fn plate(n: u32) -> String {
    let letter = |k: u32| char::from(b'A' + (k % 26) as u8);
    let head = n / 26_000;
    format!(
        "{}{}{}{}{}{:02}",
        letter(head / 676),
        letter(head / 26),
        letter(head),
        n / 2_600 % 10,
        letter(n / 100),
        n % 100
    )
}

/// The CPF whose first nine digits are `base`, with its two check digits.
pub fn cpf(base: u32) -> String {
    let mut digits: Vec<u32> = format!("{base:09}")
        .bytes()
        .map(|byte| u32::from(byte - b'0'))
        .collect();
    for length in [9u32, 10] {
        let sum: u32 = digits
            .iter()
            .zip((2..=length + 1).rev())
            .map(|(digit, weight)| digit * weight)
            .sum();
        digits.push(sum * 10 % 11 % 10);
    }
    digits
        .iter()
        .map(|digit| char::from_digit(*digit, 10).expect("digit"))
        .collect()
}

/// The e-mail (login) of benchmark customer `n`.
pub fn email(n: u32) -> String {
    format!("bench{n}@example.com")
}

/// The registration body of customer `n`: a CPF of its own, a valid CNH and mobile number,
/// and a card the sandbox approves.
pub fn customer_body(n: u32) -> Value {
    json!({
        "name": "Maria da Silva",
        "cpf": cpf(300_000_000 + n),
        "cnh": "79143829831",
        "email": email(n),
        "phone": "+55 48 99999-1234",
        "password": PASSWORD,
        "card": {
            "number": APPROVED_CARD,
            "exp_month": 12,
            "exp_year": 2030,
            "cvc": "123",
            "holder_name": "MARIA DA SILVA"
        }
    })
}

/// The registration body of car `n`.
pub fn vehicle_body(n: u32) -> Value {
    json!({"plate": plate(n), "model": "BYD Dolphin", "year": 2025, "hourly_rate_cents": 3_000})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plates_are_mercosul_and_distinct() {
        let plates: std::collections::HashSet<String> = (0..200_000).map(plate).collect();
        assert_eq!(plates.len(), 200_000);
        for n in [0, 99_999, 199_999] {
            actors::domain::Plate::parse(&plate(n)).expect("valid plate");
        }
    }

    #[test]
    fn cpfs_have_valid_check_digits() {
        assert_eq!(cpf(529_982_247), "52998224725");
        for n in 0..100 {
            actors::domain::Cpf::parse(&cpf(300_000_000 + n)).expect("valid CPF");
        }
    }
}
