//! Fixtures shared by the use-case tests: people, a fixed clock, predictable
//! ids, a course on sale and a coupon. Each test crate uses a different
//! subset of them, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use domain::builders::CouponBuilder;
use domain::catalog::{Availability, CatalogItem, ItemRef};
use domain::coupon::{Coupon, Discount};
use domain::ids::{CouponId, UserId};
use domain::money::{Currency, Money, Rate};
use domain::ports::{Clock, IdGenerator, MockClock, MockIdGenerator};
use domain::usecases::{Actor, Role};
use rust_decimal::Decimal;
use uuid::Uuid;

pub const STUDENT: UserId = UserId::new(1);
pub const INSTRUCTOR: UserId = UserId::new(2);
pub const ADMIN: UserId = UserId::new(3);
/// Someone with no relation to the payment or coupon under test.
pub const STRANGER: UserId = UserId::new(4);

/// The course most tests buy.
pub const COURSE: ItemRef = ItemRef::course(10);

pub fn student() -> Actor {
    Actor::new(STUDENT, Role::Student)
}

pub fn instructor() -> Actor {
    Actor::new(INSTRUCTOR, Role::Instructor)
}

pub fn admin() -> Actor {
    Actor::new(ADMIN, Role::Admin)
}

pub fn stranger() -> Actor {
    Actor::new(STRANGER, Role::Student)
}

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 30, 0).unwrap()
}

pub fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

/// A rate from a percentage, e.g. `percent(25)` is 0.25.
pub fn percent(p: i64) -> Rate {
    Rate::from_percent(Decimal::from(p)).unwrap()
}

/// A clock stopped at [`now`], so timestamps can be compared exactly.
pub fn fixed_clock() -> Arc<dyn Clock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(now());
    Arc::new(clock)
}

/// Ids 1, 2, 3, … in call order, so a test can tell which id went where.
pub fn sequential_ids() -> Arc<dyn IdGenerator> {
    let mut ids = MockIdGenerator::new();
    let mut next = 0_u128;
    ids.expect_new_id().returning(move || {
        next += 1;
        Uuid::from_u128(next)
    });
    Arc::new(ids)
}

/// [`COURSE`] on sale at `price`, taught by [`INSTRUCTOR`].
pub fn course_at(price: Money) -> CatalogItem {
    CatalogItem {
        item: COURSE,
        title: "Rust for payments".to_owned(),
        price,
        instructor_id: INSTRUCTOR,
        availability: Availability::Active,
        capacity: None,
        tickets_per_buyer: 1,
        updated_at: now(),
    }
}

/// An active, unlimited coupon giving `discount` on everything.
pub fn coupon(code: &str, discount: Discount) -> Coupon {
    CouponBuilder::new()
        .id(CouponId::from_uuid(Uuid::from_u128(0xC0)))
        .code(code)
        .discount(discount)
        .created_at(now())
        .build()
}

/// An uncapped percentage coupon.
pub fn percent_off(code: &str, p: i64) -> Coupon {
    coupon(code, Discount::Percentage { rate: percent(p), max_discount: None })
}
