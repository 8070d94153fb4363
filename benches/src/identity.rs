//! Valid and distinct identities for the set-up of the load benchmarks: plates, CPFs and
//! e-mails derived from a number, so thousands of registrations never collide on a unique
//! index and never fail validation. The documents are `actors`' samples, whose check digits
//! are the parsers' own.

use actors::domain::samples::{self, cards};
use serde_json::{Value, json};

pub use actors::domain::samples::plate;

/// A card the sandbox provider approves.
pub const APPROVED_CARD: &str = cards::VISA;

/// The password of every benchmark customer.
pub const PASSWORD: &str = "s3nha-segura-2026";

/// The e-mail (login) of benchmark customer `n`.
pub fn email(n: u32) -> String {
    format!("bench{n}@example.com")
}

/// The registration body of customer `n`: a CPF, CNH and mobile number of its own, and a card
/// the sandbox approves.
pub fn customer_body(n: u32) -> Value {
    let number = u64::from(n);
    json!({
        "name": "Maria da Silva",
        "cpf": samples::cpf(300_000_000 + number),
        "cnh": samples::cnh(300_000_000 + number),
        "email": email(n),
        "phone": samples::phone(number),
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
