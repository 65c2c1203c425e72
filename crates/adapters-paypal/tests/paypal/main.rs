//! The PayPal adapter against a stand-in PayPal on 127.0.0.1 (no internet):
//! tokens, orders, captures, status, retries, disputes, payouts, reporting,
//! webhooks and the request bodies checked against PayPal's own OpenAPI specs.

// Test helpers fail the test by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod capture;
mod create_order;
mod disputes;
mod payouts;
mod reporting;
mod retries;
mod spec;
mod status;
mod support;
mod token;
mod webhook;
