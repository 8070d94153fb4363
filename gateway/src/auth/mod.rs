//! Who is calling: customers and admins with JWT bearer tokens, car units with their device
//! credential.

mod device;
mod keys;
mod principal;
mod secret;

pub use device::{DeviceAuth, DeviceToken};
pub use keys::{AccessToken, AuthKeys};
pub use principal::{Admin, AdminSettingUp, Caller, Customer, CustomerSession};
pub use secret::load_or_create_secret;
