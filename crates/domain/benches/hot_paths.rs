//! Micro-benchmarks of the domain's hot paths: what every payment creation
//! and completion computes before it touches the database. They show that
//! the domain's share of a request is in the microseconds, so a request's
//! time goes to I/O. Run with `cargo bench -p domain`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::str::FromStr;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use domain::builders::CouponBuilder;
use domain::catalog::ItemRef;
use domain::coupon::{Coupon, CouponContext, Discount, Targeting};
use domain::ids::CouponId;
use domain::money::{Currency, FeeSplit, Money, Rate};
use domain::payment::{PaymentEvent, PaymentStatus};
use rust_decimal::Decimal;

fn money(c: &mut Criterion) {
    let mut group = c.benchmark_group("money");
    group.bench_function("parse_major USD 49.99", |b| {
        b.iter(|| Money::parse_major(black_box("49.99"), black_box(Currency::USD)))
    });
    group.bench_function("parse_major KWD 1234.567", |b| {
        b.iter(|| Money::parse_major(black_box("1234.567"), black_box(Currency::KWD)))
    });
    group.bench_function("parse_major refused (too many digits)", |b| {
        b.iter(|| Money::parse_major(black_box("49.999"), black_box(Currency::USD)))
    });
    let price = Money::parse_major("49.99", Currency::USD).unwrap();
    group.bench_function("to_major_string USD", |b| b.iter(|| black_box(price).to_major_string()));
    let yen = Money::parse_major("5000", Currency::JPY).unwrap();
    group.bench_function("to_major_string JPY", |b| b.iter(|| black_box(yen).to_major_string()));
    group.finish();
}

/// A coupon as a sale would have it: 25 % off, capped, limits set.
fn sale_coupon(discount: Discount) -> Coupon {
    let new_year = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    CouponBuilder::new()
        .id(CouponId::from_uuid(uuid::Uuid::nil()))
        .code("SPRING25")
        .discount(discount)
        .currency(Some(Currency::USD))
        .min_order_amount(Money::parse_major("10.00", Currency::USD).unwrap())
        .max_uses(Some(1_000_000))
        .max_uses_per_user(Some(3))
        .valid_from(new_year)
        .expires_at(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap())
        .targeting(Targeting { course_ids: (1..=50).collect(), event_ids: Vec::new() })
        .times_used(12_345)
        .created_at(new_year)
        .build()
}

fn discounts_and_fees(c: &mut Criterion) {
    let mut group = c.benchmark_group("discount_and_fee");
    let price = Money::parse_major("49.99", Currency::USD).unwrap();
    let percentage = Discount::Percentage {
        rate: Rate::from_percent(Decimal::from(25)).unwrap(),
        max_discount: Some(Money::parse_major("20.00", Currency::USD).unwrap()),
    };
    let fixed = Discount::Fixed { amount: Money::parse_major("10.00", Currency::USD).unwrap() };
    group.bench_function("percentage discount (capped)", |b| b.iter(|| black_box(&percentage).on(black_box(price))));
    group.bench_function("fixed discount", |b| b.iter(|| black_box(&fixed).on(black_box(price))));
    let coupon = sale_coupon(percentage);
    let context = CouponContext {
        item: ItemRef::course(42),
        price,
        now: Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap(),
        uses_by_user: 1,
    };
    group.bench_function("coupon evaluate (all checks pass)", |b| {
        b.iter(|| black_box(&coupon).evaluate(black_box(&context)))
    });
    let rate = Rate::from_str("0.20").unwrap();
    group.bench_function("fee split 20 %", |b| b.iter(|| FeeSplit::of(black_box(price), black_box(rate))));
    let odd_rate = Rate::from_str("0.175").unwrap();
    group.bench_function("fee split 17.5 % (half-even rounding)", |b| {
        b.iter(|| FeeSplit::of(black_box(price), black_box(odd_rate)))
    });
    group.finish();
}

fn transitions(c: &mut Criterion) {
    let mut group = c.benchmark_group("payment_status");
    group.bench_function("pending -> completed", |b| {
        b.iter(|| black_box(PaymentStatus::Pending).apply(black_box(PaymentEvent::Complete)))
    });
    group.bench_function("completed + complete (repeat, unchanged)", |b| {
        b.iter(|| black_box(PaymentStatus::Completed).apply(black_box(PaymentEvent::Complete)))
    });
    group.bench_function("completed + cancel (illegal)", |b| {
        b.iter(|| black_box(PaymentStatus::Completed).apply(black_box(PaymentEvent::Cancel)))
    });
    group.bench_function("from_parts disputed", |b| {
        b.iter(|| PaymentStatus::from_parts(black_box("disputed"), black_box(Some("completed"))))
    });
    group.finish();
}

criterion_group!(benches, money, discounts_and_fees, transitions);
criterion_main!(benches);
