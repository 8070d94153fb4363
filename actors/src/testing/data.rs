//! Registrations that pass every rule, derived from a number so that tests can register as many
//! distinct customers and cars as they need without colliding on a unique CPF, e-mail or plate.

use crate::customers::{CardInput, NewCustomer};
use crate::domain::samples;
use crate::vehicles::NewVehicle;

/// The password of every test customer.
pub const PASSWORD: &str = "s3nha-segura";

/// Customer `n`: a CPF, CNH, e-mail and phone of their own, paying with the sandbox card `card`
/// (see [`samples::cards`]). Change a field for a test about that field.
pub fn new_customer(n: u32, card: &str) -> NewCustomer {
    let n = u64::from(n);
    NewCustomer {
        name: samples::name(n),
        cpf: samples::cpf(100_000_000 + n),
        cnh: samples::cnh(300_000_000 + n),
        email: samples::email(n),
        phone: samples::phone(n),
        password: PASSWORD.into(),
        card: CardInput {
            number: card.into(),
            exp_month: 12,
            exp_year: 2030,
            cvc: "123".into(),
            holder_name: format!("CLIENTE {n}"),
        }
        .into(),
        locale: None,
    }
}

/// Car `n`, a BYD Dolphin with a Mercosul plate of its own, rented at `rate_cents` an hour.
pub fn new_vehicle(n: u32, rate_cents: i64) -> NewVehicle {
    NewVehicle {
        plate: samples::plate(u64::from(n)),
        model: "BYD Dolphin".into(),
        year: 2025,
        hourly_rate_cents: rate_cents,
        battery_kwh: Some(44.9),
        range_km: Some(291.0),
        color: Some("white".into()),
    }
}
