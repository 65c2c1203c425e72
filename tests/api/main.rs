//! End-to-end suites: the real server over a real PostgreSQL database of
//! its own per test (see `skillpay_e2e::spawn_app`).

mod authorization;
mod bad_input;
mod coupons;
mod idempotency;
mod purchase;
