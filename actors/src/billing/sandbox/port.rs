//! The sandbox as the payment port sees it: every operation of [`PaymentProvider`] carried out
//! on the sandbox's records, and how those records show in a debug print (never a token).

use chrono::{DateTime, Utc};

use super::*;

impl std::fmt::Debug for SandboxPayment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxPayment")
            .field("token", &"<redacted>")
            .field("authorized", &self.authorized)
            .field("captured", &self.captured)
            .field("refunded", &self.refunded)
            .field("state", &self.state)
            .finish()
    }
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Token {
                brand,
                last4,
                exp_month,
                exp_year,
                ..
            } => f
                .debug_struct("Token")
                .field("token", &"<redacted>")
                .field("brand", brand)
                .field("last4", last4)
                .field("exp_month", exp_month)
                .field("exp_year", exp_year)
                .finish(),
            Outcome::Reference(reference) => f.debug_tuple("Reference").field(reference).finish(),
            Outcome::Done => f.write_str("Done"),
            Outcome::Failed(error) => f.debug_tuple("Failed").field(error).finish(),
        }
    }
}

impl std::fmt::Debug for Remembered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let operation = self.request.split('|').next().unwrap_or_default();
        f.debug_struct("Remembered")
            .field("operation", &operation)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
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

    fn takes_card_details(&self) -> bool {
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

    fn forget_cards<'a>(
        &'a self,
        tokens: &'a [String],
    ) -> BoxFuture<'a, Result<u64, PaymentError>> {
        Box::pin(async move {
            self.forget(tokens)
                .await
                .map_err(|error| PaymentError::Unavailable(error.to_string()))
        })
    }

    fn payments_between<'a>(
        &'a self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Option<Vec<ProviderPayment>>, PaymentError>> {
        Box::pin(async move {
            // The sandbox keeps no index by time: a scan, as a real processor's list call
            // would be paged through.
            let mut listed = Vec::new();
            for entry in self.payments.iter() {
                let (reference, payment) =
                    entry.map_err(|error| PaymentError::Unavailable(error.to_string()))?;
                if (from..to).contains(&payment.created_at) {
                    listed.push(ProviderPayment {
                        reference,
                        created_at: payment.created_at,
                        authorized_cents: payment.authorized,
                        captured_cents: payment.captured,
                        refunded_cents: payment.refunded,
                        voided: payment.state == PaymentState::Voided,
                    });
                }
            }
            Ok(Some(listed))
        })
    }

    fn purge_expired(&self, batch: usize) -> BoxFuture<'_, Result<usize, PaymentError>> {
        Box::pin(async move {
            self.purge_keys(self.clock.now(), batch)
                .await
                .map_err(|error| PaymentError::Unavailable(error.to_string()))
        })
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
