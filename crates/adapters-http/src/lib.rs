//! Skillpay's outgoing HTTP, shared by the gateways (`adapters-stripe`,
//! `adapters-paypal`) and event delivery (`adapters-events`).
//!
//! One [`HttpClient`] per gateway, built once from [`HttpSettings`]: one
//! `reqwest::Client` (one connection pool, rustls with ring's crypto
//! provider), a time limit on the connection and on the whole call, a user
//! agent, and redirects followed or not.
//!
//! Retries are `reqwest-retry`'s `RetryTransientMiddleware` with
//! `retry-policies`' `ExponentialBackoff` and full jitter: before retry
//! `n` (0 for the first) the wait is drawn uniformly from
//! `[0, min(backoff_cap_ms, backoff_first_ms × 2^n)]`, so many instances
//! retrying after one hiccup spread out instead of calling in lockstep. Only
//! failures that say "try again" are retried (see `retry.rs`): connection
//! errors, timeouts, requests cut off mid-way, 429 and 5xx answers. A request
//! carries its body as bytes, so every retry sends the same bytes and the
//! same idempotency header (the gateway names it: `Idempotency-Key` for
//! Stripe, `PayPal-Request-Id` for PayPal); the gateway performs a write at
//! most once however often it is asked. When every attempt got a 429 or 5xx,
//! the last answer is returned as it is, for the caller to read.
//!
//! What stays with the callers, because only they know it: reading and
//! bounding the body ([`read_body`] helps), a PayPal token refreshed once on a
//! 401 (a second send, each with its own retries), and event delivery's
//! retries over hours (its settings allow no retry within a call).
//!
//! A client built [`HttpClient::with_resolver`] resolves every host name
//! through the caller's resolver and never through a proxy, so the resolver
//! sees, and may refuse, each address the client is about to dial (event
//! delivery refuses non-public ones).
//!
//! Error policy: a [`Failure`] names only the kind of failure ("timed out",
//! "connection failed", ...); never a URL (which can hold ids), a body, a
//! header, a key or an address. reqwest's own error text is never passed on.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod failure;
mod retry;
mod settings;

pub use client::{HttpClient, Request, read_body};
pub use failure::{Failure, RefusedDestination, SetupError};
pub use retry::transient;
pub use settings::{
    DEFAULT_BACKOFF_CAP_MS, DEFAULT_BACKOFF_FIRST_MS, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS, HttpSettings, Redirects,
};

/// reqwest's resolver interface, for [`HttpClient::with_resolver`].
pub use reqwest::dns;
/// reqwest's types a caller needs with a [`Request`].
pub use reqwest::{Method, Response, StatusCode};
