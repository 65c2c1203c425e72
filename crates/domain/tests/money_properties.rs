//! Properties of money, fee splits, discounts and sale journals over wide
//! random inputs: the arithmetic must hold for every amount, not only for
//! the handful of examples in the unit tests.

// Test helpers fail the test by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;

use chrono::{DateTime, Utc};
use domain::builders::PaymentBuilder;
use domain::coupon::Discount;
use domain::ids::{JournalId, PaymentId, UserId};
use domain::ledger::{Account, sale_journal};
use domain::money::{Currency, FeeSplit, Money, MoneyError, Rate};
use domain::payment::{Payment, PaymentMethod};
use proptest::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

/// Largest amount (in minor units) the fee and discount properties use: ten
/// billion dollars in cents, far beyond any real price.
const MAX_MINOR: i64 = 1_000_000_000_000;
/// `parse_major` accepts at most 12 integer digits.
const MAJOR_LIMIT: i64 = 1_000_000_000_000;

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(Currency::all().collect::<Vec<_>>())
}

/// A rate in [0, 1] with up to four decimals (0.2 %, 12.34 %, 100 %, …).
fn rate() -> impl Strategy<Value = Rate> {
    (0..=10_000_i64).prop_map(|n| Rate::new(Decimal::new(n, 4)).unwrap())
}

/// A non-negative amount `parse_major` can read: small ones are drawn
/// separately because uniform draws over 10^12 almost never hit them.
fn parseable_amount() -> impl Strategy<Value = Money> {
    (currency(), prop_oneof![0..1_000_i64, 0..MAJOR_LIMIT], any::<u16>()).prop_map(|(currency, major, fraction)| {
        let per_major = currency.minor_per_major();
        Money::from_minor(major * per_major + i64::from(fraction) % per_major, currency)
    })
}

/// A discount a coupon definition may hold, in `currency`.
fn discount_in(currency: Currency) -> impl Strategy<Value = Discount> {
    let money = move |minor| Money::from_minor(minor, currency);
    prop_oneof![
        (1..=10_000_i64, prop::option::of(0..=MAX_MINOR)).prop_map(move |(n, cap)| Discount::Percentage {
            rate: Rate::new(Decimal::new(n, 4)).unwrap(),
            max_discount: cap.map(money),
        }),
        (1..=MAX_MINOR).prop_map(move |minor| Discount::Fixed { amount: money(minor) }),
    ]
}

/// A completed payment of `amount` minor units with `fee` of them to the platform.
fn completed_payment(currency: Currency, amount: i64, fee: i64, method: PaymentMethod, instructor: i64) -> Payment {
    let money = |minor| Money::from_minor(minor, currency);
    PaymentBuilder::new()
        .id(PaymentId::from_uuid(Uuid::from_u128(1)))
        .user(UserId::new(1))
        .instructor(UserId::new(instructor))
        .method(method)
        .price(money(amount))
        .platform_fee(money(fee))
        .created_at(DateTime::<Utc>::UNIX_EPOCH)
        .completed()
        .build()
}

/// What `parse_major` promises to accept: digits, optionally a point and 1
/// to `exponent` digits, with at most 12 significant integer digits.
fn is_plain_decimal(text: &str, exponent: u8) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (integer, fraction) = match text.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (text, None),
    };
    digits(integer)
        && integer.trim_start_matches('0').len() <= 12
        && fraction.is_none_or(|f| digits(f) && f.len() <= usize::from(exponent))
}

proptest! {
    #[test]
    fn parse_major_reads_back_every_formatted_non_negative_amount(money in parseable_amount()) {
        prop_assert_eq!(Money::parse_major(&money.to_major_string(), money.currency()), Ok(money));
    }

    #[test]
    fn formatting_writes_the_exact_decimal_with_the_currency_digits(currency in currency(), minor in any::<i64>()) {
        let money = Money::from_minor(minor, currency);
        prop_assert_eq!(money.to_major_string(), money.to_decimal().to_string());
    }

    #[test]
    fn amounts_beyond_twelve_integer_digits_are_refused_not_misread(
        (currency, minor) in currency().prop_flat_map(|c| (Just(c), (MAJOR_LIMIT * c.minor_per_major())..=i64::MAX)),
    ) {
        let text = Money::from_minor(minor, currency).to_major_string();
        prop_assert_eq!(Money::parse_major(&text, currency), Err(MoneyError::Overflow));
    }

    #[test]
    fn a_fee_split_always_adds_up_to_the_amount(currency in currency(), minor in 0..=MAX_MINOR, rate in rate()) {
        let amount = Money::from_minor(minor, currency);
        let split = FeeSplit::of(amount, rate).unwrap();
        prop_assert_eq!(split.platform_fee.checked_add(split.instructor_earnings), Ok(amount));
        prop_assert!(0 <= split.platform_fee.minor() && split.platform_fee.minor() <= minor, "{:?}", split);
    }

    #[test]
    fn a_coupon_discount_is_never_negative_and_never_exceeds_the_price(
        (currency, discount, price) in currency().prop_flat_map(|c| (Just(c), discount_in(c), 0..=MAX_MINOR)),
    ) {
        let off = discount.on(Money::from_minor(price, currency)).unwrap();
        prop_assert!(0 <= off.minor() && off.minor() <= price, "{:?} of {} gave {:?}", discount, price, off);
    }

    #[test]
    fn apply_rate_is_within_half_a_minor_unit_of_the_exact_product(minor in any::<i64>(), n in 0..=10_000_i64) {
        let rate = Decimal::new(n, 4);
        let rounded = Money::from_minor(minor, Currency::USD).apply_rate(rate).unwrap();
        // At most 19 + 4 significant digits: exact in a Decimal.
        let exact = Decimal::from(minor).checked_mul(rate).unwrap();
        let error = (Decimal::from(rounded.minor()) - exact).abs();
        let half = Decimal::new(5, 1);
        prop_assert!(error <= half, "{} x {} -> {}", minor, rate, rounded.minor());
        // Ties go to the even neighbour, so rounding does not drift one way.
        if error == half {
            prop_assert_eq!(rounded.minor() % 2, 0);
        }
    }

    #[test]
    fn checked_add_and_checked_sub_are_exact_or_refuse(
        a in any::<i64>(),
        b in any::<i64>(),
        left in currency(),
        // Mostly the same currency, so most cases exercise the arithmetic.
        other in prop::option::weighted(0.2, currency()),
    ) {
        let right = other.unwrap_or(left);
        let (x, y) = (Money::from_minor(a, left), Money::from_minor(b, right));
        let expect = |exact: i128| {
            if left != right {
                Err(MoneyError::CurrencyMismatch { left, right })
            } else {
                i64::try_from(exact).map(|m| Money::from_minor(m, left)).map_err(|_| MoneyError::Overflow)
            }
        };
        prop_assert_eq!(x.checked_add(y), expect(i128::from(a) + i128::from(b)));
        prop_assert_eq!(x.checked_sub(y), expect(i128::from(a) - i128::from(b)));
    }

    #[test]
    fn a_sale_journal_of_a_payment_whose_split_adds_up_balances(
        currency in currency(),
        amount in prop_oneof![0..=1_000_i64, 0..=i64::MAX],
        fee_seed in any::<u64>(),
        method in prop::sample::select(PaymentMethod::ALL.to_vec()),
        instructor in 1..=i64::MAX,
    ) {
        // Any fee from 0 to the whole amount.
        let fee = i64::try_from(u128::from(fee_seed) % (u128::from(amount.unsigned_abs()) + 1)).unwrap();
        let payment = completed_payment(currency, amount, fee, method, instructor);
        prop_assert!(payment.amounts_add_up());
        let journal = sale_journal(JournalId::from_uuid(Uuid::from_u128(2)), &payment, payment.updated_at).unwrap();
        let Some(journal) = journal else {
            // Only a free payment has no journal: it moved no money.
            prop_assert_eq!(amount, 0);
            return Ok(());
        };
        let sum = journal.entries().iter().try_fold(0_i64, |acc, e| acc.checked_add(e.amount_minor));
        prop_assert_eq!(sum, Some(0));
        let debit = journal.entries().iter().find(|e| e.account == Account::GatewayClearing(method));
        prop_assert_eq!(debit.map(|e| e.amount_minor), Some(amount));
        prop_assert_eq!(journal.currency(), currency);
    }

    #[test]
    fn parse_major_never_panics_on_random_text(text in any::<String>(), currency in currency()) {
        let _ = Money::parse_major(&text, currency);
    }

    #[test]
    fn parse_major_accepts_exactly_plain_decimals_and_reads_them_exactly(
        text in "[0-9.+ e-]{0,20}|0*[0-9]{1,13}(\\.[0-9]{0,4})?",
        currency in currency(),
    ) {
        let parsed = Money::parse_major(&text, currency);
        prop_assert_eq!(parsed.is_ok(), is_plain_decimal(&text, currency.exponent()), "{:?} -> {:?}", text, parsed);
        if let Ok(money) = parsed {
            let major = Decimal::from_str(&text).unwrap();
            prop_assert_eq!(Decimal::from(money.minor()), major * Decimal::from(currency.minor_per_major()));
            prop_assert_eq!(money.currency(), currency);
        }
    }
}
