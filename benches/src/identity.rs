//! Valid and distinct identities for the set-up of the load benchmarks: plates, CPFs and
//! e-mails derived from a number, so thousands of registrations never collide on a unique
//! index and never fail validation. Plates and CPFs are the simulator's generators, which ask
//! the services' own validators for the check digits.

use serde_json::{Value, json};

use simulator::fleet::identity::cards;
pub use simulator::fleet::identity::{cpf, plate};

/// A card the sandbox provider approves.
pub const APPROVED_CARD: &str = cards::VISA;

/// The password of every benchmark customer.
pub const PASSWORD: &str = "s3nha-segura-2026";

/// The e-mail (login) of benchmark customer `n`.
pub fn email(n: u32) -> String {
    format!("bench{n}@example.com")
}

/// The registration body of customer `n`: a CPF of its own, a valid CNH and mobile number,
/// and a card the sandbox approves.
pub fn customer_body(n: u32) -> Value {
    json!({
        "name": "Maria da Silva",
        "cpf": cpf(300_000_000 + u64::from(n)),
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
    json!({"plate": plate(u64::from(n)), "model": "BYD Dolphin", "year": 2025, "hourly_rate_cents": 3_000})
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
