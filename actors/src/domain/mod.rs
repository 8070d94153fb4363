//! Domain types and the validation rules for input from outside.

pub mod card;
pub mod card_brand;
pub mod card_expiry;
pub mod cents;
pub mod cnh;
pub mod cpf;
pub mod cvc;
pub mod email;
pub mod locale;
pub mod person_name;
pub mod phone;
pub mod plate;
pub mod samples;
pub mod validation;

pub use card::CardNumber;
pub use card_brand::CardBrand;
pub use card_expiry::CardExpiry;
pub use cents::Cents;
pub use cnh::Cnh;
pub use cpf::Cpf;
pub use cvc::Cvc;
pub use email::Email;
pub use locale::Locale;
pub use person_name::PersonName;
pub use phone::MobilePhone;
pub use plate::Plate;
pub use validation::InvalidField;
