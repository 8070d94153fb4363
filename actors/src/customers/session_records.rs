//! What the store keeps of a login session: its refresh tokens and the family they belong to.
//! Its own file so that the session rules (pure) and the session store both depend on it
//! rather than on each other.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::principal::StoredPrincipal;

/// One refresh token, stored under the hex SHA-256 of its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RefreshRecord {
    pub(crate) family: Uuid,
    pub(crate) principal: StoredPrincipal,
    pub(crate) issued_at: DateTime<Utc>,
    pub(crate) expires_at: DateTime<Utc>,
    /// When it was exchanged for its successor; presenting it again is reuse.
    pub(crate) used_at: Option<DateTime<Utc>>,
}

/// One session (a family of tokens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FamilyRecord {
    pub(crate) principal: StoredPrincipal,
    /// Logout or detected reuse: no token of the family works any more.
    pub(crate) revoked_at: Option<DateTime<Utc>>,
    pub(crate) created_at: DateTime<Utc>,
}
