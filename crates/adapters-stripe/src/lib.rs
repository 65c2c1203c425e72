//! Stripe gateway for Skillpay: PaymentIntents and disputes over Stripe's
//! REST API (form-encoded requests, JSON answers), instructor payouts as
//! Stripe Connect transfers ([`StripeConnectPayouts`]), what Stripe booked
//! and paid out to the platform's bank (`SettlementGateway`, on
//! [`StripeGateway`]), and verification of Stripe's webhook signatures.
//!
//! Wire amounts: Stripe takes and returns integer minor units with a
//! lower-case currency code; [`wire::amount`] is the one conversion.
//!
//! Error policy: every failure becomes a [`domain::ports::GatewayError`];
//! messages carry Stripe's error type and code, never request bodies,
//! client secrets or keys.
#![forbid(unsafe_code)]

mod client;
mod config;
mod descriptor;
mod dispute;
mod gateway;
mod payouts;
mod settlement;
mod signature;
mod webhook;
pub mod wire;

pub use config::{DEFAULT_API_BASE, StripeConfig};
pub use descriptor::{descriptor, mode_of_key};
pub use gateway::StripeGateway;
pub use payouts::{PAYOUT_ID_METADATA_KEY, REVERSED_REASON, StripeConnectPayouts};
pub use signature::{SIGNATURE_TOLERANCE_SECS, SignatureError, sign, verify_signature};
pub use webhook::StripeWebhookVerifier;
