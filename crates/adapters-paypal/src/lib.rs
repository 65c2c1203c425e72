//! Skillpay's **PayPal** adapter: the domain's `PaymentGateway` over PayPal
//! Orders v2 and Disputes v1 ([`PaypalGateway`], which also reads what PayPal
//! booked and paid out as the domain's `SettlementGateway`, over Transaction
//! Search), its `PayoutGateway` over Payouts v1 ([`PaypalPayouts`]) and its
//! `WebhookVerifier` over PayPal's signature verification API
//! ([`PaypalWebhookVerifier`]).
//!
//! All share a [`PaypalClient`]: one OAuth2 token (client credentials,
//! cached until a minute before it expires, refreshed once when PayPal
//! answers 401) and one `adapters-http` client: one connection pool, a time
//! limit on every call, and bounded retries with full jitter on connection
//! errors, timeouts, 429 and 5xx, each retry reusing the same
//! `PayPal-Request-Id`.
//!
//! Wire amount format: a major-unit decimal string with the currency's
//! minor digits, converted in one place (`wire::Amount::of`).
//!
//! Error policy: [`GatewayError`](domain::ports::GatewayError) and
//! [`WebhookError`](domain::ports::WebhookError) messages hold only HTTP
//! statuses, PayPal's error codes and fixed descriptions; never bodies,
//! tokens or secrets (see `error.rs`).
//!
//! ```no_run
//! use adapters_paypal::{PaypalClient, PaypalConfig, PaypalGateway, PaypalPayouts, PaypalWebhookVerifier, Secret};
//!
//! let config = PaypalConfig::sandbox(
//!     "client-id",
//!     Secret::new("client-secret"),
//!     "https://skillpay.example/paypal/return",
//!     "https://skillpay.example/paypal/cancel",
//! )
//! .with_webhook_id("1JE4291016473214C");
//! let client = PaypalClient::new(config)?;
//! let gateway = PaypalGateway::new(client.clone());
//! let payouts = PaypalPayouts::new(client.clone());
//! let verifier = PaypalWebhookVerifier::new(client);
//! # Ok::<(), adapters_paypal::SetupError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod config;
mod descriptor;
mod dispute;
mod error;
mod gateway;
mod outcome;
mod payouts;
mod refunds;
mod reporting;
mod token;
mod verified_cache;
mod webhook;
mod webhook_checks;
mod wire;

pub use client::PaypalClient;
pub use config::{
    DEFAULT_BACKOFF_BASE_MS, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS, LIVE_API_BASE, MAX_BACKOFF_MS, PaypalConfig,
    SANDBOX_API_BASE, Secret,
};
pub use descriptor::{descriptor, mode_of, mode_of_api_base};
pub use error::SetupError;
pub use gateway::PaypalGateway;
pub use payouts::{EMAIL_SUBJECT, PaypalPayouts};
pub use webhook::PaypalWebhookVerifier;
