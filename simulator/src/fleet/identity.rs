//! Valid Brazilian identities for simulated people and cars: CPF and CNH with correct check
//! digits, mobile numbers, Mercosul plates, names without digits.
//!
//! Check digits are found by asking the services' own validators, so the simulator can never
//! disagree with the rules it exercises.

use actors::domain::{Cnh, Cpf};

/// Test cards of the sandbox payment provider.
pub mod cards {
    /// Visa, approves.
    pub const VISA: &str = "4111111111111111";
    /// Mastercard, approves.
    pub const MASTERCARD: &str = "5555555555554444";
    /// Every hold is declined.
    pub const DECLINED: &str = "4000000000000002";
    /// Every hold fails for insufficient funds.
    pub const INSUFFICIENT_FUNDS: &str = "4000000000009995";
}

/// The CPF whose first nine digits are `base` (mod 10⁹).
pub fn cpf(base: u64) -> String {
    with_check_digits(base % 1_000_000_000, |candidate| {
        Cpf::parse(candidate).is_ok()
    })
}

/// The CNH whose first nine digits are `base` (mod 10⁹).
pub fn cnh(base: u64) -> String {
    with_check_digits(base % 1_000_000_000, |candidate| {
        Cnh::parse(candidate).is_ok()
    })
}

/// Nine digits of `base` followed by the first two check digits `valid` accepts; a base the
/// rules refuse whatever its digits (all digits equal) is moved by one.
fn with_check_digits(base: u64, valid: impl Fn(&str) -> bool) -> String {
    for shift in 0..10 {
        let body = format!("{:09}", (base + shift) % 1_000_000_000);
        for check in 0..100 {
            let candidate = format!("{body}{check:02}");
            if valid(&candidate) {
                return candidate;
            }
        }
    }
    unreachable!("every nine-digit base but the repeated ones has check digits")
}

/// A mobile number in Florianópolis (area code 48).
pub fn phone(n: u64) -> String {
    let subscriber = n % 100_000_000;
    format!(
        "+55 48 9{:04}-{:04}",
        subscriber / 10_000,
        subscriber % 10_000
    )
}

/// A Mercosul plate (`ABC1D23`); distinct for `n` below 26³·10·26·100 (about 457 million).
pub fn plate(n: u64) -> String {
    const PLATES: u64 = 26 * 26 * 26 * 10 * 26 * 100;
    let mut rest = n % PLATES;
    let mut take = |radix: u64| {
        let digit = rest % radix;
        rest /= radix;
        digit as u8
    };
    let digits = take(100);
    let letter = take(26);
    let digit = take(10);
    let (c, b, a) = (take(26), take(26), take(26));
    format!(
        "{}{}{}{}{}{:02}",
        char::from(b'A' + a),
        char::from(b'A' + b),
        char::from(b'A' + c),
        digit,
        char::from(b'A' + letter),
        digits
    )
}

const GIVEN: [&str; 12] = [
    "Ana", "Bruno", "Carla", "Diego", "Eduarda", "Felipe", "Gabriela", "Heitor", "Isabela", "João",
    "Larissa", "Marcos",
];
const FAMILY: [&str; 10] = [
    "Silva",
    "Souza",
    "Oliveira",
    "Pereira",
    "Costa",
    "Rodrigues",
    "Almeida",
    "Nascimento",
    "Lima",
    "Ferreira",
];

/// A person's name, distinct for distinct `n` (names may not contain digits, so the number
/// is spelled in letters as a middle name).
pub fn name(n: u64) -> String {
    let given = GIVEN[(n % GIVEN.len() as u64) as usize];
    let family = FAMILY[(n / GIVEN.len() as u64 % FAMILY.len() as u64) as usize];
    format!("{given} {} {family}", letters(n))
}

fn letters(mut n: u64) -> String {
    let mut out = String::new();
    loop {
        out.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actors::domain::{MobilePhone, PersonName, Plate};
    use std::collections::HashSet;

    #[test]
    fn generated_documents_pass_the_services_validators() {
        for n in [0, 1, 42, 111_111_111, 999_999_999, 123_456_789_012] {
            assert!(Cpf::parse(&cpf(n)).is_ok(), "cpf {n}");
            assert!(Cnh::parse(&cnh(n)).is_ok(), "cnh {n}");
            assert!(MobilePhone::parse(&phone(n)).is_ok(), "phone {n}");
            assert!(Plate::parse(&plate(n)).is_ok(), "plate {n}: {}", plate(n));
            assert!(PersonName::parse(&name(n)).is_ok(), "name {n}");
        }
    }

    #[test]
    fn identities_are_distinct_per_number() {
        let plates: HashSet<String> = (0..20_000).map(plate).collect();
        assert_eq!(plates.len(), 20_000);
        // Bases with nine equal digits are moved to the next one, so customers' numbers start
        // above them (see `Person::of`).
        let cpfs: HashSet<String> = (100_000_000..100_020_000).map(cpf).collect();
        assert_eq!(cpfs.len(), 20_000);
        let cnhs: HashSet<String> = (300_000_000..300_020_000).map(cnh).collect();
        assert_eq!(cnhs.len(), 20_000);
        let names: HashSet<String> = (0..20_000).map(name).collect();
        assert_eq!(names.len(), 20_000);
    }
}
