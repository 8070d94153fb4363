//! The customer entity: changes to one account are serialised through its actor; the record
//! and its unique-index entries (CPF, e-mail) always change in one transaction, durably, before
//! the reply.

use ractor::RpcReplyPort;
use storage::{StorageError, Store, Table, TxAbort, TxError, UniqueIndex};

use super::accounts::AdminRecord;
use super::confirmation_rules::ConfirmationRecord;
use super::error::CustomersError;
use super::model::{Change, Customer, CustomerRecord, StoredStatus};
use super::privacy::Privacy;
use super::rules;
use super::stored::{self, StoredCustomer};
use crate::billing::{BillingError, BillingHandle};
use crate::clock::SharedClock;
use crate::domain::{Cents, Locale};
use crate::entity::{Activation, ActorProcessingErr, Entity};
use crate::events::{self, DomainEvent, EventData, Subjects};
use crate::ids::{CustomerId, ReservationId};

/// Where a customer answers.
pub(crate) type Reply = RpcReplyPort<Result<Customer, CustomersError>>;

/// The messages of a customer.
pub(crate) enum CustomerMsg {
    /// Stores a new account (validated, hashed, tokenized by the handle).
    Create {
        record: CustomerRecord,
        reply: Reply,
    },
    /// Applies a validated change.
    Update { change: Change, reply: Reply },
    /// Anonymises the account.
    Erase { reply: Reply },
    /// Records what the card refused of a reservation's cost.
    RecordOutstanding {
        reservation: ReservationId,
        cents: i64,
        reply: Reply,
    },
    /// Charges the card for the outstanding balance.
    PayOutstanding { reply: Reply },
    /// Checks a confirmation code (six digits, validated by the handle).
    Confirm { code: String, reply: Reply },
    /// Sends a new confirmation code, within the sending limits.
    Resend { reply: Reply },
    /// Starts the confirmation of a changed address (normalised, checked free by the handle).
    ChangeAddress { email: String, reply: Reply },
}

/// What a write changes beside the record, in the same transaction.
#[derive(Default)]
pub(crate) struct SideWrites {
    /// `Some(Some(..))` stores the customer's pending confirmation, `Some(None)` removes it.
    pub(crate) confirmation: Option<Option<ConfirmationRecord>>,
    /// The events the change causes.
    pub(crate) events: Vec<EventData>,
}

impl SideWrites {
    /// Only events.
    pub(crate) fn events(events: Vec<EventData>) -> SideWrites {
        SideWrites {
            confirmation: None,
            events,
        }
    }
}

/// The customers store's tables, and the keys that seal what they hold.
#[derive(Clone)]
pub(crate) struct Tables {
    pub(crate) store: Store,
    pub(crate) customers: Table<CustomerId, StoredCustomer>,
    /// Blind-index entries of CPFs (see `privacy`), never the CPF itself.
    pub(crate) by_cpf: UniqueIndex<String, CustomerId>,
    /// Blind-index entries of e-mails.
    pub(crate) by_email: UniqueIndex<String, CustomerId>,
    /// Pending e-mail confirmations (a side table: profiles stored before confirmation
    /// existed keep their layout).
    pub(crate) confirmations: Table<CustomerId, ConfirmationRecord>,
    /// Each customer's language; absent for customers registered before it existed.
    pub(crate) locales: Table<CustomerId, Locale>,
    pub(crate) privacy: Privacy,
}

impl Tables {
    pub(crate) fn open(store: &Store, privacy: Privacy) -> Result<Tables, StorageError> {
        Ok(Tables {
            store: store.clone(),
            customers: store.table("customers")?,
            by_cpf: store.unique_index("customers_by_cpf")?,
            by_email: store.unique_index("customers_by_email")?,
            confirmations: store.table("confirmations")?,
            locales: store.table("customer_locales")?,
            privacy,
        })
    }

    /// The customer `id`, opened.
    pub(crate) fn get(&self, id: CustomerId) -> Result<Option<CustomerRecord>, CustomersError> {
        match self.customers.get(&id)? {
            Some(stored) => Ok(Some(self.open_stored(stored)?)),
            None => Ok(None),
        }
    }

    /// Opens a stored customer, with what the side tables keep of it.
    pub(crate) fn open_stored(
        &self,
        stored: StoredCustomer,
    ) -> Result<CustomerRecord, CustomersError> {
        let mut record = stored::open(stored, &self.privacy)?;
        record.locale = self.locales.get(&record.id)?.unwrap_or_default();
        record.email_change_pending = self
            .confirmations
            .get(&record.id)?
            .is_some_and(|pending| pending.new_address.is_some());
        Ok(record)
    }

    /// Whether a customer holds the CPF (11 digits).
    pub(crate) fn cpf_taken(&self, cpf: &str) -> Result<bool, StorageError> {
        Ok(self.by_cpf.get(&self.privacy.blind_cpf(cpf))?.is_some())
    }

    /// The customer holding the (normalised) e-mail.
    pub(crate) fn email_owner(&self, email: &str) -> Result<Option<CustomerId>, StorageError> {
        self.by_email.get(&self.privacy.blind_email(email))
    }

    /// Writes `next` in place of `previous` (none for a new account), moving the CPF and
    /// e-mail index entries with it in the same transaction, with the `side` writes and the
    /// events the change causes, then waits for durability. `admins` is read inside the
    /// transaction, so an address an administrator holds is refused even when the
    /// administrator was created a moment ago.
    pub(crate) async fn write(
        &self,
        previous: Option<&CustomerRecord>,
        next: &CustomerRecord,
        admins: &Table<String, AdminRecord>,
        side: SideWrites,
    ) -> Result<(), CustomersError> {
        let id = next.id;
        let locale = Some(next.locale).filter(|locale| previous.map(|p| p.locale) != Some(*locale));
        let events: Vec<_> = side
            .events
            .into_iter()
            .map(|data| {
                DomainEvent::new("customers", next.updated_at, Subjects::customer(id), data)
            })
            .collect();
        let outbox = self.store.outbox();
        let blind_cpf =
            |record: &CustomerRecord| record.cpf.as_deref().map(|cpf| self.privacy.blind_cpf(cpf));
        let blind_email = |record: &CustomerRecord| {
            record
                .email
                .as_deref()
                .map(|email| self.privacy.blind_email(email))
        };
        let old_cpf = previous.and_then(blind_cpf);
        let old_email = previous.and_then(blind_email);
        let new_cpf = blind_cpf(next);
        let new_email = blind_email(next);
        let new_plain_email = next
            .email
            .clone()
            .filter(|email| previous.and_then(|p| p.email.as_ref()) != Some(email));
        let sealed = stored::seal(next, &self.privacy)?;
        let written = self.store.transaction::<(), CustomersError>(
            &[
                &self.customers,
                &self.by_cpf,
                &self.by_email,
                admins,
                &self.confirmations,
                &self.locales,
                outbox.member(),
            ],
            |tx| {
                let by_cpf = tx.index(&self.by_cpf)?;
                let by_email = tx.index(&self.by_email)?;
                if let Some(email) = &new_plain_email
                    && tx.table(admins)?.get(email)?.is_some()
                {
                    return Err(TxAbort::abort(CustomersError::Conflict { field: "email" }));
                }
                if let Some(cpf) = old_cpf
                    .as_ref()
                    .filter(|cpf| new_cpf.as_ref() != Some(*cpf))
                {
                    by_cpf.release(cpf, &id)?;
                }
                if let Some(email) = old_email
                    .as_ref()
                    .filter(|email| new_email.as_ref() != Some(*email))
                {
                    by_email.release(email, &id)?;
                }
                if let Some(cpf) = &new_cpf {
                    by_cpf.claim(cpf, &id)?;
                }
                if let Some(email) = &new_email {
                    by_email.claim(email, &id)?;
                }
                tx.table(&self.customers)?.insert(&id, &sealed)?;
                match &side.confirmation {
                    Some(Some(pending)) => {
                        tx.table(&self.confirmations)?.insert(&id, pending)?;
                    }
                    Some(None) => {
                        tx.table(&self.confirmations)?.remove(&id)?;
                    }
                    None => {}
                }
                if let Some(locale) = &locale {
                    tx.table(&self.locales)?.insert(&id, locale)?;
                }
                events::append(outbox, tx, &events)?;
                Ok(())
            },
        );
        match written {
            Ok(()) => {}
            Err(TxError::Storage(StorageError::Conflict { index })) => {
                let field = if index == self.by_cpf.name() {
                    "cpf"
                } else {
                    "email"
                };
                return Err(CustomersError::Conflict { field });
            }
            Err(TxError::Storage(error)) => return Err(error.into()),
            Err(TxError::Aborted(error)) => return Err(error),
        }
        self.store.commit().await?;
        Ok(())
    }
}

/// What a customer needs from its service.
#[derive(Clone)]
pub(crate) struct CustomersContext {
    pub(crate) tables: Tables,
    pub(crate) admins: Table<String, AdminRecord>,
    pub(crate) clock: SharedClock,
    pub(crate) billing: BillingHandle,
    /// `notify.confirmation_ttl_min`.
    pub(crate) confirmation_ttl: chrono::TimeDelta,
}

/// One account; `record` is `None` only between activation for a registration and the
/// registration itself.
pub(crate) struct CustomerEntity {
    pub(super) id: CustomerId,
    pub(super) record: Option<CustomerRecord>,
}

impl Entity for CustomerEntity {
    type Id = CustomerId;
    type Msg = CustomerMsg;
    type Context = CustomersContext;
    const KIND: &'static str = "customer";

    async fn activate(
        id: CustomerId,
        activation: Activation,
        context: &CustomersContext,
    ) -> Result<Option<Self>, ActorProcessingErr> {
        let record = context.tables.get(id)?;
        Ok(match (record, activation) {
            (None, Activation::Existing) => None,
            (record, _) => Some(CustomerEntity { id, record }),
        })
    }

    async fn handle(
        &mut self,
        message: CustomerMsg,
        context: &CustomersContext,
    ) -> Result<(), ActorProcessingErr> {
        let (result, reply) = match message {
            CustomerMsg::Create { record, reply } => (self.create(record, context).await, reply),
            CustomerMsg::Update { change, reply } => (self.update(change, context).await, reply),
            CustomerMsg::Erase { reply } => (self.erase(context).await, reply),
            CustomerMsg::RecordOutstanding {
                reservation,
                cents,
                reply,
            } => (
                self.record_outstanding(reservation, cents, context).await,
                reply,
            ),
            CustomerMsg::PayOutstanding { reply } => (self.pay_outstanding(context).await, reply),
            CustomerMsg::Confirm { code, reply } => (self.confirm(&code, context).await, reply),
            CustomerMsg::Resend { reply } => (self.resend(context).await, reply),
            CustomerMsg::ChangeAddress { email, reply } => {
                (self.change_address(email, context).await, reply)
            }
        };
        // After a store failure the memory may disagree with the disk: restart from the store.
        let store_failed = matches!(result, Err(CustomersError::Storage(_)));
        let _ = reply.send(result);
        if store_failed {
            return Err(format!("customers store failed for customer {}", self.id).into());
        }
        Ok(())
    }
}

impl CustomerEntity {
    async fn create(
        &mut self,
        record: CustomerRecord,
        context: &CustomersContext,
    ) -> Result<Customer, CustomersError> {
        if let Some(existing) = &self.record {
            // A retried ask of the same registration finds it done.
            return Ok(rules::view(existing));
        }
        let pending = record.status == StoredStatus::PendingConfirmation;
        let mut side = SideWrites::events(vec![EventData::CustomerRegistered {
            pending_confirmation: pending,
        }]);
        if pending {
            let (confirmation, requested) =
                super::confirmation::issue_code(context, record.id, None, None);
            side.confirmation = Some(Some(confirmation));
            side.events.push(requested);
        }
        context
            .tables
            .write(None, &record, &context.admins, side)
            .await?;
        let view = rules::view(&record);
        self.record = Some(record);
        tracing::info!(customer = %self.id, "customer registered");
        Ok(view)
    }

    async fn update(
        &mut self,
        change: Change,
        context: &CustomersContext,
    ) -> Result<Customer, CustomersError> {
        let current = self.record.as_ref().ok_or(CustomersError::NotFound)?;
        if current.status == StoredStatus::Erased {
            return Err(CustomersError::Erased);
        }
        let next = rules::apply_change(current, &change, context.clock.now());
        context
            .tables
            .write(Some(current), &next, &context.admins, SideWrites::default())
            .await?;
        let view = rules::view(&next);
        self.record = Some(next);
        Ok(view)
    }

    async fn erase(&mut self, context: &CustomersContext) -> Result<Customer, CustomersError> {
        let current = self.record.as_ref().ok_or(CustomersError::NotFound)?;
        if current.status == StoredStatus::Erased {
            return Ok(rules::view(current));
        }
        let next = rules::anonymised(current, context.clock.now());
        let side = SideWrites {
            confirmation: Some(None),
            events: vec![EventData::CustomerErased],
        };
        context
            .tables
            .write(Some(current), &next, &context.admins, side)
            .await?;
        // The record no longer names the key; destroying it makes every sealed copy of the
        // personal data unreadable. A crash before this line leaves the slot to the start-up
        // sweep, which destroys keys no record names.
        if let Some(slot) = current.slot {
            let (privacy, id) = (context.tables.privacy.clone(), self.id);
            super::privacy::blocking(move || privacy.destroy(id, slot)).await?;
        }
        let view = rules::view(&next);
        self.record = Some(next);
        tracing::info!(customer = %self.id, "customer erased");
        Ok(view)
    }

    async fn record_outstanding(
        &mut self,
        reservation: ReservationId,
        cents: i64,
        context: &CustomersContext,
    ) -> Result<Customer, CustomersError> {
        let current = self.record.as_ref().ok_or(CustomersError::NotFound)?;
        let mut next = current.clone();
        next.outstanding.retain(|(id, _)| *id != reservation);
        if cents > 0 {
            next.outstanding.push((reservation, cents));
        }
        if next.outstanding == current.outstanding {
            return Ok(rules::view(current));
        }
        next.updated_at = context.clock.now();
        let added = next.outstanding_cents() - current.outstanding_cents();
        let event = match added {
            0 => None,
            added if added > 0 => Some(EventData::BalanceOutstanding {
                amount_cents: Cents::new(added),
                owed_cents: Cents::new(next.outstanding_cents()),
            }),
            paid => Some(EventData::BalancePaid {
                amount_cents: Cents::new(-paid),
            }),
        };
        let side = SideWrites::events(event.into_iter().collect());
        context
            .tables
            .write(Some(current), &next, &context.admins, side)
            .await?;
        let view = rules::view(&next);
        self.record = Some(next);
        Ok(view)
    }

    async fn pay_outstanding(
        &mut self,
        context: &CustomersContext,
    ) -> Result<Customer, CustomersError> {
        let current = self.record.clone().ok_or(CustomersError::NotFound)?;
        if current.outstanding.is_empty() {
            return Ok(rules::view(&current));
        }
        let token = current
            .card
            .as_ref()
            .map(|card| card.token.clone())
            .ok_or(CustomersError::NoCard)?;
        let mut refused = None;
        for (reservation, _) in current.outstanding.clone() {
            let left = match context
                .billing
                .collect_outstanding(reservation, token.clone())
                .await
            {
                Ok(_) => 0,
                Err(BillingError::SettlementIncomplete {
                    outstanding_cents, ..
                }) => outstanding_cents,
                Err(error) => return Err(error.into()),
            };
            if left > 0 {
                refused = Some(left);
            }
            self.record_outstanding(reservation, left, context).await?;
        }
        let record = self.record.as_ref().ok_or(CustomersError::NotFound)?;
        match refused {
            Some(_) => Err(CustomersError::OutstandingBalance {
                outstanding_cents: record.outstanding_cents(),
            }),
            None => Ok(rules::view(record)),
        }
    }
}
