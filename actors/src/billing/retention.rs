//! The billing store's retention: the processor's idempotency keys (the sandbox keeps them in
//! this store) are purged after its retention of 24 hours. The processor decides with its own
//! clock what has expired, as a real one does on its side.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::provider::PaymentProvider;
use crate::retention::Purge;

/// The purge of the processor's expired keys.
pub(crate) struct ProviderPurge(pub(crate) Arc<dyn PaymentProvider>);

impl Purge for ProviderPurge {
    fn kind(&self) -> &'static str {
        "sandbox_idempotency"
    }

    async fn purge_batch(&self, _now: DateTime<Utc>, batch: usize) -> Result<usize, String> {
        self.0
            .purge_expired(batch)
            .await
            .map_err(|error| error.to_string())
    }
}
