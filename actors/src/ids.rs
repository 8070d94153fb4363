//! Entity ids: UUIDv7 (time-ordered, so stores keyed by id keep creation order), each wrapped
//! in its own type so a vehicle id can never be passed where a customer id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use storage::{Key, KeyError};
use uuid::Uuid;

macro_rules! entity_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh id (UUIDv7).
            pub fn new() -> Self {
                $name(Uuid::now_v7())
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(text).map($name)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                $name(uuid)
            }
        }

        impl Key for $name {
            fn encode_key(&self, out: &mut Vec<u8>) {
                self.0.encode_key(out);
            }
            fn decode_key(input: &mut &[u8]) -> Result<Self, KeyError> {
                Uuid::decode_key(input).map($name)
            }
        }
    };
}

entity_id!(
    /// A registered customer.
    CustomerId
);
entity_id!(
    /// A car of the fleet.
    VehicleId
);
entity_id!(
    /// A reservation of a car by a customer.
    ReservationId
);
entity_id!(
    /// A lock or unlock command sent to a car unit.
    CommandId
);
entity_id!(
    /// Something an operator should look at (a car relocked, a rental ended without a lock).
    IncidentId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_keys_and_sort_by_creation() {
        let first = VehicleId::new();
        let second = VehicleId::new();
        assert!(first < second);
        assert!(first.to_key_bytes() < second.to_key_bytes());
        assert_eq!(first.to_string().parse::<VehicleId>().unwrap(), first);
        assert_eq!(
            VehicleId::from_key_bytes(&first.to_key_bytes()).unwrap(),
            first
        );
    }
}
