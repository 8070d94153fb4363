//! Car units authenticate with their own device credential.
//!
//! The vehicles service keeps only the credential's SHA-256 and compares in constant time, so a
//! check is cheap; still, position reports are the busiest traffic, so a unit whose credential
//! was verified recently is let through on a digest match without asking the service again.
//! Entries expire after a minute so that a retired car's unit is refused soon after.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actors::ids::VehicleId;
use actors::vehicles::VehiclesHandle;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use super::principal::bearer;
use crate::error::ApiError;

const TTL: Duration = Duration::from_secs(60);
/// Beyond this many cached units, expired entries are swept before inserting.
const SWEEP_ABOVE: usize = 100_000;

/// The bearer credential a unit presented (not yet checked against a car).
pub struct DeviceToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for DeviceToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        bearer(parts)
            .map(|token| DeviceToken(token.to_owned()))
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "send the unit's device token: Authorization: Bearer <token>",
                )
            })
    }
}

/// Verified device credentials, recently seen.
#[derive(Default)]
pub struct DeviceAuth {
    verified: Mutex<HashMap<VehicleId, ([u8; 32], Instant)>>,
}

impl DeviceAuth {
    /// Succeeds when `token` is the credential of `vehicle`; 401 otherwise (also for an
    /// unknown car, so ids cannot be probed).
    pub async fn check(
        &self,
        vehicles: &VehiclesHandle,
        vehicle: VehicleId,
        token: &DeviceToken,
    ) -> Result<(), ApiError> {
        let digest: [u8; 32] = Sha256::digest(token.0.as_bytes()).into();
        let cached = {
            let map = self
                .verified
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            map.get(&vehicle)
                .is_some_and(|(known, at)| *known == digest && at.elapsed() < TTL)
        };
        if cached {
            return Ok(());
        }
        if !vehicles.verify_device(vehicle, &token.0).await? {
            return Err(ApiError::unauthorized(
                "the device token does not belong to this vehicle",
            ));
        }
        let mut map = self
            .verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, (_, at)| at.elapsed() < TTL);
        }
        map.insert(vehicle, (digest, Instant::now()));
        Ok(())
    }
}
