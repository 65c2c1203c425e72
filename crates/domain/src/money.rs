//! Money: exact integer minor units of an ISO-4217 currency.
//!
//! Amounts never pass through floating point. Parsing accepts only plain
//! decimal strings with at most the currency's minor digits; anything else is
//! refused rather than rounded. Rates (fees, percentages) are
//! [`rust_decimal::Decimal`]s applied in exactly two places, both rounding
//! half-even to the minor unit once: [`Money::apply_rate`] (fees and
//! percentage discounts) and [`Money::proportion`] (proportional shares,
//! such as the fee part of a partial refund).

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Longest accepted integer part of a major-unit string; keeps every parsed
/// amount far inside `i64` minor units for every supported exponent.
const MAX_INTEGER_DIGITS: usize = 12;

/// The currencies Skillpay accepts, with their ISO-4217 minor-unit exponent,
/// in code order (looked up by binary search: every stored row decodes one).
const CURRENCIES: &[(&str, u8)] = &[
    ("AUD", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PHP", 2),
    ("PLN", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UGX", 0),
    ("USD", 2),
    ("VND", 0),
    ("ZAR", 2),
];

/// An ISO-4217 currency Skillpay supports; knows its minor-unit exponent.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

impl Currency {
    /// US dollar (exponent 2).
    pub const USD: Currency = Currency { code: *b"USD", exponent: 2 };
    /// Euro (exponent 2).
    pub const EUR: Currency = Currency { code: *b"EUR", exponent: 2 };
    /// Japanese yen (exponent 0).
    pub const JPY: Currency = Currency { code: *b"JPY", exponent: 0 };
    /// Kuwaiti dinar (exponent 3).
    pub const KWD: Currency = Currency { code: *b"KWD", exponent: 3 };

    /// Looks up an upper-case ISO-4217 code such as `"USD"`.
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        // Compared as three bytes, not as strings: storage decodes a
        // currency per row, and the string comparison's `memcmp` calls were
        // 4 % of the server's time on a year's statistics.
        let bytes: [u8; 3] = code.as_bytes().try_into().map_err(|_| MoneyError::UnknownCurrency)?;
        CURRENCIES
            .binary_search_by(|(known, _)| known.as_bytes().iter().cmp(bytes.iter()))
            .map(|at| Currency { code: bytes, exponent: CURRENCIES[at].1 })
            .map_err(|_| MoneyError::UnknownCurrency)
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // The code bytes always come from the ASCII table above.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// Number of minor-unit digits (USD 2, JPY 0, KWD 3).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    /// Minor units in one major unit (100 for USD).
    pub fn minor_per_major(&self) -> i64 {
        10_i64.pow(u32::from(self.exponent))
    }

    /// Every supported currency.
    pub fn all() -> impl Iterator<Item = Currency> {
        CURRENCIES.iter().filter_map(|(code, _)| Currency::from_code(code).ok())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

/// Why an amount or currency was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The currency code is not an ISO-4217 code Skillpay supports.
    #[error("unknown or unsupported currency")]
    UnknownCurrency,
    /// The string is not a plain non-negative decimal number.
    #[error("amount must be a plain decimal number such as \"49.99\"")]
    Malformed,
    /// More fractional digits than the currency has minor units.
    #[error("amount has more decimal places than the currency allows ({allowed})")]
    TooPrecise {
        /// The currency's exponent.
        allowed: u8,
    },
    /// The amount does not fit (too many digits or arithmetic overflow).
    #[error("amount is out of range")]
    Overflow,
    /// Two amounts of different currencies were combined.
    #[error("currencies differ: {left} and {right}")]
    CurrencyMismatch {
        /// The left-hand currency.
        left: Currency,
        /// The right-hand currency.
        right: Currency,
    },
}

/// Room for the longest amount: the 19 digits of an `i64` (or the
/// exponent's digits and one whole digit, the exponent being at most 3), a
/// point and a sign.
const MAJOR_TEXT_CAPACITY: usize = 21;

/// An amount written in major units, held on the stack
/// ([`Money::major_text`]).
#[derive(Debug, Clone, Copy)]
pub struct MajorText {
    bytes: [u8; MAJOR_TEXT_CAPACITY],
    start: usize,
}

impl MajorText {
    /// The text, e.g. `-12.34`.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits, a point and a sign are ever written.
        std::str::from_utf8(&self.bytes[self.start..]).unwrap_or_default()
    }
}

/// An exact amount of money: signed integer minor units plus currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount from minor units (cents for USD).
    pub const fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    /// The amount in minor units.
    pub fn minor(&self) -> i64 {
        self.minor
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// True when the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    /// True when the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    /// Parses a non-negative major-unit string (`"49.99"`, `"500"` for JPY).
    ///
    /// Refuses signs, exponents, whitespace, `NaN`-like words and more
    /// fractional digits than the currency has; never rounds.
    pub fn parse_major(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let (integer, fraction) = match text.split_once('.') {
            Some((integer, fraction)) => (integer, Some(fraction)),
            None => (text, None),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if integer.is_empty() || !all_digits(integer) {
            return Err(MoneyError::Malformed);
        }
        let fraction = fraction.unwrap_or("");
        if text.ends_with('.') || !all_digits(fraction) {
            return Err(MoneyError::Malformed);
        }
        if fraction.len() > usize::from(currency.exponent) {
            return Err(MoneyError::TooPrecise { allowed: currency.exponent });
        }
        let integer = integer.trim_start_matches('0');
        if integer.len() > MAX_INTEGER_DIGITS {
            return Err(MoneyError::Overflow);
        }
        let whole: i64 = if integer.is_empty() { 0 } else { integer.parse().map_err(|_| MoneyError::Overflow)? };
        let padding = u32::from(currency.exponent) - u32::try_from(fraction.len()).map_err(|_| MoneyError::Overflow)?;
        let part: i64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse::<i64>().map_err(|_| MoneyError::Malformed)? * 10_i64.pow(padding)
        };
        whole
            .checked_mul(currency.minor_per_major())
            .and_then(|m| m.checked_add(part))
            .map(|minor| Money { minor, currency })
            .ok_or(MoneyError::Overflow)
    }

    /// The amount as a major-unit string with exactly the currency's digits.
    pub fn to_major_string(&self) -> String {
        self.major_text().as_str().to_owned()
    }

    /// The amount in major units with exactly the currency's digits,
    /// written on the stack.
    ///
    /// Every amount of every answer goes through here (six per payment in
    /// a list, two per day of the statistics), so there is no formatting
    /// machinery and no allocation: the digits are written last first from
    /// the end of a buffer, with the point after `exponent` of them and at
    /// least one whole digit.
    pub fn major_text(&self) -> MajorText {
        let exponent = usize::from(self.currency.exponent);
        let mut bytes = [0_u8; MAJOR_TEXT_CAPACITY];
        let mut start = bytes.len();
        let mut push = |byte: u8| {
            start -= 1;
            bytes[start] = byte;
        };
        let mut rest = self.minor.unsigned_abs();
        let mut written = 0;
        while rest > 0 || written <= exponent {
            if exponent > 0 && written == exponent {
                push(b'.');
            }
            push(b'0' + (rest % 10) as u8);
            rest /= 10;
            written += 1;
        }
        if self.minor < 0 {
            push(b'-');
        }
        MajorText { bytes, start }
    }

    /// The amount as an exact decimal in major units.
    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(self.minor, u32::from(self.currency.exponent))
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch { left: self.currency, right: other.currency })
        }
    }

    /// `self + other`; errors on overflow or mixed currencies.
    pub fn checked_add(&self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        let minor = self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, currency: self.currency })
    }

    /// `self - other`; errors on overflow or mixed currencies.
    pub fn checked_sub(&self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        let minor = self.minor.checked_sub(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, currency: self.currency })
    }

    /// `self × count` (a price times a quantity); errors on overflow.
    pub fn checked_mul(&self, count: i64) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_mul(count).ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, currency: self.currency })
    }

    /// The amount, or zero if it is negative.
    pub fn max_zero(&self) -> Money {
        if self.minor < 0 { Money::zero(self.currency) } else { *self }
    }

    /// The smaller of two amounts of one currency.
    pub fn min(&self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        Ok(if other.minor < self.minor { other } else { *self })
    }

    /// Compares two amounts of one currency.
    pub fn compare(&self, other: &Money) -> Result<std::cmp::Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.minor.cmp(&other.minor))
    }

    /// `self × numerator / denominator`, rounded half-even to the minor unit
    /// (a proportional share, e.g. the fee part of a partial refund).
    pub fn proportion(&self, numerator: i64, denominator: i64) -> Result<Money, MoneyError> {
        if denominator == 0 {
            return Err(MoneyError::Overflow);
        }
        let exact = Decimal::from(self.minor)
            .checked_mul(Decimal::from(numerator))
            .and_then(|product| product.checked_div(Decimal::from(denominator)))
            .ok_or(MoneyError::Overflow)?;
        let rounded = exact.round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
        let minor = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
        Ok(Money { minor, currency: self.currency })
    }

    /// `self × rate`, rounded half-even to the minor unit.
    ///
    /// With [`Money::proportion`], one of the two places where Skillpay
    /// rounds money: fees and percentage discounts go through it.
    pub fn apply_rate(&self, rate: Decimal) -> Result<Money, MoneyError> {
        let exact = Decimal::from(self.minor).checked_mul(rate).ok_or(MoneyError::Overflow)?;
        let rounded = exact.round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
        let minor = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
        Ok(Money { minor, currency: self.currency })
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_major_string(), self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_major_string(), self.currency)
    }
}

/// A rate between 0 and 1 inclusive (0.20 is 20 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rate(Decimal);

/// Why a rate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate must be a decimal between 0 and 1")]
pub struct InvalidRate;

impl Rate {
    /// A rate from a decimal in `[0, 1]`.
    pub fn new(value: Decimal) -> Result<Rate, InvalidRate> {
        if value >= Decimal::ZERO && value <= Decimal::ONE { Ok(Rate(value)) } else { Err(InvalidRate) }
    }

    /// A rate from a percentage in `[0, 100]` (25 is 25 %).
    pub fn from_percent(percent: Decimal) -> Result<Rate, InvalidRate> {
        let hundred = Decimal::ONE_HUNDRED;
        percent.checked_div(hundred).ok_or(InvalidRate).and_then(Rate::new)
    }

    /// The rate as a decimal fraction.
    pub fn value(&self) -> Decimal {
        self.0
    }
}

impl FromStr for Rate {
    type Err = InvalidRate;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decimal::from_str(s).map_err(|_| InvalidRate).and_then(Rate::new)
    }
}

/// How a payment's amount divides between platform and instructor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeSplit {
    /// The platform's fee.
    pub platform_fee: Money,
    /// What the instructor earns: always `amount - platform_fee`.
    pub instructor_earnings: Money,
}

impl FeeSplit {
    /// Splits a non-negative `amount` with the platform keeping `rate`.
    ///
    /// The fee is rounded half-even once; the instructor takes the rest, so
    /// the two parts always add up to `amount` exactly.
    pub fn of(amount: Money, rate: Rate) -> Result<FeeSplit, MoneyError> {
        let platform_fee = amount.apply_rate(rate.value())?;
        let instructor_earnings = amount.checked_sub(platform_fee)?;
        debug_assert_eq!(platform_fee.checked_add(instructor_earnings).ok(), Some(amount));
        Ok(FeeSplit { platform_fee, instructor_earnings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(text: &str) -> Money {
        Money::parse_major(text, Currency::USD).unwrap()
    }

    #[test]
    fn major_strings_parse_exactly_for_every_exponent() {
        assert_eq!(usd("49.99").minor(), 4999);
        assert_eq!(usd("49.9").minor(), 4990);
        assert_eq!(usd("0.01").minor(), 1);
        assert_eq!(usd("0010").minor(), 1000);
        assert_eq!(Money::parse_major("500", Currency::JPY).unwrap().minor(), 500);
        assert_eq!(Money::parse_major("1.234", Currency::KWD).unwrap().minor(), 1234);
    }

    #[test]
    fn excess_precision_is_refused_not_rounded() {
        assert_eq!(Money::parse_major("1.999", Currency::USD), Err(MoneyError::TooPrecise { allowed: 2 }));
        assert_eq!(Money::parse_major("1.5", Currency::JPY), Err(MoneyError::TooPrecise { allowed: 0 }));
    }

    #[test]
    fn malformed_strings_are_refused() {
        for bad in ["", "-1", "+1", "1e3", " 1", "1 ", "NaN", "inf", ".5", "5.", "1.2.3", "1,00", "0x10", "١"] {
            assert_eq!(Money::parse_major(bad, Currency::USD), Err(MoneyError::Malformed), "{bad:?}");
        }
        assert_eq!(Money::parse_major("9999999999999", Currency::USD), Err(MoneyError::Overflow));
    }

    #[test]
    fn formatting_always_shows_the_currency_digits() {
        assert_eq!(Money::from_minor(5, Currency::USD).to_major_string(), "0.05");
        assert_eq!(Money::from_minor(-1234, Currency::USD).to_major_string(), "-12.34");
        assert_eq!(Money::from_minor(500, Currency::JPY).to_major_string(), "500");
        assert_eq!(Money::from_minor(7, Currency::KWD).to_major_string(), "0.007");
        assert_eq!(Money::from_minor(0, Currency::KWD).major_text().as_str(), "0.000");
    }

    #[test]
    fn the_longest_amounts_of_every_currency_fit_the_text() {
        for (code, exponent) in CURRENCIES {
            assert!(*exponent <= 3, "{code}: MAJOR_TEXT_CAPACITY counts on exponents of at most 3");
            let currency = Currency::from_code(code).unwrap();
            for minor in [i64::MIN, i64::MAX, -1, 0] {
                let text = Money::from_minor(minor, currency).major_text();
                let expected = Decimal::new(minor, u32::from(*exponent)).to_string();
                assert_eq!(text.as_str(), expected, "{code} {minor}");
            }
        }
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let eur = Money::from_minor(1, Currency::EUR);
        assert!(matches!(usd("1").checked_add(eur), Err(MoneyError::CurrencyMismatch { .. })));
        assert!(matches!(usd("1").checked_sub(eur), Err(MoneyError::CurrencyMismatch { .. })));
    }

    #[test]
    fn overflow_is_an_error() {
        let max = Money::from_minor(i64::MAX, Currency::USD);
        assert_eq!(max.checked_add(usd("0.01")), Err(MoneyError::Overflow));
    }

    #[test]
    fn fees_round_half_even_and_split_adds_up() {
        let rate = Rate::from_str("0.20").unwrap();
        // 0.125 -> 0.12 (even), 0.375 -> 0.38 (even)
        let split = FeeSplit::of(Money::from_minor(1250, Currency::JPY), Rate::from_str("0.0001").unwrap()).unwrap();
        assert_eq!(split.platform_fee.minor(), 0);
        let split = FeeSplit::of(usd("0.63"), rate).unwrap();
        assert_eq!(split.platform_fee.minor(), 13); // 12.6 -> 13
        let split = FeeSplit::of(usd("0.61"), rate).unwrap();
        assert_eq!(split.platform_fee.minor(), 12); // 12.2 -> 12
        assert_eq!(split.instructor_earnings.minor(), 49);
        let half = Money::from_minor(5, Currency::USD).apply_rate(Rate::from_str("0.5").unwrap().value()).unwrap();
        assert_eq!(half.minor(), 2); // 2.5 -> 2
        let half = Money::from_minor(7, Currency::USD).apply_rate(Rate::from_str("0.5").unwrap().value()).unwrap();
        assert_eq!(half.minor(), 4); // 3.5 -> 4
    }

    #[test]
    fn currencies_are_looked_up_by_exact_code() {
        assert_eq!(Currency::from_code("KWD").unwrap().exponent(), 3);
        assert_eq!(Currency::from_code("usd"), Err(MoneyError::UnknownCurrency));
        assert_eq!(Currency::from_code("XYZ"), Err(MoneyError::UnknownCurrency));
        assert!(Currency::all().count() > 30);
    }

    #[test]
    fn the_currency_table_is_in_code_order_so_every_code_is_found() {
        assert!(CURRENCIES.windows(2).all(|pair| pair[0].0 < pair[1].0));
        assert_eq!(Currency::all().count(), CURRENCIES.len());
        for (code, exponent) in CURRENCIES {
            assert_eq!(Currency::from_code(code).unwrap().exponent(), *exponent);
        }
    }

    #[test]
    fn rates_outside_zero_to_one_are_refused() {
        assert!(Rate::from_str("1.01").is_err());
        assert!(Rate::from_str("-0.1").is_err());
        assert!(Rate::from_str("abc").is_err());
        assert_eq!(Rate::from_percent(Decimal::from(25)).unwrap().value(), Decimal::from_str("0.25").unwrap());
    }
}
