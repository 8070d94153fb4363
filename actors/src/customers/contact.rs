//! The customers service answering the notifications service's question: where to write to a
//! customer and in which language (see [`ContactLookup`]).

use crate::ask::AskError;
use crate::ids::CustomerId;
use crate::ports::{BoxFuture, Contact, ContactLookup};

use super::model::{CustomerRecord, StoredStatus};
use super::{CustomersError, CustomersHandle};

impl CustomersHandle {
    /// The address waiting for confirmation (a changed e-mail), opened with the customer's key.
    fn address_being_confirmed(
        &self,
        record: &CustomerRecord,
    ) -> Result<Option<String>, CustomersError> {
        let pending = self.tables.confirmations.get(&record.id)?;
        match (pending.and_then(|pending| pending.new_address), record.slot) {
            (Some(sealed), Some(slot)) => Ok(Some(
                self.tables
                    .privacy
                    .key(record.id, slot)?
                    .open::<String>(record.id, &sealed)?,
            )),
            _ => Ok(None),
        }
    }

    fn contact_of(
        &self,
        customer: CustomerId,
        address_being_confirmed: bool,
    ) -> Result<Option<Contact>, CustomersError> {
        let Some(record) = self.tables.get(customer)? else {
            return Ok(None);
        };
        if record.status == StoredStatus::Erased {
            return Ok(None);
        }
        let email = match address_being_confirmed {
            true => self.address_being_confirmed(&record)?.or(record.email),
            false => record.email,
        };
        Ok(email.map(|email| Contact {
            email,
            name: record.name,
            locale: record.locale,
        }))
    }
}

impl ContactLookup for CustomersHandle {
    fn contact(
        &self,
        customer: CustomerId,
        address_being_confirmed: bool,
    ) -> BoxFuture<'_, Result<Option<Contact>, AskError>> {
        Box::pin(async move {
            self.contact_of(customer, address_being_confirmed)
                .map_err(|error| AskError::Unavailable {
                    actor: format!("customers ({error})"),
                })
        })
    }
}
