//! Pure rules of the customers service: validation of every input field (all failures
//! reported at once, under the API's field names), the password policy, the view with masked
//! documents, and the LGPD anonymisation.

use chrono::{DateTime, NaiveDate, Utc};

use super::model::{
    CardView, Change, Customer, CustomerPatch, CustomerRecord, CustomerStatus, NewCustomer,
    StoredStatus,
};
use crate::domain::{Cnh, Cpf, Email, InvalidField, Locale, MobilePhone, PersonName};

pub(crate) use super::card_rules::ValidCard;
use super::card_rules::validate_card;

/// The name an erased customer keeps.
pub(crate) const ERASED_NAME: &str = "erased customer";

/// A registration whose every field passed validation.
pub(crate) struct ValidCustomer {
    pub(crate) name: PersonName,
    pub(crate) cpf: Cpf,
    pub(crate) cnh: Cnh,
    pub(crate) email: Email,
    pub(crate) phone: MobilePhone,
    pub(crate) password: String,
    pub(crate) card: ValidCard,
    pub(crate) locale: Locale,
}

/// A profile change whose present fields passed validation.
pub(crate) struct ValidPatch {
    pub(crate) name: Option<PersonName>,
    pub(crate) email: Option<Email>,
    pub(crate) phone: Option<MobilePhone>,
    pub(crate) password: Option<String>,
    pub(crate) card: Option<ValidCard>,
    pub(crate) locale: Option<Locale>,
}

/// Collects failures under the API's field name (the domain parsers name fields their own way).
#[derive(Default)]
pub(super) struct Failures(Vec<InvalidField>);

impl Failures {
    pub(super) fn check<T>(
        &mut self,
        field: &'static str,
        result: Result<T, InvalidField>,
    ) -> Option<T> {
        result
            .map_err(|error| {
                self.0.push(InvalidField {
                    field,
                    reason: error.reason,
                })
            })
            .ok()
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, Vec<InvalidField>> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(self.0),
        }
    }
}

/// Validates a registration; `today` decides whether the card has expired.
pub(crate) fn validate_new(
    input: &NewCustomer,
    today: NaiveDate,
) -> Result<ValidCustomer, Vec<InvalidField>> {
    let mut failures = Failures::default();
    let name = failures.check("name", PersonName::parse(&input.name));
    let cpf = failures.check("cpf", Cpf::parse(&input.cpf));
    let cnh = failures.check("cnh", Cnh::parse(&input.cnh));
    let email = failures.check("email", Email::parse(&input.email));
    let phone = failures.check("phone", MobilePhone::parse(&input.phone));
    let password = failures.check("password", check_password(&input.password));
    let card = validate_card(&input.card, today, &mut failures);
    let locale = match input.locale.as_deref() {
        Some(tag) => failures.check("locale", Locale::parse(tag)),
        None => Some(Locale::default()),
    };
    let valid = (|| {
        Some(ValidCustomer {
            name: name?,
            cpf: cpf?,
            cnh: cnh?,
            email: email?,
            phone: phone?,
            password: password?,
            card: card?,
            locale: locale?,
        })
    })();
    failures.finish(valid)
}

/// Validates the present fields of a profile change.
pub(crate) fn validate_patch(
    patch: &CustomerPatch,
    today: NaiveDate,
) -> Result<ValidPatch, Vec<InvalidField>> {
    let mut failures = Failures::default();
    let valid = ValidPatch {
        name: patch
            .name
            .as_deref()
            .and_then(|name| failures.check("name", PersonName::parse(name))),
        email: patch
            .email
            .as_deref()
            .and_then(|email| failures.check("email", Email::parse(email))),
        phone: patch
            .phone
            .as_deref()
            .and_then(|phone| failures.check("phone", MobilePhone::parse(phone))),
        password: patch
            .password
            .as_deref()
            .and_then(|password| failures.check("password", check_password(password))),
        card: patch
            .card
            .as_ref()
            .and_then(|card| validate_card(card, today, &mut failures)),
        locale: patch
            .locale
            .as_deref()
            .and_then(|tag| failures.check("locale", Locale::parse(tag))),
    };
    failures.finish(Some(valid))
}

/// The password policy: 8 to 128 characters (long passphrases welcome, unbounded input is a
/// hashing cost), not one repeated character, at least one letter and one digit.
pub(crate) fn check_password(password: &str) -> Result<String, InvalidField> {
    let invalid = |reason: &str| InvalidField {
        field: "password",
        reason: reason.to_owned(),
    };
    let length = password.chars().count();
    if !(8..=128).contains(&length) {
        return Err(invalid("password must have 8 to 128 characters"));
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err(invalid("password cannot be one repeated character"));
    }
    if !password.chars().any(char::is_alphabetic) || !password.chars().any(|c| c.is_ascii_digit()) {
        return Err(invalid(
            "password must contain at least one letter and one digit",
        ));
    }
    Ok(password.to_owned())
}

/// The view of a record: documents masked, secrets left out.
pub(crate) fn view(record: &CustomerRecord) -> Customer {
    Customer {
        id: record.id,
        name: record.name.clone(),
        cpf: record
            .cpf
            .as_deref()
            .map(|cpf| Cpf::parse(cpf).map_or_else(|_| "***".to_owned(), |cpf| cpf.masked())),
        cnh: record
            .cnh
            .as_deref()
            .map(|cnh| Cnh::parse(cnh).map_or_else(|_| "***".to_owned(), |cnh| cnh.masked())),
        email: record.email.clone(),
        phone: record.phone.clone(),
        card: record.card.as_ref().map(|card| CardView {
            brand: card.brand.clone(),
            last4: card.last4.clone(),
            exp_month: card.exp_month,
            exp_year: card.exp_year,
        }),
        status: match record.status {
            StoredStatus::PendingConfirmation => CustomerStatus::PendingConfirmation,
            StoredStatus::Active => CustomerStatus::Active,
            StoredStatus::Erased => CustomerStatus::Erased,
        },
        locale: record.locale,
        email_change_pending: record.email_change_pending,
        outstanding_cents: record.outstanding_cents(),
        created_at: record.created_at,
        updated_at: record.updated_at,
    }
}

/// The record with `change` applied.
pub(crate) fn apply_change(
    record: &CustomerRecord,
    change: &Change,
    now: DateTime<Utc>,
) -> CustomerRecord {
    let mut next = record.clone();
    if let Some(name) = &change.name {
        next.name = name.clone();
    }
    if let Some(email) = &change.email {
        next.email = Some(email.clone());
    }
    if let Some(phone) = &change.phone {
        next.phone = Some(phone.clone());
    }
    if let Some(card) = &change.card {
        next.card = Some(card.clone());
    }
    if let Some(hash) = &change.password_hash {
        next.password_hash = Some(hash.clone());
    }
    if let Some(locale) = change.locale {
        next.locale = locale;
    }
    next.updated_at = now;
    next
}

/// The record with every personal datum removed (LGPD art. 16 and 18): what stays is the id,
/// which reservations and the billing ledger refer to, and the dates.
pub(crate) fn anonymised(record: &CustomerRecord, now: DateTime<Utc>) -> CustomerRecord {
    CustomerRecord {
        id: record.id,
        slot: None,
        name: ERASED_NAME.to_owned(),
        cpf: None,
        cnh: None,
        email: None,
        phone: None,
        password_hash: None,
        card: None,
        status: StoredStatus::Erased,
        // A debt is not personal data: it stays with the pseudonymous id.
        outstanding: record.outstanding.clone(),
        locale: Locale::default(),
        email_change_pending: false,
        created_at: record.created_at,
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customers::card_rules::check_holder_name;
    use crate::customers::model::{CardInput, PaymentCard};

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 6, 15).unwrap_or_default()
    }

    fn card() -> CardInput {
        CardInput {
            number: "4111 1111 1111 1111".into(),
            exp_month: 12,
            exp_year: 2030,
            cvc: "123".into(),
            holder_name: "ANA SOUZA".into(),
        }
    }

    fn valid() -> NewCustomer {
        NewCustomer {
            name: "Ana Souza".into(),
            cpf: "529.982.247-25".into(),
            cnh: "79143829831".into(),
            email: "Ana@Example.com".into(),
            phone: "+55 48 99999-1234".into(),
            password: "correct horse 42".into(),
            card: card().into(),
            locale: None,
        }
    }

    fn fields(errors: &[InvalidField]) -> Vec<&'static str> {
        errors.iter().map(|error| error.field).collect()
    }

    #[test]
    fn a_valid_registration_is_normalised() {
        let customer = validate_new(&valid(), today()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(customer.email.as_str(), "ana@example.com");
        assert_eq!(customer.phone.as_str(), "+5548999991234");
        assert_eq!(customer.cpf.as_str(), "52998224725");
        let ValidCard::Details(card) = customer.card else {
            panic!("details in, details out");
        };
        assert_eq!(card.number.last4(), "1111");
    }

    #[test]
    fn every_invalid_field_is_reported_under_its_api_name() {
        let input = NewCustomer {
            name: "1".into(),
            cpf: "111.111.111-11".into(),
            cnh: "123".into(),
            email: "not-an-email".into(),
            phone: "(48) 3222-1234".into(),
            password: "short".into(),
            card: CardInput {
                number: "4111111111111112".into(),
                exp_month: 13,
                exp_year: 26,
                cvc: "12".into(),
                holder_name: "".into(),
            }
            .into(),
            locale: None,
        };
        let errors = validate_new(&input, today()).err().unwrap_or_default();
        assert_eq!(
            fields(&errors),
            [
                "name",
                "cpf",
                "cnh",
                "email",
                "phone",
                "password",
                "card.number",
                "card.exp_month",
                "card.exp_year",
                "card.cvc",
                "card.holder_name"
            ]
        );
    }

    #[test]
    fn provider_tokens_are_short_ascii_words() {
        for token in ["pm_1QdWyz2eZvKYlo2C", "ff8080814c11e237014c1ff593b57b4d"] {
            let mut input = valid();
            input.card = PaymentCard::Token(format!(" {token} "));
            let customer = validate_new(&input, today()).unwrap_or_else(|e| panic!("{e:?}"));
            assert!(matches!(customer.card, ValidCard::Token(kept) if kept == token));
        }
        for token in ["", "pm 1", "tok/../x", &"a".repeat(256)] {
            let mut input = valid();
            input.card = PaymentCard::Token(token.to_owned());
            let errors = validate_new(&input, today()).err().unwrap_or_default();
            assert_eq!(fields(&errors), ["card.token"], "{token:?}");
        }
    }

    #[test]
    fn expired_cards_blame_the_right_part() {
        let with_expiry = |month: u32, year: i32| {
            let mut input = valid();
            input.card = CardInput {
                exp_month: month,
                exp_year: year,
                ..card()
            }
            .into();
            input
        };
        let input = with_expiry(12, 2026);
        let errors = validate_new(&input, today()).err().unwrap_or_default();
        assert_eq!(fields(&errors), ["card.exp_year"]);
        let input = with_expiry(5, 2027);
        let errors = validate_new(&input, today()).err().unwrap_or_default();
        assert_eq!(fields(&errors), ["card.exp_month"]);
        let input = with_expiry(6, 2027);
        assert!(
            validate_new(&input, today()).is_ok(),
            "valid through its month"
        );
    }

    #[test]
    fn holder_names_are_alphanumeric_as_embossed() {
        assert_eq!(
            check_holder_name("  CLIENTE   100 ").as_deref(),
            Ok("CLIENTE 100")
        );
        assert_eq!(
            check_holder_name("JOÃO D'ÁVILA JR.").as_deref(),
            Ok("JOÃO D'ÁVILA JR.")
        );
        for bad in [
            "",
            "42",
            "A",
            "ANA\u{202E}SOUZA",
            "ANA <script>",
            &"A".repeat(65),
        ] {
            assert!(check_holder_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_password_policy() {
        for bad in [
            "abc1234",
            "aaaaaaaaaa",
            "11111111",
            "abcdefghij",
            "1234567890",
            &"a1".repeat(65),
        ] {
            assert!(check_password(bad).is_err(), "{bad}");
        }
        for good in [
            "abcdefg1",
            "senha segura 2024",
            "ção12345",
            &"a1".repeat(64),
        ] {
            assert!(check_password(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn a_patch_validates_only_what_it_carries() {
        let patch = CustomerPatch {
            email: Some("new@example.com".into()),
            ..CustomerPatch::default()
        };
        let valid = validate_patch(&patch, today()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            valid.email.map(String::from).as_deref(),
            Some("new@example.com")
        );
        assert!(valid.name.is_none() && valid.card.is_none());

        let patch = CustomerPatch {
            name: Some("".into()),
            phone: Some("123".into()),
            password: Some("x".into()),
            ..CustomerPatch::default()
        };
        let errors = validate_patch(&patch, today()).err().unwrap_or_default();
        assert_eq!(fields(&errors), ["name", "phone", "password"]);
    }
}
