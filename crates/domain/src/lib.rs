//! Skillpay's payments domain: money, payments, coupons, the ledger, the
//! ports the domain needs from the outside world, and the use cases.
//!
//! This crate does no I/O and depends on no database, HTTP or runtime crate,
//! so other services can embed it and test against its mocks (enable the
//! `mocks` feature for `Mock*` implementations of every port).
//!
//! Error policy: every fallible function returns a typed `thiserror` enum
//! naming the outcomes a caller can act on; nothing here panics on input.
//!
//! ```
//! use std::str::FromStr;
//! use domain::money::{Currency, FeeSplit, Money, Rate};
//!
//! let price = Money::parse_major("49.99", Currency::USD).unwrap();
//! let split = FeeSplit::of(price, Rate::from_str("0.20").unwrap()).unwrap();
//! assert_eq!(split.platform_fee.to_major_string(), "10.00");
//! assert_eq!(split.instructor_earnings.to_major_string(), "39.99");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod actor;
pub mod approval;
pub mod attention;
pub mod breaker;
#[cfg(any(test, feature = "mocks"))]
pub mod builders;
pub mod catalog;
pub mod coupon;
pub mod destinations;
pub mod dispute;
#[cfg(feature = "mocks")]
pub mod embedding;
pub mod events;
pub mod fraud;
pub mod gateway_config;
pub mod ids;
pub mod ledger;
pub mod mail;
pub mod money;
pub mod outbox;
pub mod paging;
pub mod payment;
pub mod payout;
pub mod per_currency;
pub mod ports;
pub mod receipt;
pub mod reconciliation;
pub mod refund;
pub mod stats;
pub mod usecases;
