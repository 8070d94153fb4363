//! The car unit's credential.
//!
//! A random 256-bit token, shown once at registration; the store keeps only its SHA-256. A
//! fast hash is right here, unlike for passwords: the token has full entropy, so there is
//! nothing to brute-force from the hash, and the check runs on every position request.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh token (64 lower-case hex characters) and its hash.
pub(crate) fn new_device_token() -> (String, [u8; 32]) {
    let mut bytes = [0u8; 32];
    // ThreadRng is a CSPRNG seeded from the OS.
    rand::rng().fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let hash = hash(&token);
    (token, hash)
}

/// SHA-256 of the token's text.
pub(crate) fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `presented` is the token whose hash is `stored`, in constant time (a timing
/// difference must not tell how many leading bytes of the hash matched).
pub(crate) fn matches(presented: &str, stored: &[u8; 32]) -> bool {
    hash(presented).ct_eq(stored).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_verify_against_their_own_hash_only() {
        let (token, stored) = new_device_token();
        let (other, _) = new_device_token();
        assert_eq!(token.len(), 64);
        assert!(token.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_ne!(token, other);
        assert!(matches(&token, &stored));
        assert!(!matches(&other, &stored));
        assert!(!matches("", &stored));
        assert!(!matches(&token.to_uppercase(), &stored));
        assert_ne!(stored, [0; 32]);
    }
}
