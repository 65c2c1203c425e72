//! Sends outgoing events over HTTP: a JSON POST signed like Stripe's
//! webhooks (`Skillpay-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
//! "{t}.{body}">`), with a timeout on every call and no redirects followed
//! (a redirect is an answer, not a delivery). Retries are the delivery
//! worker's job (`domain::usecases::events`), not this sender's.
#![forbid(unsafe_code)]

use std::time::Duration;

use async_trait::async_trait;
use domain::ports::{EventSender, SendResult};
use ring::hmac;

/// Name of the signature header.
pub const SIGNATURE_HEADER: &str = "Skillpay-Signature";
/// Name of the header carrying the event id (for deduplication).
pub const EVENT_ID_HEADER: &str = "Skillpay-Event-Id";

/// The signature header's value for `body` signed at `timestamp`.
pub fn sign(body: &[u8], secret: &str, timestamp: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = timestamp.to_string().into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(body);
    format!("t={timestamp},v1={}", hex::encode(hmac::sign(&key, &signed).as_ref()))
}

/// Checks a signature header the way endpoints should (constant time,
/// `tolerance_secs` either way of `now`).
pub fn verify(body: &[u8], secret: &str, header: &str, now: i64, tolerance_secs: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else { return false };
    if (now - timestamp).abs() > tolerance_secs {
        return false;
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = timestamp.to_string().into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(body);
    signatures.iter().any(|signature| hmac::verify(&key, &signed, signature).is_ok())
}

/// Why the sender could not be built.
#[derive(Debug)]
pub struct SetupError(String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot build the event sender: {}", self.0)
    }
}

impl std::error::Error for SetupError {}

/// The HTTP event sender.
#[derive(Debug, Clone)]
pub struct HttpEventSender {
    http: reqwest::Client,
}

impl HttpEventSender {
    /// A sender whose every call gives up after `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, SetupError> {
        // Several crates may race to install the process-wide provider; any
        // winner is ring, so the loser's error is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Skillpay-Events/1")
            .build()
            .map_err(|e| SetupError(e.to_string()))?;
        Ok(Self { http })
    }
}

#[async_trait]
impl EventSender for HttpEventSender {
    async fn send(&self, url: &str, secret: &str, body: &[u8], event_id: &str, timestamp: i64) -> SendResult {
        let result = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header(SIGNATURE_HEADER, sign(body, secret, timestamp))
            .header(EVENT_ID_HEADER, event_id)
            .body(body.to_vec())
            .send()
            .await;
        match result {
            Ok(response) => SendResult::Answered(response.status().as_u16()),
            // The error names the kind of failure, never the secret or body.
            Err(error) if error.is_timeout() => SendResult::Failed("timed out".to_owned()),
            Err(error) if error.is_connect() => SendResult::Failed("connection refused or unreachable".to_owned()),
            Err(_) => SendResult::Failed("request failed".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_body_and_time() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(body, "whsec_a", 1_800_000_000);
        assert!(verify(body, "whsec_a", &header, 1_800_000_100, 300));
        assert!(!verify(body, "whsec_b", &header, 1_800_000_100, 300));
        assert!(!verify(br#"{"id":"evt_2"}"#, "whsec_a", &header, 1_800_000_100, 300));
        assert!(!verify(body, "whsec_a", &header, 1_800_000_301, 300));
        assert!(!verify(body, "whsec_a", "v1=00", 1_800_000_000, 300));
    }

    /// The same recipe as Stripe's: a vector from Stripe's official Python
    /// library (`stripe.WebhookSignature`) verifies here.
    #[test]
    fn the_recipe_is_stripes() {
        let payload = br#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}"#;
        let header = "t=1700000000,v1=3c6feb8012af0b2e52542cbc2695aa8837bdb28db929e3df22ce19ba739b859f";
        assert_eq!(sign(payload, "whsec_test123", 1_700_000_000), header);
    }
}
