//! The customers service answering the notifications service's question: where to write to a
//! customer and in which language (see [`ContactLookup`]).

use crate::ask::AskError;
use crate::domain::Locale;
use crate::ids::CustomerId;
use crate::ports::{BoxFuture, Contact, ContactLookup};

use super::{CustomerStatus, CustomersError, CustomersHandle};

impl ContactLookup for CustomersHandle {
    fn contact(
        &self,
        customer: CustomerId,
        address_being_confirmed: bool,
    ) -> BoxFuture<'_, Result<Option<Contact>, AskError>> {
        // Only the confirmed address exists so far; `address_being_confirmed` answers it too.
        let _ = address_being_confirmed;
        Box::pin(async move {
            let profile = match self.get(customer).await {
                Ok(profile) => profile,
                Err(CustomersError::NotFound | CustomersError::Erased) => return Ok(None),
                Err(error) => {
                    return Err(AskError::Unavailable {
                        actor: format!("customers ({error})"),
                    });
                }
            };
            if profile.status == CustomerStatus::Erased {
                return Ok(None);
            }
            Ok(profile.email.map(|email| Contact {
                email,
                name: profile.name,
                locale: Locale::default(),
            }))
        })
    }
}
