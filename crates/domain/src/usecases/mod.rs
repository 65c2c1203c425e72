//! Use cases: one service per aggregate, one command and one error enum per
//! use case. Services hold their ports as trait objects so tests can hand
//! them mocks and embedding services their own adapters.
//!
//! Authorization lives here too (who may see or change what), so every
//! caller of the domain gets the same rules, not only the HTTP API.

pub mod catalog;
pub mod coupons;
pub mod disputes;
pub mod dual_control;
pub mod events;
pub mod fraud;
pub mod gateway_configs;
pub mod mail;
pub mod payments;
pub mod payouts;
pub mod rate_limits;
pub mod receipts;
pub mod reconciliation;
pub mod refunds;
pub mod settlement;
pub mod stats;
pub mod webhooks;

pub use crate::actor::{Actor, Decision, Forbidden, Role, TestMode};
