//! Valid Brazilian documents, plates and contacts derived from a number: the test data of the
//! crates' tests, the simulator's fleet and the benchmarks' set-up.
//!
//! They live here, outside any feature, because the simulator registers thousands of people and
//! cars in its release build. Check digits come from the same functions the parsers verify them
//! with, so a sample can never disagree with the rules it is meant to pass, and no check-digit
//! algorithm is written a second time anywhere else.

use super::validation::{all_equal, digits_to_string};
use super::{cnh, cpf};

/// How many nine-digit bases there are.
const BASES: u64 = 1_000_000_000;

/// The CPF whose first nine digits are `base` (mod 10⁹), followed by its check digits.
///
/// The few bases whose CPF would be eleven equal digits, which the rules refuse, give the CPF
/// of the next base instead.
pub fn cpf(base: u64) -> String {
    with_check_digits(base, cpf::check_digits)
}

/// The CNH whose first nine digits are `base` (mod 10⁹), followed by its check digits; like
/// [`cpf`], a base the rules refuse whatever its digits gives the next one's.
pub fn cnh(base: u64) -> String {
    with_check_digits(base, cnh::check_digits)
}

fn with_check_digits(base: u64, check_digits: fn(&[u8]) -> [u8; 2]) -> String {
    let mut base = base % BASES;
    loop {
        let mut digits: Vec<u8> = format!("{base:09}").bytes().map(|b| b - b'0').collect();
        let check = check_digits(&digits);
        digits.extend(check);
        if !all_equal(&digits) {
            return digits_to_string(&digits);
        }
        base = (base + 1) % BASES;
    }
}

/// How many Mercosul plates there are: three letters, a digit, a letter, two digits.
const MERCOSUL_PLATES: u64 = 26 * 26 * 26 * 10 * 26 * 100;

/// How many old grey plates there are: three letters, four digits.
const OLD_PLATES: u64 = 26 * 26 * 26 * 10_000;

/// A Mercosul-layout plate (`ABC1D23`); distinct for `n` below 26⁴·10³ (about 457 million).
pub fn plate(n: u64) -> String {
    let mut rest = n % MERCOSUL_PLATES;
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
        letter_of(a),
        letter_of(b),
        letter_of(c),
        digit,
        letter_of(letter),
        digits
    )
}

/// An old-layout grey plate (`ABC1234`), as the cars registered before 2018 still carry;
/// distinct for `n` below 26³·10⁴ (about 176 million).
pub fn old_plate(n: u64) -> String {
    let rest = n % OLD_PLATES;
    let (letters, digits) = (rest / 10_000, rest % 10_000);
    format!(
        "{}{}{}{digits:04}",
        letter_of((letters / 676) as u8),
        letter_of((letters / 26 % 26) as u8),
        letter_of((letters % 26) as u8),
    )
}

fn letter_of(index: u8) -> char {
    char::from(b'A' + index % 26)
}

/// A mobile number in Florianópolis (area code 48), distinct for `n` below 10⁸.
pub fn phone(n: u64) -> String {
    let subscriber = n % 100_000_000;
    format!(
        "+55 48 9{:04}-{:04}",
        subscriber / 10_000,
        subscriber % 10_000
    )
}

/// The e-mail address of customer `n`.
pub fn email(n: u64) -> String {
    format!("cliente{n}@example.com")
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

/// A person's name, distinct for distinct `n`: names may not contain digits, so the number is
/// spelled in letters as a middle name.
pub fn name(n: u64) -> String {
    let given = GIVEN[(n % GIVEN.len() as u64) as usize];
    let family = FAMILY[(n / GIVEN.len() as u64 % FAMILY.len() as u64) as usize];
    format!("{given} {} {family}", letters(n))
}

fn letters(mut n: u64) -> String {
    let mut out = String::new();
    loop {
        out.push(letter_of((n % 26) as u8));
        n /= 26;
        if n == 0 {
            return out;
        }
    }
}

/// Card numbers whose answers the sandbox payment provider fixes.
pub mod cards {
    /// Visa, approves.
    pub const VISA: &str = "4111111111111111";
    /// Mastercard, approves.
    pub const MASTERCARD: &str = "5555555555554444";
    /// Every hold is declined.
    pub const DECLINED: &str = crate::billing::DECLINED_CARD;
    /// Every hold fails for insufficient funds.
    pub const INSUFFICIENT_FUNDS: &str = crate::billing::INSUFFICIENT_FUNDS_CARD;
    /// Holds succeed; direct charges (sales) are declined.
    pub const HOLDS_ONLY: &str = crate::billing::HOLDS_ONLY_CARD;
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::domain::{Cnh, Cpf, MobilePhone, PersonName, Plate};

    /// Small, large, wrapping and all-equal numbers.
    const NUMBERS: [u64; 8] = [0, 1, 42, 99_999, 199_999, 111_111_111, 999_999_999, 1 << 40];

    #[test]
    fn samples_pass_the_parsers() {
        for n in NUMBERS {
            assert!(Cpf::parse(&cpf(n)).is_ok(), "cpf {n}");
            assert!(Cnh::parse(&cnh(n)).is_ok(), "cnh {n}");
            assert!(MobilePhone::parse(&phone(n)).is_ok(), "phone {n}");
            assert!(PersonName::parse(&name(n)).is_ok(), "name {n}");
            let mercosul = Plate::parse(&plate(n)).expect("Mercosul plate");
            assert!(mercosul.is_mercosul(), "{mercosul:?}");
            let old = Plate::parse(&old_plate(n)).expect("old plate");
            assert!(!old.is_mercosul(), "{old:?}");
        }
    }

    #[test]
    fn documents_keep_their_base_and_skip_the_refused_ones() {
        assert_eq!(cpf(529_982_247), "52998224725");
        assert_eq!(cnh(791_438_298), "79143829831");
        // 111.111.111-11 passes the mod-11 checks but is refused: the next base is used.
        assert_eq!(&cpf(111_111_111)[..9], "111111112");
        assert_eq!(&cpf(0)[..9], "000000001");
        for n in 0..1_000 {
            for base in [100_000_000, 200_000_000, 300_000_000] {
                assert!(Cpf::parse(&cpf(base + n)).is_ok(), "cpf {}", base + n);
                assert!(Cnh::parse(&cnh(base + n)).is_ok(), "cnh {}", base + n);
            }
        }
    }

    #[test]
    fn samples_are_distinct_per_number() {
        let plates: HashSet<String> = (0..200_000).map(plate).collect();
        assert_eq!(plates.len(), 200_000);
        let old: HashSet<String> = (0..20_000).map(old_plate).collect();
        assert_eq!(old.len(), 20_000);
        let cpfs: HashSet<String> = (100_000_000..100_020_000).map(cpf).collect();
        assert_eq!(cpfs.len(), 20_000);
        let cnhs: HashSet<String> = (300_000_000..300_020_000).map(cnh).collect();
        assert_eq!(cnhs.len(), 20_000);
        let names: HashSet<String> = (0..20_000).map(name).collect();
        assert_eq!(names.len(), 20_000);
        let emails: HashSet<String> = (0..20_000).map(email).collect();
        assert_eq!(emails.len(), 20_000);
    }
}
