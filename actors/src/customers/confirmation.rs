//! E-mail confirmation: a new account's address, or a changed one, is proven by a code sent to
//! it (by the notifications service, which receives the code in the private
//! `ConfirmationRequested` event written with the change).
//!
//! A new account waits as `pending_confirmation`: it may log in, but not book. A changed
//! address waits beside the confirmed one, sealed under the customer's key: the old address
//! stays the login and the contact until the code is confirmed, and the new one is claimed in
//! the e-mail index only then (so it may turn out to be taken by then: `Conflict`). The rules
//! of the codes are in `confirmation_rules.rs`; every write here is the customer's actor's.

use chrono::TimeDelta;

use super::confirmation_rules::{self, ConfirmationRecord, Verdict};
use super::entity::{CustomerEntity, CustomerMsg, CustomersContext, SideWrites};
use super::error::CustomersError;
use super::model::{Customer, StoredStatus};
use super::privacy::Sealed;
use super::{CustomersHandle, rules};
use crate::domain::InvalidField;
use crate::events::EventData;
use crate::ids::CustomerId;

/// A new code for `customer`: the pending confirmation to store and the event that carries the
/// code to the notifications service.
pub(super) fn issue_code(
    context: &CustomersContext,
    customer: CustomerId,
    previous: Option<&ConfirmationRecord>,
    new_address: Option<Sealed>,
) -> (ConfirmationRecord, EventData) {
    let code = confirmation_rules::new_code();
    let hash =
        confirmation_rules::code_hash(&context.tables.privacy.keys().current, customer, &code);
    let address_change = new_address.is_some();
    let record = confirmation_rules::issue(
        previous,
        hash,
        context.clock.now(),
        context.confirmation_ttl,
        new_address,
    );
    let event = EventData::ConfirmationRequested {
        code,
        expires_at: record.expires_at,
        address_change,
    };
    (record, event)
}

fn invalid_code(reason: impl Into<String>) -> CustomersError {
    CustomersError::Invalid(vec![InvalidField::new("code", reason)])
}

impl CustomerEntity {
    pub(super) async fn confirm(
        &mut self,
        code: &str,
        context: &CustomersContext,
    ) -> Result<Customer, CustomersError> {
        let current = self.record.as_ref().ok_or(CustomersError::NotFound)?;
        if current.status == StoredStatus::Erased {
            return Err(CustomersError::Erased);
        }
        let pending =
            context
                .tables
                .confirmations
                .get(&self.id)?
                .ok_or(CustomersError::InvalidState(
                    "there is nothing to confirm: the address is confirmed",
                ))?;
        let keys = context.tables.privacy.keys();
        let presented = confirmation_rules::code_hash(&keys.current, self.id, code);
        let now = context.clock.now();
        match confirmation_rules::judge(&pending, &presented, now) {
            Verdict::Spent => Err(invalid_code(
                "too many wrong codes: ask for a new one (POST /v1/customers/me/email-confirmation/resend)",
            )),
            Verdict::Expired => Err(invalid_code(
                "the code expired: ask for a new one (POST /v1/customers/me/email-confirmation/resend)",
            )),
            Verdict::Wrong { left } => {
                let after = confirmation_rules::after_wrong_try(&pending);
                context.tables.confirmations.insert(&self.id, &after)?;
                context.tables.store.commit().await?;
                Err(invalid_code(if left == 0 {
                    "wrong code, and the last try: ask for a new one".to_owned()
                } else {
                    format!("wrong code; {left} tries left")
                }))
            }
            Verdict::Confirmed => {
                let mut next = current.clone();
                if next.status == StoredStatus::PendingConfirmation {
                    next.status = StoredStatus::Active;
                }
                if let (Some(sealed), Some(slot)) = (&pending.new_address, current.slot) {
                    let key = context.tables.privacy.key(self.id, slot)?;
                    next.email = Some(key.open::<String>(self.id, sealed)?);
                }
                next.email_change_pending = false;
                next.updated_at = now;
                let side = SideWrites {
                    confirmation: Some(None),
                    events: vec![EventData::EmailConfirmed],
                };
                context
                    .tables
                    .write(Some(current), &next, &context.admins, side)
                    .await?;
                let view = rules::view(&next);
                self.record = Some(next);
                tracing::info!(customer = %self.id, "e-mail address confirmed");
                Ok(view)
            }
        }
    }

    pub(super) async fn resend(
        &mut self,
        context: &CustomersContext,
    ) -> Result<Customer, CustomersError> {
        let current = self.record.as_ref().ok_or(CustomersError::NotFound)?;
        if current.status == StoredStatus::Erased {
            return Err(CustomersError::Erased);
        }
        let pending =
            context
                .tables
                .confirmations
                .get(&self.id)?
                .ok_or(CustomersError::InvalidState(
                    "there is nothing to confirm: the address is confirmed",
                ))?;
        let new_address = pending.new_address.clone();
        self.send_code(Some(&pending), new_address, context).await
    }

    pub(super) async fn change_address(
        &mut self,
        email: String,
        context: &CustomersContext,
    ) -> Result<Customer, CustomersError> {
        let current = self.record.as_ref().ok_or(CustomersError::NotFound)?;
        let slot = match (current.status, current.slot) {
            (StoredStatus::Erased, _) | (_, None) => return Err(CustomersError::Erased),
            (_, Some(slot)) => slot,
        };
        let sealed = context
            .tables
            .privacy
            .key(self.id, slot)?
            .seal(self.id, &email)?;
        let pending = context.tables.confirmations.get(&self.id)?;
        self.send_code(pending.as_ref(), Some(sealed), context)
            .await
    }

    /// Stores a new code (for `new_address`, if any) with the event that sends it, unless the
    /// sending limits say to wait.
    async fn send_code(
        &mut self,
        previous: Option<&ConfirmationRecord>,
        new_address: Option<Sealed>,
        context: &CustomersContext,
    ) -> Result<Customer, CustomersError> {
        let current = self.record.as_ref().ok_or(CustomersError::NotFound)?;
        let now = context.clock.now();
        let sent = previous
            .map(|pending| pending.sent_at.as_slice())
            .unwrap_or_default();
        if let Some(retry_after_s) = confirmation_rules::resend_wait(sent, now) {
            return Err(CustomersError::ConfirmationRateLimited { retry_after_s });
        }
        let (record, event) = issue_code(context, self.id, previous, new_address);
        let mut next = current.clone();
        next.email_change_pending = record.new_address.is_some();
        next.updated_at = now;
        let side = SideWrites {
            confirmation: Some(Some(record)),
            events: vec![event],
        };
        context
            .tables
            .write(Some(current), &next, &context.admins, side)
            .await?;
        let view = rules::view(&next);
        self.record = Some(next);
        Ok(view)
    }
}

impl CustomersHandle {
    /// Confirms the address waiting for confirmation (the account's own, or a changed one) with
    /// the code sent to it. A wrong, expired or spent code is `Invalid` on the field `code`;
    /// nothing waiting is `InvalidState`; a changed address taken by someone else meanwhile is
    /// `Conflict`.
    pub async fn confirm_email(
        &self,
        id: CustomerId,
        code: &str,
    ) -> Result<Customer, CustomersError> {
        let code = confirmation_rules::parse_code(code)
            .map_err(|field| CustomersError::Invalid(vec![field]))?;
        self.customers
            .call(id, |reply| CustomerMsg::Confirm {
                code: code.clone(),
                reply,
            })
            .await?
    }

    /// Sends a new code to the address waiting for confirmation (the previous code stops
    /// working). At most one a minute and five an hour: `ConfirmationRateLimited` says how long
    /// to wait.
    pub async fn resend_confirmation(&self, id: CustomerId) -> Result<Customer, CustomersError> {
        self.customers
            .call(id, |reply| CustomerMsg::Resend { reply })
            .await?
    }

    /// Starts the confirmation of a changed address (see the module's comment).
    pub(super) async fn request_address_change(
        &self,
        id: CustomerId,
        email: String,
    ) -> Result<Customer, CustomersError> {
        self.customers
            .call(id, |reply| CustomerMsg::ChangeAddress {
                email: email.clone(),
                reply,
            })
            .await?
    }
}

/// How long a code works, from `notify.confirmation_ttl_min`.
pub(super) fn ttl(minutes: u32) -> TimeDelta {
    TimeDelta::minutes(i64::from(minutes.max(1)))
}
