//! The sandbox card processor: the default [`PaymentProvider`], which behaves like a real
//! acquirer's test environment and keeps its records in tables of the billing store.
//!
//! Test cards: 4111 1111 1111 1111 and 5555 5555 5555 4444 approve, 4000 0000 0000 0002 is
//! declined ("card declined"), 4000 0000 0000 9995 has insufficient funds, 4000 0000 0000 0341
//! approves holds but declines every charge beyond them (a card that fails later, for overtime
//! that cannot be collected); any other valid number approves. As with real processors, tokenization accepts every valid card and the
//! refusal comes at authorization. The token is random; the number and the CVC are never
//! stored (only the card's class, brand, last four digits and expiry) nor logged.
//!
//! Every call runs in one transaction with its idempotency record. Tokenization then waits for
//! durability (the token is kept in another service's store), so a token once returned is
//! known across restarts. Payment calls do not flush on their own: billing appends the call's
//! ledger entry to the same store right after and waits for that commit, which covers the
//! sandbox's write too; a crash before it loses both together, exactly as if the call had
//! never been made, and the retry makes it afresh (see `PaymentProvider::shares_store`).
//!
//! Like a real processor, the sandbox keeps idempotency keys for 24 hours after the call
//! (a retry comes within minutes; the keys of payment calls only matter until billing has
//! recorded their outcome, which it does in the same commit). A time index, written with each
//! key, lets the purge walk them oldest first; keys stored before the index get an entry
//! stamped at the first purge, so they go 24 hours after the upgrade. The sandbox stamps keys
//! with its own clock (the system clock unless [`SandboxProvider::with_clock`] says otherwise),
//! as a processor keeps its own time.
//!
//! An erasure makes it forget cards by token ([`PaymentProvider::forget_cards`]): the card
//! records (class, brand, last four digits, expiry), the token on the payments made with them,
//! and the remembered calls that name the token or answered with the card.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use storage::{StorageError, Store, Table, Tx, TxAbort, TxError};

use super::provider::{
    CardDetails, CardToken, PaymentError, PaymentProvider, ProviderPayment, ProviderRef,
    brand_from_str,
};
use crate::clock::{SharedClock, SystemClock};
use crate::ports::BoxFuture;

/// How long the sandbox remembers a call's idempotency key.
pub(crate) const KEY_TTL: TimeDelta = TimeDelta::hours(24);

/// Whether a key remembered at `created_at` has expired at `now`: strictly more than
/// [`KEY_TTL`] ago.
pub(crate) fn is_expired(created_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    created_at < now - KEY_TTL
}

/// The card whose every hold is declined.
pub(crate) const DECLINED_CARD: &str = "4000000000000002";
/// The card whose every hold fails for insufficient funds.
pub(crate) const INSUFFICIENT_FUNDS_CARD: &str = "4000000000009995";
/// The card whose holds succeed and whose direct charges (sales) are declined.
pub(crate) const HOLDS_ONLY_CARD: &str = "4000000000000341";

/// How the sandbox answers for a card, decided once at tokenization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum CardClass {
    Approve,
    Decline,
    InsufficientFunds,
    HoldsOnly,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SandboxCard {
    class: CardClass,
    brand: String,
    last4: String,
    exp_month: u32,
    exp_year: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum PaymentState {
    Authorized,
    Captured,
    Voided,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SandboxPayment {
    token: String,
    created_at: chrono::DateTime<chrono::Utc>,
    authorized: i64,
    captured: i64,
    refunded: i64,
    state: PaymentState,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Outcome {
    Token {
        token: String,
        brand: String,
        last4: String,
        exp_month: u32,
        exp_year: i32,
    },
    Reference(String),
    Done,
    Failed(PaymentError),
}

/// The result of a call, remembered under its idempotency key with the request it answered,
/// so a key reused for another request is refused rather than answered wrongly.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Remembered {
    request: String,
    outcome: Outcome,
}

// The `Debug` of the records that hold a card token never shows it (it would end up in logs);
// a remembered request shows only its operation, since its parameters name the token.

/// The sandbox processor (see the module documentation).
#[derive(Clone)]
pub struct SandboxProvider {
    store: Store,
    cards: Table<String, SandboxCard>,
    payments: Table<String, SandboxPayment>,
    remembered: Table<String, Remembered>,
    /// Each remembered key by when it was first called, for the purge.
    remembered_by_time: Table<(DateTime<Utc>, String), ()>,
    clock: SharedClock,
    /// Whether the keys stored before the time index have their entries.
    indexed: Arc<AtomicBool>,
}

impl std::fmt::Debug for SandboxProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxProvider")
            .field("store", &self.store.name())
            .finish()
    }
}

fn random_ref(prefix: &str) -> String {
    format!("{prefix}_{:032x}", rand::random::<u128>())
}

fn failed(error: PaymentError) -> Result<Outcome, TxAbort<Infallible>> {
    Ok(Outcome::Failed(error))
}

fn invalid(reason: &str) -> Result<Outcome, TxAbort<Infallible>> {
    failed(PaymentError::InvalidRequest {
        reason: reason.to_owned(),
    })
}

impl SandboxProvider {
    /// Opens the sandbox's tables in `store` (the billing store).
    pub fn open(store: &Store) -> Result<SandboxProvider, StorageError> {
        Ok(SandboxProvider {
            store: store.clone(),
            cards: store.table("sandbox_cards")?,
            payments: store.table("sandbox_payments")?,
            remembered: store.table("sandbox_idempotency")?,
            remembered_by_time: store.table("sandbox_idempotency_by_time")?,
            clock: Arc::new(SystemClock),
            indexed: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The same provider keeping time by `clock` (tests, or a system on an accelerated clock).
    pub fn with_clock(self, clock: SharedClock) -> Self {
        SandboxProvider { clock, ..self }
    }

    /// Gives every remembered key without a time entry (stored before the index existed) one
    /// stamped `now`.
    fn index_legacy_keys(&self, now: DateTime<Utc>) -> Result<usize, StorageError> {
        let indexed = self
            .remembered_by_time
            .iter()
            .map(|entry| entry.map(|((_, key), ())| key))
            .collect::<Result<HashSet<_>, _>>()?;
        let mut added = 0;
        for entry in self.remembered.iter() {
            let (key, _) = entry?;
            if !indexed.contains(&key) {
                self.remembered_by_time.insert(&(now, key), &())?;
                added += 1;
            }
        }
        Ok(added)
    }

    /// Forgets at most `batch` keys expired at `now`, with their results; how many.
    pub(crate) async fn purge_keys(
        &self,
        now: DateTime<Utc>,
        batch: usize,
    ) -> Result<usize, StorageError> {
        if !self.indexed.load(Ordering::Acquire) {
            let added = self.index_legacy_keys(now)?;
            if added > 0 {
                tracing::info!(added, "sandbox idempotency keys indexed by time");
            }
            self.indexed.store(true, Ordering::Release);
        }
        let cutoff = (now - KEY_TTL, String::new());
        let expired = self
            .remembered_by_time
            .range(..cutoff)
            .take(batch)
            .map(|entry| entry.map(|(age, ())| age))
            .filter(|age| age.as_ref().map_or(true, |(at, _)| is_expired(*at, now)))
            .collect::<Result<Vec<_>, _>>()?;
        if expired.is_empty() {
            return Ok(0);
        }
        self.remove_keys(&expired)?;
        self.store.commit().await?;
        Ok(expired.len())
    }

    /// Removes expired keys and their time entries in one transaction.
    fn remove_keys(&self, expired: &[(DateTime<Utc>, String)]) -> Result<(), StorageError> {
        let members: [&dyn storage::TxMember; 2] = [&self.remembered, &self.remembered_by_time];
        self.store
            .transaction::<(), Infallible>(&members, |tx| {
                let remembered = tx.table(&self.remembered)?;
                let index = tx.table(&self.remembered_by_time)?;
                for (at, key) in expired {
                    index.remove(&(*at, key.clone()))?;
                    remembered.remove(key)?;
                }
                Ok(())
            })
            .map_err(|error| match error {
                TxError::Storage(error) => error,
                TxError::Aborted(never) => match never {},
            })
    }

    /// Removes the cards, unlinks the payments and removes the calls found by `forget`, in
    /// one transaction; how many records changed.
    fn forget_records(
        &self,
        tokens: &HashSet<&str>,
        payments: &[(String, SandboxPayment)],
        calls: &HashSet<String>,
        ages: &[(DateTime<Utc>, String)],
    ) -> Result<u64, StorageError> {
        let members: [&dyn storage::TxMember; 4] = [
            &self.cards,
            &self.payments,
            &self.remembered,
            &self.remembered_by_time,
        ];
        self.store
            .transaction::<u64, Infallible>(&members, |tx| {
                let mut changed = 0u64;
                let cards = tx.table(&self.cards)?;
                for token in tokens {
                    let token = (*token).to_owned();
                    if cards.get(&token)?.is_some() {
                        cards.remove(&token)?;
                        changed += 1;
                    }
                }
                let table = tx.table(&self.payments)?;
                for (reference, payment) in payments {
                    // The payment stays (amounts, state); only the link to the card goes.
                    let forgotten = SandboxPayment {
                        token: String::new(),
                        ..payment.clone()
                    };
                    table.insert(reference, &forgotten)?;
                    changed += 1;
                }
                let remembered = tx.table(&self.remembered)?;
                for key in calls {
                    remembered.remove(key)?;
                    changed += 1;
                }
                let index = tx.table(&self.remembered_by_time)?;
                for age in ages {
                    index.remove(age)?;
                }
                Ok(changed)
            })
            .map_err(|error| match error {
                TxError::Storage(error) => error,
                TxError::Aborted(never) => match never {},
            })
    }

    /// Forgets the cards of `tokens` (see the module documentation), durably; how many
    /// records it changed or removed.
    async fn forget(&self, tokens: &[String]) -> Result<u64, StorageError> {
        let tokens: HashSet<&str> = tokens
            .iter()
            .map(String::as_str)
            .filter(|token| !token.is_empty())
            .collect();
        if tokens.is_empty() {
            return Ok(0);
        }
        // Erasure is rare: a scan of the payments and the remembered calls is acceptable
        // (neither is indexed by token, and the remembered calls are bounded by their 24 h).
        let mut payments = Vec::new();
        for entry in self.payments.iter() {
            let (reference, payment) = entry?;
            if tokens.contains(payment.token.as_str()) {
                payments.push((reference, payment));
            }
        }
        let mut calls = HashSet::new();
        for entry in self.remembered.iter() {
            let (key, remembered) = entry?;
            if names_a_token(&remembered, &tokens) {
                calls.insert(key);
            }
        }
        let mut ages = Vec::new();
        for entry in self.remembered_by_time.iter() {
            let ((at, key), ()) = entry?;
            if calls.contains(&key) {
                ages.push((at, key));
            }
        }
        let changed = self.forget_records(&tokens, &payments, &calls, &ages)?;
        self.store.commit().await?;
        Ok(changed)
    }

    /// Runs `act` unless `key` already has a result and records the result; waits for
    /// durability when `durable` (see the module documentation for when it need not).
    async fn run(
        &self,
        key: &str,
        request: String,
        durable: bool,
        act: impl Fn(&Tx<'_>) -> Result<Outcome, TxAbort<Infallible>>,
    ) -> Result<Outcome, PaymentError> {
        let outcome = self.transact(key, request, act)?;
        if durable {
            self.store
                .commit()
                .await
                .map_err(|error| PaymentError::Unavailable(error.to_string()))?;
        }
        match outcome {
            Outcome::Failed(error) => Err(error),
            other => Ok(other),
        }
    }

    /// The transaction of [`SandboxProvider::run`]: the remembered result or `act`'s, recorded.
    fn transact(
        &self,
        key: &str,
        request: String,
        act: impl Fn(&Tx<'_>) -> Result<Outcome, TxAbort<Infallible>>,
    ) -> Result<Outcome, PaymentError> {
        let key = key.to_owned();
        let now = self.clock.now();
        let members: [&dyn storage::TxMember; 4] = [
            &self.cards,
            &self.payments,
            &self.remembered,
            &self.remembered_by_time,
        ];
        let outcome = self.store.transaction(&members, |tx| {
            let remembered = tx.table(&self.remembered)?;
            if let Some(found) = remembered.get(&key)? {
                if found.request == request {
                    return Ok(found.outcome);
                }
                return invalid("idempotency key reused with other parameters");
            }
            let outcome = act(tx)?;
            let record = Remembered {
                request: request.clone(),
                outcome: outcome.clone(),
            };
            remembered.insert(&key, &record)?;
            tx.table(&self.remembered_by_time)?
                .insert(&(now, key.clone()), &())?;
            Ok(outcome)
        });
        match outcome {
            Ok(outcome) => Ok(outcome),
            Err(TxError::Storage(error)) => Err(PaymentError::Unavailable(error.to_string())),
            Err(TxError::Aborted(never)) => match never {},
        }
    }

    fn card_in(
        &self,
        tx: &Tx<'_>,
        token: &str,
        sale: bool,
    ) -> Result<Result<SandboxCard, PaymentError>, TxAbort<Infallible>> {
        let declined = || PaymentError::Declined {
            reason: "card declined".into(),
        };
        Ok(tx
            .table(&self.cards)?
            .get(&token.to_owned())?
            .ok_or(PaymentError::UnknownToken)
            .and_then(|card| match card.class {
                CardClass::Approve => Ok(card),
                CardClass::HoldsOnly if !sale => Ok(card),
                CardClass::HoldsOnly | CardClass::Decline => Err(declined()),
                CardClass::InsufficientFunds => Err(PaymentError::InsufficientFunds),
            }))
    }

    /// Creates a payment on an approving card: a hold (`authorized` only) or a sale.
    async fn open_payment(
        &self,
        token: &str,
        amount_cents: i64,
        key: &str,
        sale: bool,
    ) -> Result<ProviderRef, PaymentError> {
        let (operation, prefix) = if sale {
            ("charge", "sale")
        } else {
            ("authorize", "hold")
        };
        let reference = random_ref(prefix);
        let request = format!("{operation}|{token}|{amount_cents}");
        let now = self.clock.now();
        let outcome = self
            .run(key, request, false, |tx| {
                if amount_cents <= 0 {
                    return invalid("the amount must be positive");
                }
                if let Err(error) = self.card_in(tx, token, sale)? {
                    return failed(error);
                }
                let payment = SandboxPayment {
                    token: token.to_owned(),
                    created_at: now,
                    authorized: amount_cents,
                    captured: if sale { amount_cents } else { 0 },
                    refunded: 0,
                    state: if sale {
                        PaymentState::Captured
                    } else {
                        PaymentState::Authorized
                    },
                };
                tx.table(&self.payments)?.insert(&reference, &payment)?;
                Ok(Outcome::Reference(reference.clone()))
            })
            .await?;
        tracing::debug!(operation, key, amount_cents, "sandbox payment");
        match outcome {
            Outcome::Reference(reference) => Ok(ProviderRef(reference)),
            _ => Err(PaymentError::Unavailable(
                "unexpected remembered result".into(),
            )),
        }
    }

    /// Changes an existing payment with `change`, which may refuse.
    async fn update_payment(
        &self,
        payment_ref: &ProviderRef,
        key: &str,
        request: String,
        change: impl Fn(&mut SandboxPayment) -> Result<(), PaymentError>,
    ) -> Result<(), PaymentError> {
        self.run(key, request, false, |tx| {
            let payments = tx.table(&self.payments)?;
            let Some(mut payment) = payments.get(&payment_ref.0)? else {
                return failed(PaymentError::UnknownToken);
            };
            if let Err(error) = change(&mut payment) {
                return failed(error);
            }
            payments.insert(&payment_ref.0, &payment)?;
            Ok(Outcome::Done)
        })
        .await
        .map(|_| ())
    }
}

/// Whether a remembered call names one of `tokens` (in its request, or as the token it
/// answered with): it holds the card's details or links a payment to the card.
fn names_a_token(remembered: &Remembered, tokens: &HashSet<&str>) -> bool {
    let answered = match &remembered.outcome {
        Outcome::Token { token, .. } => tokens.contains(token.as_str()),
        _ => false,
    };
    answered
        || remembered
            .request
            .split('|')
            .any(|part| tokens.contains(part))
}

mod port;
#[cfg(test)]
mod tests;
