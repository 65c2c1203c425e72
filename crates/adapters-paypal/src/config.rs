//! What the adapter needs to know to talk to PayPal, and its limits.

use std::fmt;

/// PayPal's sandbox REST API (test accounts, no real money).
pub const SANDBOX_API_BASE: &str = "https://api-m.sandbox.paypal.com";
/// PayPal's live REST API.
pub const LIVE_API_BASE: &str = "https://api-m.paypal.com";

/// Default time limit for one HTTP call, connection included.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Default number of retries after the first attempt of a call.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// Default backoff ceiling of the first retry; it doubles per retry.
pub const DEFAULT_BACKOFF_BASE_MS: u64 = 200;
/// No retry waits longer than this, whatever the attempt number.
pub const MAX_BACKOFF_MS: u64 = 5_000;

/// A credential that must never reach a log: `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the one request that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The PayPal REST app's credentials, endpoints and the adapter's limits.
#[derive(Debug, Clone)]
pub struct PaypalConfig {
    /// The REST app's client id (not secret: it appears in checkout pages).
    pub client_id: String,
    /// The REST app's secret.
    pub client_secret: Secret,
    /// The id of the webhook registered for this app; without it webhooks
    /// are refused (fail closed), since PayPal verifies signatures per id.
    pub webhook_id: Option<String>,
    /// [`SANDBOX_API_BASE`], [`LIVE_API_BASE`] or a test server.
    pub api_base: String,
    /// Time limit for one HTTP call (connect, send and read the body).
    pub timeout_ms: u64,
    /// Retries after the first attempt on connection errors, timeouts, 429
    /// and 5xx answers.
    pub max_retries: u32,
    /// Backoff ceiling of the first retry; doubled per retry, capped at
    /// [`MAX_BACKOFF_MS`], the actual wait drawn uniformly below it.
    pub backoff_base_ms: u64,
    /// Where PayPal sends the buyer after approving.
    pub return_url: String,
    /// Where PayPal sends the buyer after cancelling.
    pub cancel_url: String,
}

impl PaypalConfig {
    /// A configuration for PayPal's sandbox with the default limits and no
    /// webhook id.
    pub fn sandbox(
        client_id: impl Into<String>,
        client_secret: Secret,
        return_url: impl Into<String>,
        cancel_url: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret,
            webhook_id: None,
            api_base: SANDBOX_API_BASE.to_owned(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_retries: DEFAULT_MAX_RETRIES,
            backoff_base_ms: DEFAULT_BACKOFF_BASE_MS,
            return_url: return_url.into(),
            cancel_url: cancel_url.into(),
        }
    }

    /// The same configuration against PayPal's live API.
    pub fn live(
        client_id: impl Into<String>,
        client_secret: Secret,
        return_url: impl Into<String>,
        cancel_url: impl Into<String>,
    ) -> Self {
        Self { api_base: LIVE_API_BASE.to_owned(), ..Self::sandbox(client_id, client_secret, return_url, cancel_url) }
    }

    /// The same configuration with a webhook id.
    pub fn with_webhook_id(self, webhook_id: impl Into<String>) -> Self {
        Self { webhook_id: Some(webhook_id.into()), ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_client_secret() {
        let config = PaypalConfig::sandbox("id", Secret::new("s3cr3t-value"), "https://r", "https://c");
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cr3t-value"), "{printed}");
        assert!(printed.contains("***"));
    }

    #[test]
    fn live_configuration_points_at_the_live_api() {
        let config = PaypalConfig::live("id", Secret::new("s"), "https://r", "https://c");
        assert_eq!(config.api_base, LIVE_API_BASE);
        assert_eq!(config.max_retries, DEFAULT_MAX_RETRIES);
    }
}
