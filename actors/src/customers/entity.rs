//! The customer entity: changes to one account are serialised through its actor; the record
//! and its unique-index entries (CPF, e-mail) always change in one transaction, durably, before
//! the reply.

use ractor::RpcReplyPort;
use storage::{StorageError, Store, Table, TxError, UniqueIndex};

use super::error::CustomersError;
use super::model::{Change, Customer, CustomerRecord, StoredStatus};
use super::rules;
use crate::billing::{BillingError, BillingHandle};
use crate::clock::SharedClock;
use crate::entity::{Activation, ActorProcessingErr, Entity};
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
}

/// The customers store's tables.
#[derive(Clone)]
pub(crate) struct Tables {
    pub(crate) store: Store,
    pub(crate) customers: Table<CustomerId, CustomerRecord>,
    pub(crate) by_cpf: UniqueIndex<String, CustomerId>,
    pub(crate) by_email: UniqueIndex<String, CustomerId>,
}

impl Tables {
    pub(crate) fn open(store: &Store) -> Result<Tables, StorageError> {
        Ok(Tables {
            store: store.clone(),
            customers: store.table("customers")?,
            by_cpf: store.unique_index("customers_by_cpf")?,
            by_email: store.unique_index("customers_by_email")?,
        })
    }

    /// Writes `next` in place of `previous` (none for a new account), moving the CPF and
    /// e-mail index entries with it in the same transaction, then waits for durability.
    async fn write(
        &self,
        previous: Option<&CustomerRecord>,
        next: &CustomerRecord,
    ) -> Result<(), CustomersError> {
        let id = next.id;
        let old_cpf = previous.and_then(|record| record.cpf.clone());
        let old_email = previous.and_then(|record| record.email.clone());
        let written = self.store.transaction::<(), ()>(
            &[&self.customers, &self.by_cpf, &self.by_email],
            |tx| {
                let by_cpf = tx.index(&self.by_cpf)?;
                let by_email = tx.index(&self.by_email)?;
                if let Some(cpf) = old_cpf
                    .as_ref()
                    .filter(|cpf| next.cpf.as_ref() != Some(*cpf))
                {
                    by_cpf.release(cpf, &id)?;
                }
                if let Some(email) = old_email
                    .as_ref()
                    .filter(|email| next.email.as_ref() != Some(*email))
                {
                    by_email.release(email, &id)?;
                }
                if let Some(cpf) = &next.cpf {
                    by_cpf.claim(cpf, &id)?;
                }
                if let Some(email) = &next.email {
                    by_email.claim(email, &id)?;
                }
                tx.table(&self.customers)?.insert(&id, next)?;
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
            Err(TxError::Aborted(())) => {}
        }
        self.store.commit().await?;
        Ok(())
    }
}

/// What a customer needs from its service.
#[derive(Clone)]
pub(crate) struct CustomersContext {
    pub(crate) tables: Tables,
    pub(crate) clock: SharedClock,
    pub(crate) billing: BillingHandle,
}

/// One account; `record` is `None` only between activation for a registration and the
/// registration itself.
pub(crate) struct CustomerEntity {
    id: CustomerId,
    record: Option<CustomerRecord>,
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
        let record = context.tables.customers.get(&id)?;
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
        context.tables.write(None, &record).await?;
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
        context.tables.write(Some(current), &next).await?;
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
        context.tables.write(Some(current), &next).await?;
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
        context.tables.write(Some(current), &next).await?;
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
