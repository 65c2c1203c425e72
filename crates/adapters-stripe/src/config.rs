//! Settings of the Stripe adapter.

use std::fmt;

/// Stripe's production API.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";
/// Time limit of one call to Stripe.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Retries after the first attempt on network errors, 429 and 5xx.
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// How to reach Stripe.
#[derive(Clone)]
pub struct StripeConfig {
    /// Secret API key (`sk_...`).
    pub secret_key: String,
    /// API base URL (a Stripe-compatible stand-in in tests).
    pub api_base: String,
    /// Webhook signing secrets (`whsec_...`); several during rotation.
    pub webhook_secrets: Vec<String>,
    /// Time limit of one call.
    pub timeout_ms: u64,
    /// Retries after the first attempt.
    pub max_retries: u32,
}

impl StripeConfig {
    /// Settings with defaults for everything but the key.
    pub fn new(secret_key: String) -> Self {
        Self {
            secret_key,
            api_base: DEFAULT_API_BASE.to_owned(),
            webhook_secrets: Vec::new(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_retries: DEFAULT_MAX_RETRIES,
        }
    }
}

impl fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeConfig")
            .field("secret_key", &"***")
            .field("api_base", &self.api_base)
            .field("webhook_secrets", &self.webhook_secrets.len())
            .field("timeout_ms", &self.timeout_ms)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}
