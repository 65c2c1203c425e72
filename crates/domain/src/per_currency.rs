//! Amount settings per currency. "1,000 major units" is about 1,000 USD but
//! about 7 USD in yen, so limits such as the two-admin threshold, the
//! largest price and the smallest payout name their currencies:
//! `USD:1000.00,EUR:1000.00,JPY:150000`. `*:1000` sets the amount of every
//! currency not named; without it, a currency not named has no amount and
//! each user of the setting says what that means (refused, or the strictest
//! answer).

use std::fmt;

use rust_decimal::Decimal;

use crate::money::{Currency, Money};

/// An amount in major units for each named currency, and optionally one
/// for every other currency.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PerCurrency {
    named: Vec<(Currency, Decimal)>,
    other: Option<Decimal>,
}

impl PerCurrency {
    /// The same number of major units in every currency.
    pub fn every(major: Decimal) -> Self {
        Self { named: Vec::new(), other: Some(major) }
    }

    /// This one with `major` units for `currency`.
    pub fn with(mut self, currency: Currency, major: Decimal) -> Self {
        self.named.retain(|(named, _)| *named != currency);
        self.named.push((currency, major));
        self
    }

    /// Parses `USD:1000.00, JPY:150000, *:1000`; a bare amount is `*:amount`.
    /// Amounts are positive and have no more decimals than their
    /// currency has minor digits.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut limits = Self::default();
        for item in text.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let (code, amount) = item.split_once(':').unwrap_or(("*", item));
            let major: Decimal = amount.trim().parse().map_err(|_| format!("{item:?} has no amount"))?;
            if major.is_sign_negative() || major.is_zero() {
                return Err(format!("{item:?} is not positive"));
            }
            match code.trim() {
                "*" => {
                    if major.scale() > 4 {
                        return Err(format!("{item:?} has too many decimals"));
                    }
                    limits.other = Some(major);
                }
                code => {
                    let currency = Currency::from_code(code).map_err(|_| format!("{code:?} is not a currency"))?;
                    if major.normalize().scale() > u32::from(currency.exponent()) {
                        return Err(format!("{item:?} has more decimals than {code} has"));
                    }
                    limits = limits.with(currency, major);
                }
            }
        }
        if limits.named.is_empty() && limits.other.is_none() {
            return Err("names no amount".to_owned());
        }
        Ok(limits)
    }

    /// Whether every currency has an amount (a `*` amount is set).
    pub fn covers_every_currency(&self) -> bool {
        self.other.is_some()
    }

    /// The `*` amount, in major units of every currency not named.
    pub fn major_of_others(&self) -> Option<Decimal> {
        self.other
    }

    /// The amount for `currency` in its major units, if there is one.
    pub fn major(&self, currency: Currency) -> Option<Decimal> {
        self.named.iter().find(|(named, _)| *named == currency).map(|(_, major)| *major).or(self.other)
    }

    /// The amount for `currency` as money, rounded up to a whole minor unit
    /// (only a `*` amount can have more decimals than a currency), if there
    /// is one; saturates at the largest amount.
    pub fn money(&self, currency: Currency) -> Option<Money> {
        let minor = (self.major(currency)? * Decimal::from(currency.minor_per_major())).ceil();
        Some(Money::from_minor(i64::try_from(minor).unwrap_or(i64::MAX), currency))
    }
}

impl fmt::Display for PerCurrency {
    /// The setting's own form, e.g. `USD:1000.00,JPY:150000,*:1000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items: Vec<String> =
            self.named.iter().map(|(currency, major)| format!("{}:{major}", currency.code())).collect();
        if let Some(other) = self.other {
            items.push(format!("*:{other}"));
        }
        f.write_str(&items.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_named_currency_has_its_own_amount_and_star_the_others() {
        let limits = PerCurrency::parse("USD:1000.00, JPY:150000, *:500").unwrap();
        assert_eq!(limits.money(Currency::USD), Some(Money::from_minor(100_000, Currency::USD)));
        assert_eq!(limits.money(Currency::JPY), Some(Money::from_minor(150_000, Currency::JPY)));
        assert_eq!(limits.money(Currency::KWD), Some(Money::from_minor(500_000, Currency::KWD)));
        assert_eq!(limits.to_string(), "USD:1000.00,JPY:150000,*:500");
        let named_only = PerCurrency::parse("USD:1000.00").unwrap();
        assert_eq!(named_only.money(Currency::EUR), None, "a currency not named has no amount");
        assert_eq!(PerCurrency::parse("10.00").unwrap(), PerCurrency::every(Decimal::new(1000, 2)));
    }

    #[test]
    fn bad_items_are_refused() {
        for bad in ["", "USD:", "XYZ:10", "JPY:10.5", "USD:1.005", "USD:-1", "USD:0", "*:ten"] {
            assert!(PerCurrency::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_star_amount_with_more_decimals_than_a_currency_rounds_up() {
        let limits = PerCurrency::parse("*:10.50").unwrap();
        assert_eq!(limits.money(Currency::JPY), Some(Money::from_minor(11, Currency::JPY)));
    }
}
