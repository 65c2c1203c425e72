//! End-to-end suites: the real server over a real PostgreSQL database of
//! its own per test (see `skillpay_e2e::spawn_app`).

// Test helpers fail the test by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod authorization;
mod bad_input;
mod console_reconciliation;
mod console_sessions;
mod coupon_edits;
mod coupon_holds;
mod coupons;
mod disputes;
mod dual_control;
mod event_examples;
mod event_objects;
mod event_order;
mod events;
mod fraud;
mod fuzz_bodies;
mod gateway_configs;
mod gateway_fees;
mod gateway_refunds;
mod holdings;
mod hot_row;
mod idempotency;
mod list_order;
mod live_wallet;
mod mail;
mod operations;
mod paid_after_giving_up;
mod payout_gateways;
mod payout_modes;
mod payouts;
mod paypal;
mod purchase;
mod rate_limits;
mod receipts;
mod refund_fee_returns;
mod refunds;
mod registered_gateway;
mod route_matrix;
mod seats;
mod settlement;
mod settlement_paypal;
mod shutdown;
mod stats;
mod stripe;
mod test_mode;
mod webhook_failures;
mod webhook_replay;
