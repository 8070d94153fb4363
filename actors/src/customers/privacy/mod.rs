//! Personal data at rest: sealed per customer, findable by blind index, erasable for good.
//!
//! Every customer gets a random key of their own, kept wrapped by the data key in the key
//! vault (`key_vault.rs`). The personal fields (name, e-mail, CPF, CNH, phone, card) are
//! stored only as one XChaCha20-Poly1305 box under that key, bound to the customer's id; the
//! CPF and the e-mail stay unique through HMAC blind indexes (`data_keys.rs`), so neither the
//! record nor its index keys hold a document in the clear. Erasure destroys the customer's key
//! in the vault: the boxes sled may still keep in old log segments can no longer be opened.

pub(crate) mod data_keys;
mod key_vault;
mod replica;
#[cfg(test)]
mod replica_tests;
pub(crate) mod sweep;

use std::path::Path;
use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

use crate::ids::CustomerId;

pub(crate) use data_keys::{DataKey, DataKeys};
use key_vault::KeyVault;
pub use key_vault::VaultError;
pub use replica::{
    Restored, SlotBytes, VaultReplica, VaultReplicaError, VaultReplicaSlot, restore_vault,
};

/// The vault file, in the data directory beside the stores.
pub(crate) const VAULT_FILE: &str = "customer_keys";

/// Bytes sealed with a customer's key: the nonce and the ciphertext with its tag.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sealed {
    nonce: [u8; data_keys::NONCE_BYTES],
    ciphertext: Vec<u8>,
}

/// The keys and the vault. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Privacy {
    keys: Arc<DataKeys>,
    vault: Arc<KeyVault>,
}

impl std::fmt::Debug for Privacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Privacy").finish_non_exhaustive()
    }
}

impl Privacy {
    /// The configured (or generated) data keys and the vault in `data_dir`, written through
    /// `replica` too in cluster mode.
    pub(crate) fn open(
        data_key: &str,
        previous: &[String],
        data_dir: &Path,
        replica: Option<Arc<dyn VaultReplica>>,
    ) -> Result<Privacy, VaultError> {
        let keys = DataKeys::load(data_key, previous, data_dir)?;
        let vault = KeyVault::open(&data_dir.join(VAULT_FILE), replica)?;
        Ok(Privacy {
            keys: Arc::new(keys),
            vault: Arc::new(vault),
        })
    }

    /// The blind-index entry of a CPF (its 11 digits).
    pub(crate) fn blind_cpf(&self, cpf: &str) -> String {
        self.keys.current.blind("cpf", cpf)
    }

    /// The blind-index entry of a normalised e-mail.
    pub(crate) fn blind_email(&self, email: &str) -> String {
        self.keys.current.blind("email", email)
    }

    /// A new random key for `customer`, stored durably in the vault: its slot and the key.
    /// Blocking (one `fdatasync`): call from a blocking context.
    pub(crate) fn new_key(&self, customer: CustomerId) -> Result<(u64, CustomerKey), VaultError> {
        let key: [u8; 32] = rand::random();
        let slot = self
            .vault
            .store(customer.0.as_bytes(), &key, &self.keys.current)?;
        Ok((slot, CustomerKey(key)))
    }

    /// `customer`'s key, from slot `slot`.
    pub(crate) fn key(&self, customer: CustomerId, slot: u64) -> Result<CustomerKey, VaultError> {
        self.vault
            .key(slot, customer.0.as_bytes(), &self.keys)
            .map(CustomerKey)
    }

    /// Destroys `customer`'s key (crypto-shredding). Blocking (one `fdatasync`).
    pub(crate) fn destroy(&self, customer: CustomerId, slot: u64) -> Result<(), VaultError> {
        self.vault.destroy(slot, customer.0.as_bytes())
    }

    pub(crate) fn keys(&self) -> &DataKeys {
        &self.keys
    }

    pub(crate) fn vault(&self) -> &KeyVault {
        &self.vault
    }
}

/// Runs a vault write (an `fdatasync`) off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, VaultError> + Send + 'static,
) -> Result<T, VaultError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| VaultError::Io(std::io::Error::other(error)))?
}

/// One customer's own key. No `Debug`, no `Serialize`: it exists only in memory.
pub(crate) struct CustomerKey([u8; 32]);

impl CustomerKey {
    /// Seals `value` for `customer` (the id is authenticated with it).
    pub(crate) fn seal<T: Serialize>(
        &self,
        customer: CustomerId,
        value: &T,
    ) -> Result<Sealed, VaultError> {
        let plain = bincode::serde::encode_to_vec(value, bincode::config::standard())
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
        let nonce: [u8; data_keys::NONCE_BYTES] = rand::random();
        let ciphertext = XChaCha20Poly1305::new(&self.0.into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: customer.0.as_bytes(),
                },
            )
            .map_err(|_| std::io::Error::other("personal data too large to seal"))?;
        Ok(Sealed { nonce, ciphertext })
    }

    /// Opens what [`CustomerKey::seal`] sealed for `customer`.
    pub(crate) fn open<T: for<'de> Deserialize<'de>>(
        &self,
        customer: CustomerId,
        sealed: &Sealed,
    ) -> Result<T, VaultError> {
        let corrupt = || {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the personal data of customer {customer} does not open"),
            )
        };
        let plain = XChaCha20Poly1305::new(&self.0.into())
            .decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: customer.0.as_bytes(),
                },
            )
            .map_err(|_| corrupt())?;
        let (value, _) = bincode::serde::decode_from_slice(&plain, bincode::config::standard())
            .map_err(|_| corrupt())?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_for_its_customer_and_leaves_no_plain_text() {
        let dir = tempfile::tempdir().unwrap();
        let privacy = Privacy::open("", &[], dir.path(), None).unwrap();
        let ana = CustomerId::new();
        let (slot, key) = privacy.new_key(ana).unwrap();
        let sealed = key.seal(ana, &"529.982.247-25".to_owned()).unwrap();
        assert!(
            !sealed
                .ciphertext
                .windows(11)
                .any(|window| window == b"529.982.247")
        );
        let again = privacy.key(ana, slot).unwrap();
        assert_eq!(
            again.open::<String>(ana, &sealed).unwrap(),
            "529.982.247-25"
        );
        assert!(again.open::<String>(CustomerId::new(), &sealed).is_err());
        privacy.destroy(ana, slot).unwrap();
        assert!(privacy.key(ana, slot).is_err());
    }
}
