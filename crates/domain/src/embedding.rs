//! Embedding the domain in another service, and testing that service with
//! the domain's mocks (enable the `mocks` feature in your dev-dependencies:
//! `domain = { ..., features = ["mocks"] }`).
//!
//! The example is a small quote service of another team: it answers what a
//! course would cost with a coupon, using Skillpay's coupon rules as a
//! library, and its test replaces storage and the catalog with mocks.
//!
//! ```
//! use std::sync::Arc;
//!
//! use domain::catalog::{Availability, CatalogItem, ItemRef};
//! use domain::coupon::{Coupon, Discount, Targeting};
//! use domain::ids::{CouponId, UserId};
//! use domain::money::{Currency, Money};
//! use domain::ports::{MockCatalog, MockClock, MockCouponRepository, MockIdGenerator};
//! use domain::usecases::coupons::{CouponCheck, CouponService};
//! use domain::usecases::{Actor, Role};
//!
//! /// The embedding service.
//! struct QuoteService {
//!     coupons: CouponService,
//! }
//!
//! impl QuoteService {
//!     async fn quote(&self, user: i64, course: i64, code: &str) -> String {
//!         let actor = Actor::new(UserId::new(user), Role::Student);
//!         match self.coupons.validate(actor, code, ItemRef::course(course)).await {
//!             Ok(CouponCheck::Valid { final_amount, .. }) => final_amount.to_string(),
//!             Ok(CouponCheck::Invalid(reason)) => format!("refused: {}", reason.code()),
//!             Err(error) => format!("error: {error}"),
//!         }
//!     }
//! }
//!
//! // Its test: the catalog prices course 1 at 49.99 USD, and SAVE25 takes
//! // 25 % off once per user.
//! let now = chrono::Utc::now();
//! let mut catalog = MockCatalog::new();
//! catalog.expect_find().returning(move |item| {
//!     Ok(Some(CatalogItem {
//!         item,
//!         title: "Rust for Payments Engineers".into(),
//!         price: Money::from_minor(4_999, Currency::USD),
//!         instructor_id: UserId::new(7),
//!         availability: Availability::Active,
//!         capacity: None,
//!         tickets_per_buyer: 1,
//!         updated_at: now,
//!     }))
//! });
//! let mut coupons = MockCouponRepository::new();
//! coupons.expect_find_by_code().returning(move |code| {
//!     Ok(Some(Coupon {
//!         id: CouponId::from_uuid(uuid::Uuid::nil()),
//!         code,
//!         discount: Discount::Percentage { rate: "0.25".parse().unwrap(), max_discount: None },
//!         currency: None,
//!         min_order_amount: None,
//!         max_uses: None,
//!         max_uses_per_user: Some(1),
//!         valid_from: None,
//!         expires_at: None,
//!         targeting: Targeting::default(),
//!         is_active: true,
//!         times_used: 0,
//!         created_at: now,
//!     }))
//! });
//! // User 1 has not used it yet; user 2 has.
//! coupons.expect_live_uses_by_user().returning(|_, user| Ok(if user == UserId::new(1) { 0 } else { 1 }));
//! let mut clock = MockClock::new();
//! clock.expect_now().return_const(now);
//! let service = QuoteService {
//!     coupons: CouponService::new(
//!         Arc::new(coupons),
//!         Arc::new(catalog),
//!         Arc::new(clock),
//!         Arc::new(MockIdGenerator::new()),
//!     ),
//! };
//!
//! let run = |user, code| futures::executor::block_on(service.quote(user, 1, code));
//! assert_eq!(run(1, "save25"), "37.49 USD"); // 12.4975 off rounds half-even to 12.50
//! assert_eq!(run(2, "SAVE25"), "refused: per_user_limit");
//! ```
