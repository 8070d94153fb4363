//! The webhook signatures of the payment providers, verified before anything of a notification
//! is read: HMAC-SHA256 with the endpoint's secret, compared in constant time, with the
//! signing time within [`TOLERANCE`] of the service clock (so a captured request cannot be
//! replayed later).
//!
//! - Stripe (`Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`): the HMAC of `"<t>.<raw body>"`;
//!   any `v1` may match (several while a secret is being rolled).
//! - Mercado Pago (`x-signature: ts=<unix>,v1=<hex>`): the HMAC of the manifest
//!   `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`, where `data.id` comes from the query
//!   string (lowercased when alphanumeric) and a part whose value is absent is left out.

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far the signing time may be from the service clock, either way.
pub const TOLERANCE: TimeDelta = TimeDelta::minutes(5);

/// Why a notification's signature is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature header, or one that cannot be read (answered 400).
    #[error("the signature header is missing or malformed: {0}")]
    Malformed(&'static str),
    /// No secret is configured for this provider's webhooks, so nothing can be verified.
    #[error("no webhook secret is configured for this provider")]
    NoSecret,
    /// The signing time is outside the tolerance (answered 401).
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    /// No signature matches (answered 401).
    #[error("the signature does not match")]
    Mismatch,
}

/// The parts of a `k=v,k=v` signature header: the timestamp and every `v1`.
fn parse(header: &str, timestamp_key: &str) -> Result<(i64, Vec<Vec<u8>>), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            return Err(SignatureError::Malformed("expected key=value pairs"));
        };
        let value = value.trim();
        if key == timestamp_key {
            timestamp = Some(
                value
                    .parse::<i64>()
                    .map_err(|_| SignatureError::Malformed("the timestamp is not a number"))?,
            );
        } else if key == "v1" {
            signatures.push(
                hex::decode(value)
                    .map_err(|_| SignatureError::Malformed("a v1 signature is not hex"))?,
            );
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed("no timestamp"))?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed("no v1 signature"));
    }
    Ok((timestamp, signatures))
}

fn mac(secret: &str, parts: &[&[u8]]) -> Result<Vec<u8>, SignatureError> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| SignatureError::NoSecret)?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().to_vec())
}

fn check(
    secret: &str,
    timestamp: i64,
    signatures: &[Vec<u8>],
    signed: &[&[u8]],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let expected = mac(secret, signed)?;
    // Every candidate is compared, in constant time, before the answer is known.
    let matched = signatures
        .iter()
        .fold(subtle::Choice::from(0), |found, candidate| {
            found | expected.as_slice().ct_eq(candidate.as_slice())
        });
    if !bool::from(matched) {
        return Err(SignatureError::Mismatch);
    }
    // Seconds, as documented; a value too large for seconds is taken as milliseconds (some
    // of Mercado Pago's notifications carry those).
    let signed_at = if timestamp > 100_000_000_000 {
        DateTime::from_timestamp_millis(timestamp)
    } else {
        DateTime::from_timestamp(timestamp, 0)
    }
    .ok_or(SignatureError::Stale)?;
    if (now - signed_at).abs() > TOLERANCE {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// Verifies a Stripe webhook: `header` is `Stripe-Signature`, `body` the raw request body.
pub fn verify_stripe(
    header: &str,
    body: &[u8],
    secret: &str,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let (timestamp, signatures) = parse(header, "t")?;
    let t = timestamp.to_string();
    check(
        secret,
        timestamp,
        &signatures,
        &[t.as_bytes(), b".", body],
        now,
    )
}

/// The manifest Mercado Pago signs: `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`, each
/// part present only when its value is.
pub fn mercadopago_manifest(data_id: Option<&str>, request_id: Option<&str>, ts: &str) -> String {
    let mut manifest = String::new();
    if let Some(id) = data_id.filter(|id| !id.is_empty()) {
        let id = if id.chars().all(|c| c.is_ascii_alphanumeric()) {
            id.to_ascii_lowercase()
        } else {
            id.to_owned()
        };
        manifest.push_str(&format!("id:{id};"));
    }
    if let Some(request_id) = request_id.filter(|id| !id.is_empty()) {
        manifest.push_str(&format!("request-id:{request_id};"));
    }
    manifest.push_str(&format!("ts:{ts};"));
    manifest
}

/// Verifies a Mercado Pago notification: `header` is `x-signature`, `data_id` the query
/// string's `data.id`, `request_id` the `x-request-id` header.
pub fn verify_mercadopago(
    header: &str,
    data_id: Option<&str>,
    request_id: Option<&str>,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let (timestamp, signatures) = parse(header, "ts")?;
    let manifest = mercadopago_manifest(data_id, request_id, &timestamp.to_string());
    check(secret, timestamp, &signatures, &[manifest.as_bytes()], now)
}

/// A signature as the provider would compute it, for tests and tools: the hex HMAC-SHA256 of
/// `signed` with `secret`.
pub fn sign(secret: &str, signed: &[u8]) -> String {
    mac(secret, &[signed]).map(hex::encode).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    fn now() -> DateTime<Utc> {
        crate::testing::t0()
    }

    fn stripe_header(secret: &str, at: i64, body: &str) -> String {
        format!(
            "t={at},v1={}",
            sign(secret, format!("{at}.{body}").as_bytes())
        )
    }

    #[test]
    fn a_stripe_signature_with_the_secret_and_a_fresh_timestamp_is_accepted() {
        let body = r#"{"id":"evt_1","type":"payment_intent.canceled"}"#;
        let at = now().timestamp();
        let header = stripe_header(SECRET, at, body);
        assert_eq!(
            verify_stripe(&header, body.as_bytes(), SECRET, now()),
            Ok(())
        );
        // Another v1 (an older secret being rolled) beside the right one still passes.
        let rolled = format!(
            "t={at},v1={},v1={}",
            "00".repeat(32),
            sign(SECRET, format!("{at}.{body}").as_bytes())
        );
        assert_eq!(
            verify_stripe(&rolled, body.as_bytes(), SECRET, now()),
            Ok(())
        );
    }

    #[test]
    fn a_stripe_signature_is_refused_with_another_secret_body_or_a_stale_time() {
        let body = r#"{"id":"evt_1"}"#;
        let at = now().timestamp();
        let header = stripe_header("whsec_other", at, body);
        assert_eq!(
            verify_stripe(&header, body.as_bytes(), SECRET, now()),
            Err(SignatureError::Mismatch)
        );
        let header = stripe_header(SECRET, at, body);
        assert_eq!(
            verify_stripe(&header, br#"{"id":"evt_2"}"#, SECRET, now()),
            Err(SignatureError::Mismatch)
        );
        let old = at - 301;
        let header = stripe_header(SECRET, old, body);
        assert_eq!(
            verify_stripe(&header, body.as_bytes(), SECRET, now()),
            Err(SignatureError::Stale)
        );
        let edge = stripe_header(SECRET, at - 300, body);
        assert_eq!(verify_stripe(&edge, body.as_bytes(), SECRET, now()), Ok(()));
        assert_eq!(
            verify_stripe(&stripe_header(SECRET, at, body), body.as_bytes(), "", now()),
            Err(SignatureError::NoSecret)
        );
    }

    #[test]
    fn malformed_signature_headers_are_told_apart() {
        for header in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz", "garbage"] {
            assert!(
                matches!(
                    verify_stripe(header, b"{}", SECRET, now()),
                    Err(SignatureError::Malformed(_))
                ),
                "{header}"
            );
        }
    }

    #[test]
    fn the_mercadopago_manifest_is_as_documented() {
        assert_eq!(
            mercadopago_manifest(
                Some("123456"),
                Some("bb56a2f1-6aae-46ac-982e-9dcd3581d08e"),
                "1742505638683"
            ),
            "id:123456;request-id:bb56a2f1-6aae-46ac-982e-9dcd3581d08e;ts:1742505638683;"
        );
        assert_eq!(
            mercadopago_manifest(Some("ORD01JQ4S4KY8HWQ6NA5PXB65B3D3"), None, "1"),
            "id:ord01jq4s4ky8hwq6na5pxb65b3d3;ts:1;"
        );
    }

    #[test]
    fn a_mercadopago_signature_is_checked_over_its_manifest() {
        let ts = now().timestamp();
        let manifest = mercadopago_manifest(Some("1234567890"), Some("req-1"), &ts.to_string());
        let header = format!("ts={ts},v1={}", sign(SECRET, manifest.as_bytes()));
        let verify = |header: &str, data_id, secret, at| {
            verify_mercadopago(header, Some(data_id), Some("req-1"), secret, at)
        };
        assert_eq!(verify(&header, "1234567890", SECRET, now()), Ok(()));
        assert_eq!(
            verify(&header, "1234567891", SECRET, now()),
            Err(SignatureError::Mismatch),
            "another payment id"
        );
        assert_eq!(
            verify(&header, "1234567890", "other", now()),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, "1234567890", SECRET, now() + TimeDelta::minutes(6)),
            Err(SignatureError::Stale)
        );
    }
}
