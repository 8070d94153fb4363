//! The data key: the one secret that opens the customers' personal data.
//!
//! It never encrypts data itself. Two keys are derived from it (HMAC-SHA256 with distinct
//! labels, so neither reveals the other): a *wrapping* key, which encrypts each customer's own
//! key in the key vault, and a *blind-index* key, which turns a CPF or an e-mail into the
//! opaque index entry that keeps them unique without storing them. An id derived the same way
//! tells which data key wrapped a vault slot, so a rotation knows what to re-wrap.

use std::io::Write;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The file a generated data key is kept in, inside the data directory.
pub(crate) const FILE: &str = "data_key";

/// Bytes of a data key and of a customer key.
pub(crate) const KEY_BYTES: usize = 32;

/// Bytes of an XChaCha20 nonce: random nonces of this size never repeat in practice.
pub(crate) const NONCE_BYTES: usize = 24;

/// Bytes the AEAD adds (the Poly1305 tag).
pub(crate) const TAG_BYTES: usize = 16;

/// Which data key wrapped a slot: 8 bytes derived from it (not secret).
pub(crate) type KeyId = [u8; 8];

type HmacSha256 = Hmac<Sha256>;

fn derive(master: &[u8; KEY_BYTES], label: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length: this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// One data key with what is derived from it.
#[derive(Clone)]
pub(crate) struct DataKey {
    id: KeyId,
    wrapping: XChaCha20Poly1305,
    blind: [u8; 32],
}

impl DataKey {
    pub(crate) fn from_bytes(master: &[u8; KEY_BYTES]) -> DataKey {
        let id_bytes = derive(master, b"ev-rental data key id v1");
        let mut id = [0u8; 8];
        id.copy_from_slice(&id_bytes[..8]);
        let wrapping = XChaCha20Poly1305::new(&derive(master, b"ev-rental key wrapping v1").into());
        DataKey {
            id,
            wrapping,
            blind: derive(master, b"ev-rental blind index v1"),
        }
    }

    fn from_hex(text: &str) -> Result<DataKey, String> {
        let bytes = hex::decode(text.trim()).map_err(|error| error.to_string())?;
        let master: [u8; KEY_BYTES] = bytes
            .try_into()
            .map_err(|_| "a data key is 32 bytes (64 hex digits)".to_owned())?;
        Ok(DataKey::from_bytes(&master))
    }

    pub(crate) fn id(&self) -> KeyId {
        self.id
    }

    /// Encrypts a customer key for the vault; `owner` (the customer's id) is authenticated
    /// with it, so a slot copied to another customer does not open.
    pub(crate) fn wrap(
        &self,
        key: &[u8; KEY_BYTES],
        owner: &[u8],
    ) -> ([u8; NONCE_BYTES], [u8; KEY_BYTES + TAG_BYTES]) {
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let sealed = self
            .wrapping
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: key,
                    aad: owner,
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any 32-byte message");
        let mut out = [0u8; KEY_BYTES + TAG_BYTES];
        out.copy_from_slice(&sealed);
        (nonce, out)
    }

    /// The customer key in a slot, if it was wrapped by this data key for `owner`.
    pub(crate) fn unwrap(
        &self,
        nonce: &[u8; NONCE_BYTES],
        sealed: &[u8],
        owner: &[u8],
    ) -> Option<[u8; KEY_BYTES]> {
        let key = self
            .wrapping
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: owner,
                },
            )
            .ok()?;
        key.try_into().ok()
    }

    /// The blind-index entry of `value` in `field`'s index (64 hex digits): equal values give
    /// equal entries, and without the key an entry cannot be checked against a guess.
    pub(crate) fn blind(&self, field: &str, value: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.blind).expect("HMAC takes any key");
        mac.update(field.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// The current data key and the earlier ones a rotation still needs.
#[derive(Clone)]
pub(crate) struct DataKeys {
    pub(crate) current: DataKey,
    pub(crate) previous: Vec<DataKey>,
}

impl DataKeys {
    /// The key that wrapped a slot marked `id`.
    pub(crate) fn by_id(&self, id: KeyId) -> Option<&DataKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id == id)
    }

    /// The configured keys, or the current one generated into `data_dir` at first start.
    pub(crate) fn load(
        configured: &str,
        previous: &[String],
        data_dir: &Path,
    ) -> std::io::Result<DataKeys> {
        let invalid =
            |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
        let current = if configured.is_empty() {
            load_or_create(data_dir)?
        } else {
            DataKey::from_hex(configured)
                .map_err(|error| invalid(format!("auth.data_key: {error}")))?
        };
        let previous = previous
            .iter()
            .map(|text| {
                DataKey::from_hex(text)
                    .map_err(|error| invalid(format!("auth.previous_data_keys: {error}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DataKeys { current, previous })
    }
}

/// The key kept in `data_dir`, created (owner-only, synced) when absent.
fn load_or_create(data_dir: &Path) -> std::io::Result<DataKey> {
    let path = data_dir.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => DataKey::from_hex(&text).map_err(|error| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {error}", path.display()),
            )
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let master: [u8; KEY_BYTES] = rand::random();
            std::fs::create_dir_all(data_dir)?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path)?;
            file.write_all(hex::encode(master).as_bytes())?;
            file.sync_all()?;
            Ok(DataKey::from_bytes(&master))
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_key_opens_only_for_its_owner_and_its_data_key() {
        let one = DataKey::from_bytes(&[1; 32]);
        let two = DataKey::from_bytes(&[2; 32]);
        let (nonce, sealed) = one.wrap(&[7; 32], b"ana");
        assert_eq!(one.unwrap(&nonce, &sealed, b"ana"), Some([7; 32]));
        assert_eq!(one.unwrap(&nonce, &sealed, b"bruno"), None);
        assert_eq!(two.unwrap(&nonce, &sealed, b"ana"), None);
        assert_ne!(one.id(), two.id());
    }

    #[test]
    fn blind_entries_are_stable_per_key_and_separate_per_field() {
        let one = DataKey::from_bytes(&[1; 32]);
        let two = DataKey::from_bytes(&[2; 32]);
        assert_eq!(
            one.blind("cpf", "52998224725"),
            one.blind("cpf", "52998224725")
        );
        assert_ne!(
            one.blind("cpf", "52998224725"),
            one.blind("email", "52998224725")
        );
        assert_ne!(
            one.blind("cpf", "52998224725"),
            two.blind("cpf", "52998224725")
        );
        assert!(!one.blind("cpf", "52998224725").contains("52998224725"));
    }

    #[test]
    fn a_generated_key_is_kept_private_and_a_configured_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataKeys::load("", &[], dir.path()).unwrap();
        let again = DataKeys::load("", &[], dir.path()).unwrap();
        assert_eq!(first.current.id(), again.current.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let configured = hex::encode([9u8; 32]);
        let keys = DataKeys::load(&configured, &[hex::encode([1u8; 32])], dir.path()).unwrap();
        assert_eq!(keys.current.id(), DataKey::from_bytes(&[9; 32]).id());
        assert!(keys.by_id(DataKey::from_bytes(&[1; 32]).id()).is_some());
        assert!(DataKeys::load("abcd", &[], dir.path()).is_err());
    }
}
