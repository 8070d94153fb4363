//! Standard Webhooks signatures (<https://www.standardwebhooks.com>), so that an operator's
//! endpoint can verify our webhooks with any of that specification's libraries.
//!
//! The secret is `whsec_` followed by the base64 of the key; the signature is
//! `v1,` + base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")). Several
//! space-separated signatures may be sent while a key is rotated; a verifier accepts any.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The prefix of a Standard Webhooks secret.
const PREFIX: &str = "whsec_";

/// Why a configured secret cannot sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSecret {
    /// It does not start with `whsec_`.
    #[error("the secret does not start with whsec_")]
    Prefix,
    /// The rest is not base64.
    #[error("the secret is not base64 after whsec_")]
    Base64,
    /// The key is shorter than 24 or longer than 64 bytes, as the specification asks.
    #[error("the key is {0} bytes; 24 to 64 are accepted")]
    Length(usize),
}

/// The signing key of the operators' endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookKey(Vec<u8>);

impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookKey(<redacted>)")
    }
}

impl WebhookKey {
    /// The key of a `whsec_…` secret.
    pub fn from_secret(secret: &str) -> Result<Self, InvalidSecret> {
        let encoded = secret
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(InvalidSecret::Prefix)?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| InvalidSecret::Base64)?;
        if !(24..=64).contains(&key.len()) {
            return Err(InvalidSecret::Length(key.len()));
        }
        Ok(WebhookKey(key))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return Vec::new();
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }

    /// The `webhook-signature` header of a message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }

    /// Whether one of the `v1` signatures of `header` signs this message (compared in constant
    /// time). The timestamp's freshness is the receiver's rule, not checked here.
    pub fn verify(&self, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
        let expected = self.mac(id, timestamp, body);
        let matched = header
            .split(' ')
            .filter_map(|part| part.split_once(','))
            .filter(|(version, _)| *version == "v1")
            .filter_map(|(_, signature)| STANDARD.decode(signature).ok())
            .fold(subtle::Choice::from(0), |found, candidate| {
                found | expected.as_slice().ct_eq(candidate.as_slice())
            });
        bool::from(matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector published with the specification's reference libraries.
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TIMESTAMP: i64 = 1_649_367_553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    #[test]
    fn signs_the_specifications_test_vector() {
        let key = WebhookKey::from_secret(SECRET).unwrap();
        assert_eq!(key.sign(ID, TIMESTAMP, BODY), SIGNATURE);
    }

    #[test]
    fn verifies_any_of_several_signatures_and_refuses_changes() {
        let key = WebhookKey::from_secret(SECRET).unwrap();
        assert!(key.verify(ID, TIMESTAMP, BODY, SIGNATURE));
        let rotated = format!("v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q= {SIGNATURE}");
        assert!(key.verify(ID, TIMESTAMP, BODY, &rotated));
        assert!(!key.verify(ID, TIMESTAMP + 1, BODY, SIGNATURE));
        assert!(!key.verify("msg_other", TIMESTAMP, BODY, SIGNATURE));
        assert!(!key.verify(ID, TIMESTAMP, b"{}", SIGNATURE));
        assert!(!key.verify(
            ID,
            TIMESTAMP,
            BODY,
            "v2,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        ));
        assert!(!key.verify(ID, TIMESTAMP, BODY, "garbage"));
    }

    #[test]
    fn secrets_need_the_prefix_base64_and_a_sound_length() {
        assert_eq!(
            WebhookKey::from_secret("C2FVsBQIhrscChlQIMV+b5sSYspob7oD"),
            Err(InvalidSecret::Prefix)
        );
        assert_eq!(
            WebhookKey::from_secret("whsec_%%%"),
            Err(InvalidSecret::Base64)
        );
        assert_eq!(
            WebhookKey::from_secret("whsec_c2hvcnQ="),
            Err(InvalidSecret::Length(5))
        );
        let key = WebhookKey::from_secret(SECRET).unwrap();
        assert!(!format!("{key:?}").contains("C2FV"));
    }
}
