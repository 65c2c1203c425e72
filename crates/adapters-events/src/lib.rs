//! Sends outgoing events over HTTP: a JSON POST signed like Stripe's
//! webhooks (`Skillpay-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
//! "{t}.{body}">`), through the shared client of `adapters-http` with a
//! timeout on every call, the event id in `Skillpay-Event-Id` and no
//! redirects followed (a redirect is an answer, not a delivery). Retries are
//! the delivery worker's job (`domain::usecases::events`, spread over
//! minutes and hours), not this sender's: its client makes one attempt.
//!
//! Where a delivery may connect is [`Destinations`]' rule, checked on the
//! address dialled: host names through the client's resolver at every
//! connection (`resolve.rs`), address literals before sending; no proxy is
//! used, since the address dialled would then be the proxy's. A refused
//! delivery fails as "destination address not allowed"; like every
//! failure it is stored and shown as that category only.
#![forbid(unsafe_code)]

mod resolve;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use adapters_http::{Failure, HttpClient, HttpSettings, Method, Redirects};
use async_trait::async_trait;
use domain::destinations::Destinations;
use domain::ports::{EventSender, SendResult};
use ring::hmac;

pub use resolve::{RESOLVE_TIMEOUT_MS, SystemResolver};

/// Name of the signature header.
pub const SIGNATURE_HEADER: &str = "Skillpay-Signature";
/// Name of the header carrying the event id (for deduplication).
pub const EVENT_ID_HEADER: &str = "Skillpay-Event-Id";
/// The `User-Agent` of every delivery.
const USER_AGENT: &str = "Skillpay-Events/1";

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
    http: HttpClient,
    destinations: Destinations,
}

impl HttpEventSender {
    /// A sender whose every call gives up after `timeout` and connects
    /// only to addresses `destinations` admits.
    pub fn new(timeout: Duration, destinations: Destinations) -> Result<Self, SetupError> {
        let settings = HttpSettings {
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            max_retries: 0,
            redirects: Redirects::Refuse,
            // The endpoint deduplicates on the event id, as a gateway does on
            // an idempotency key.
            ..HttpSettings::new(USER_AGENT, EVENT_ID_HEADER)
        };
        let resolver = Arc::new(resolve::CheckedResolver { destinations });
        let http = HttpClient::with_resolver(&settings, resolver).map_err(|e| SetupError(e.to_string()))?;
        Ok(Self { http, destinations })
    }

    /// False for a URL whose host is an address literal `destinations`
    /// does not admit: the client dials literals without resolving them,
    /// so its resolver never sees them. The URL is read as the client
    /// reads it (`http://0x7f.1/` is 127.0.0.1).
    fn admits_literal(&self, url: &str) -> bool {
        let address = match url::Url::parse(url).ok().and_then(|url| url.host().map(|host| host.to_owned())) {
            Some(url::Host::Ipv4(address)) => IpAddr::V4(address),
            Some(url::Host::Ipv6(address)) => IpAddr::V6(address),
            // A name is checked by the resolver; an unusable URL fails to send.
            Some(url::Host::Domain(_)) | None => return true,
        };
        self.destinations.admits(address)
    }
}

#[async_trait]
impl EventSender for HttpEventSender {
    async fn send(&self, url: &str, secret: &str, body: &[u8], event_id: &str, timestamp: i64) -> SendResult {
        if !self.admits_literal(url) {
            return SendResult::Failed(Failure::DestinationRefused.to_string());
        }
        let result = self
            .http
            .request(Method::POST, url)
            .header(SIGNATURE_HEADER, &sign(body, secret, timestamp))
            .idempotency_key(event_id)
            .body("application/json", body)
            .send()
            .await;
        match result {
            Ok(response) => SendResult::Answered(response.status().as_u16()),
            // The failure names its kind only, never the URL, address,
            // secret or body.
            Err(failure) => SendResult::Failed(failure.to_string()),
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
