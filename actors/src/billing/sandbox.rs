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

use std::convert::Infallible;

use serde::{Deserialize, Serialize};
use storage::{StorageError, Store, Table, Tx, TxAbort, TxError};

use super::provider::{
    CardDetails, CardToken, PaymentError, PaymentProvider, ProviderRef, brand_from_str,
};
use crate::ports::BoxFuture;

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SandboxPayment {
    token: String,
    authorized: i64,
    captured: i64,
    refunded: i64,
    state: PaymentState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Remembered {
    request: String,
    outcome: Outcome,
}

/// The sandbox processor (see the module documentation).
#[derive(Clone)]
pub struct SandboxProvider {
    store: Store,
    cards: Table<String, SandboxCard>,
    payments: Table<String, SandboxPayment>,
    remembered: Table<String, Remembered>,
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
        })
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
        let members: [&dyn storage::TxMember; 3] = [&self.cards, &self.payments, &self.remembered];
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

fn not_open() -> PaymentError {
    PaymentError::InvalidRequest {
        reason: "the hold is not open".into(),
    }
}

impl PaymentProvider for SandboxProvider {
    fn shares_store(&self) -> bool {
        true
    }

    fn tokenize<'a>(
        &'a self,
        card: CardDetails,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<CardToken, PaymentError>> {
        Box::pin(async move {
            let class = match card.number.expose_digits() {
                DECLINED_CARD => CardClass::Decline,
                INSUFFICIENT_FUNDS_CARD => CardClass::InsufficientFunds,
                HOLDS_ONLY_CARD => CardClass::HoldsOnly,
                _ => CardClass::Approve,
            };
            let stored = SandboxCard {
                class,
                brand: card.number.brand().as_str().to_owned(),
                last4: card.number.last4().to_owned(),
                exp_month: card.expiry.month(),
                exp_year: card.expiry.year(),
            };
            // The request is fingerprinted by what may be stored: never the number or the CVC.
            let request = format!(
                "tokenize|{}|{}|{}|{}",
                stored.brand, stored.last4, stored.exp_month, stored.exp_year
            );
            let token = random_ref("tok");
            let outcome = self
                .run(idempotency_key, request, true, |tx| {
                    tx.table(&self.cards)?.insert(&token, &stored)?;
                    Ok(Outcome::Token {
                        token: token.clone(),
                        brand: stored.brand.clone(),
                        last4: stored.last4.clone(),
                        exp_month: stored.exp_month,
                        exp_year: stored.exp_year,
                    })
                })
                .await?;
            match outcome {
                Outcome::Token {
                    token,
                    brand,
                    last4,
                    exp_month,
                    exp_year,
                } => Ok(CardToken {
                    token,
                    brand: brand_from_str(&brand),
                    last4,
                    exp_month,
                    exp_year,
                }),
                _ => Err(PaymentError::Unavailable(
                    "unexpected remembered result".into(),
                )),
            }
        })
    }

    fn authorize_hold<'a>(
        &'a self,
        token: &'a str,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<ProviderRef, PaymentError>> {
        Box::pin(self.open_payment(token, amount_cents, idempotency_key, false))
    }

    fn capture<'a>(
        &'a self,
        hold: &'a ProviderRef,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        let request = format!("capture|{}|{amount_cents}", hold.0);
        Box::pin(
            self.update_payment(hold, idempotency_key, request, move |payment| {
                if payment.state != PaymentState::Authorized {
                    return Err(not_open());
                }
                if amount_cents <= 0 {
                    return Err(PaymentError::InvalidRequest {
                        reason: "the amount must be positive".into(),
                    });
                }
                if amount_cents > payment.authorized {
                    return Err(PaymentError::ExceedsHold);
                }
                payment.captured = amount_cents;
                payment.state = PaymentState::Captured;
                Ok(())
            }),
        )
    }

    fn void<'a>(
        &'a self,
        hold: &'a ProviderRef,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        let request = format!("void|{}", hold.0);
        Box::pin(
            self.update_payment(hold, idempotency_key, request, |payment| {
                if payment.state != PaymentState::Authorized {
                    return Err(not_open());
                }
                payment.state = PaymentState::Voided;
                Ok(())
            }),
        )
    }

    fn charge<'a>(
        &'a self,
        token: &'a str,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<ProviderRef, PaymentError>> {
        Box::pin(self.open_payment(token, amount_cents, idempotency_key, true))
    }

    fn refund<'a>(
        &'a self,
        payment: &'a ProviderRef,
        amount_cents: i64,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<(), PaymentError>> {
        let request = format!("refund|{}|{amount_cents}", payment.0);
        Box::pin(
            self.update_payment(payment, idempotency_key, request, move |payment| {
                if payment.state != PaymentState::Captured {
                    return Err(PaymentError::InvalidRequest {
                        reason: "nothing was paid".into(),
                    });
                }
                if amount_cents <= 0 || amount_cents > payment.captured - payment.refunded {
                    return Err(PaymentError::InvalidRequest {
                        reason: "the refund exceeds what was paid".into(),
                    });
                }
                payment.refunded += amount_cents;
                Ok(())
            }),
        )
    }
}

#[cfg(test)]
#[path = "sandbox_tests.rs"]
mod tests;
