//! Stripe webhook signatures: `Stripe-Signature: t=<unix time>,v1=<hex>,...`
//! where each `v1` is HMAC-SHA256 over `"{t}.{raw body}"` keyed with the
//! endpoint's signing secret. Checked in constant time (ring), within a
//! tolerance both ways, against every configured secret (rotation).

use ring::hmac;

/// Largest accepted difference between the signature's time and ours.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No secret configured.
    #[error("no webhook secret configured")]
    NoSecret,
    /// No `Stripe-Signature` header.
    #[error("missing Stripe-Signature header")]
    Missing,
    /// The header is not `t=...,v1=...`.
    #[error("malformed Stripe-Signature header")]
    Malformed,
    /// Signed too long ago.
    #[error("signature timestamp is too old")]
    TooOld,
    /// Signed in the future beyond the tolerance.
    #[error("signature timestamp is in the future")]
    TooNew,
    /// No `v1` matches any secret.
    #[error("no signature matches")]
    Mismatch,
}

/// Checks `header` over `body` at time `now` (unix seconds).
pub fn verify_signature(header: Option<&str>, body: &[u8], secrets: &[String], now: i64) -> Result<(), SignatureError> {
    if secrets.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp: Option<i64> = None;
    let mut signatures: Vec<&str> = Vec::new();
    for part in header.split(',') {
        let (key, value) = part.trim().split_once('=').ok_or(SignatureError::Malformed)?;
        match key {
            "t" => timestamp = Some(value.parse().map_err(|_| SignatureError::Malformed)?),
            "v1" => signatures.push(value),
            // Other schemes (v0 test signatures) are ignored, as Stripe's
            // own libraries do.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let age = now.saturating_sub(timestamp);
    if age > SIGNATURE_TOLERANCE_SECS {
        return Err(SignatureError::TooOld);
    }
    if age < -SIGNATURE_TOLERANCE_SECS {
        return Err(SignatureError::TooNew);
    }
    let mut signed = Vec::with_capacity(body.len() + 24);
    signed.extend_from_slice(timestamp.to_string().as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    let candidates: Vec<Vec<u8>> = signatures.iter().filter_map(|s| hex::decode(s).ok()).collect();
    let matched = secrets.iter().any(|secret| {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        candidates.iter().any(|candidate| hmac::verify(&key, &signed, candidate).is_ok())
    });
    if matched { Ok(()) } else { Err(SignatureError::Mismatch) }
}

/// Signs `body` like Stripe does (tests and local tools).
pub fn sign(body: &[u8], secret: &str, timestamp: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = timestamp.to_string().into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(body);
    format!("t={timestamp},v1={}", hex::encode(hmac::sign(&key, &signed).as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vector made with Stripe's official Python library
    /// (`stripe.WebhookSignature.generate_signature_header`).
    const SECRET: &str = "whsec_test123";
    const T: i64 = 1_700_000_000;
    const PAYLOAD: &[u8] = br#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}"#;
    const HEADER: &str = "t=1700000000,v1=3c6feb8012af0b2e52542cbc2695aa8837bdb28db929e3df22ce19ba739b859f";

    fn secrets(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_official_library_vector_verifies() {
        assert_eq!(verify_signature(Some(HEADER), PAYLOAD, &secrets(&[SECRET]), T + 10), Ok(()));
        assert_eq!(sign(PAYLOAD, SECRET, T), HEADER);
    }

    #[test]
    fn one_changed_byte_fails() {
        let mut body = PAYLOAD.to_vec();
        body[10] ^= 1;
        assert_eq!(verify_signature(Some(HEADER), &body, &secrets(&[SECRET]), T), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_wrong_secret_fails() {
        assert_eq!(
            verify_signature(Some(HEADER), PAYLOAD, &secrets(&["whsec_other"]), T),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn old_and_future_signatures_fail_at_the_tolerance() {
        let s = secrets(&[SECRET]);
        assert_eq!(verify_signature(Some(HEADER), PAYLOAD, &s, T + 300), Ok(()));
        assert_eq!(verify_signature(Some(HEADER), PAYLOAD, &s, T + 301), Err(SignatureError::TooOld));
        assert_eq!(verify_signature(Some(HEADER), PAYLOAD, &s, T - 300), Ok(()));
        assert_eq!(verify_signature(Some(HEADER), PAYLOAD, &s, T - 301), Err(SignatureError::TooNew));
    }

    #[test]
    fn missing_and_malformed_headers_fail() {
        let s = secrets(&[SECRET]);
        assert_eq!(verify_signature(None, PAYLOAD, &s, T), Err(SignatureError::Missing));
        for header in ["", "garbage", "t=abc,v1=00", "v1=3c6f", "t=1700000000", "t=1700000000;v1=00"] {
            assert!(verify_signature(Some(header), PAYLOAD, &s, T).is_err(), "{header:?}");
        }
        let bad_hex = "t=1700000000,v1=zz6feb8012af0b2e52542cbc2695aa8837bdb28db929e3df22ce19ba739b859f";
        assert_eq!(verify_signature(Some(bad_hex), PAYLOAD, &s, T), Err(SignatureError::Mismatch));
        assert_eq!(verify_signature(Some(HEADER), PAYLOAD, &[], T), Err(SignatureError::NoSecret));
    }

    #[test]
    fn rotated_secrets_and_several_signatures_are_accepted() {
        let rotated = secrets(&["whsec_new", SECRET]);
        assert_eq!(verify_signature(Some(HEADER), PAYLOAD, &rotated, T), Ok(()));
        let two =
            format!("t={T},v1={},v1=3c6feb8012af0b2e52542cbc2695aa8837bdb28db929e3df22ce19ba739b859f", "0".repeat(64));
        assert_eq!(verify_signature(Some(&two), PAYLOAD, &secrets(&[SECRET]), T), Ok(()));
    }
}
