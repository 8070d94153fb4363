//! Who a login or a session speaks for: the subject and its role, which the gateway puts in
//! its access tokens and checks routes against.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::CustomerId;

/// What a principal may do: customers act on their own account and rentals, administrators on
/// the fleet and every account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A registered customer.
    Customer,
    /// An operator of the rental (see [`CustomersHandle::ensure_admin`]).
    ///
    /// [`CustomersHandle::ensure_admin`]: super::CustomersHandle::ensure_admin
    Admin,
}

/// An authenticated subject. For a customer `subject` is the customer id's UUID; for an
/// administrator it is the administrator's own id, a UUID of another space (never a
/// customer id), which is why the role travels with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Principal {
    /// The customer's or the administrator's id.
    pub subject: Uuid,
    /// Which of the two it is.
    pub role: Role,
}

impl Principal {
    /// The principal of a customer.
    pub fn customer(id: CustomerId) -> Principal {
        Principal {
            subject: id.as_uuid(),
            role: Role::Customer,
        }
    }

    /// The customer this principal is, if it is one.
    pub fn customer_id(&self) -> Option<CustomerId> {
        (self.role == Role::Customer).then_some(CustomerId(self.subject))
    }

    /// Whether the principal is an administrator.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// A principal as stored inside session records: the stored form does not follow changes of
/// the public type's serde attributes (bincode encodes enums by position).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredPrincipal {
    pub(crate) subject: Uuid,
    pub(crate) role: StoredRole,
}

/// See [`StoredPrincipal`]; new roles are appended, never inserted, to keep positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StoredRole {
    Customer,
    Admin,
}

impl From<Principal> for StoredPrincipal {
    fn from(principal: Principal) -> Self {
        StoredPrincipal {
            subject: principal.subject,
            role: match principal.role {
                Role::Customer => StoredRole::Customer,
                Role::Admin => StoredRole::Admin,
            },
        }
    }
}

impl From<StoredPrincipal> for Principal {
    fn from(stored: StoredPrincipal) -> Self {
        Principal {
            subject: stored.subject,
            role: match stored.role {
                StoredRole::Customer => Role::Customer,
                StoredRole::Admin => Role::Admin,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_lowercase_on_the_wire_and_round_trip_through_storage() {
        let id = CustomerId::new();
        let customer = Principal::customer(id);
        assert_eq!(customer.customer_id(), Some(id));
        assert!(!customer.is_admin());
        let admin = Principal {
            subject: Uuid::now_v7(),
            role: Role::Admin,
        };
        assert_eq!(admin.customer_id(), None);
        let json = role_text(&admin);
        assert!(json.contains("\"admin\""), "{json}");
        for principal in [customer, admin] {
            assert_eq!(Principal::from(StoredPrincipal::from(principal)), principal);
        }
    }

    /// The role's text form, through the TOML serializer the crate already has.
    fn role_text(principal: &Principal) -> String {
        toml::to_string(&Wrapper {
            role: principal.role,
        })
        .unwrap_or_default()
    }

    #[derive(Serialize)]
    struct Wrapper {
        role: Role,
    }
}
