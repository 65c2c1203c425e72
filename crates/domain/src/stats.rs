//! Statistics for admins and earnings for instructors, computed from kept
//! aggregates (storage keeps per-day and per-month sums as money moves), so
//! their cost depends on the date range, not on the number of payments.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::catalog::ItemRef;
use crate::gateway_config::GatewayMode;
use crate::money::{Currency, Money, MoneyError};
use crate::payment::{PaymentMethod, PaymentStatus};

/// The stored names of the statuses [`is_settled`] accepts: storage that
/// sums the settled payments of each day where the data is filters on them.
pub const SETTLED_STATUS_NAMES: [&str; 4] = ["completed", "partially_refunded", "refunded", "disputed"];

/// Statuses of a payment that was paid (whatever happened since).
pub fn is_settled(status: PaymentStatus) -> bool {
    matches!(
        status,
        PaymentStatus::Completed
            | PaymentStatus::PartiallyRefunded
            | PaymentStatus::Refunded
            | PaymentStatus::Disputed(_)
    )
}

/// Payments created in the range with one status, method and currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusAggregate {
    /// Their status now.
    pub status: PaymentStatus,
    /// Their method.
    pub method: PaymentMethod,
    /// How many.
    pub payments: i64,
    /// Sum of amounts paid (after discounts).
    pub amount: Money,
    /// Sum of discounts.
    pub discount: Money,
    /// Sum of platform fees.
    pub platform_fee: Money,
    /// Sum of refunded amounts.
    pub refunded: Money,
    /// Platform fees given back by their processed refunds. Kept with the
    /// status the payment had when the refund was processed (always a
    /// settled one), so a group may hold some with no payments.
    pub refunded_fee: Money,
    /// Sum of their gateway fees as now recorded (whoever bore them).
    pub gateway_fee: Money,
    /// Of which the platform bore.
    pub platform_gateway_fee: Money,
}

/// Payments created on one day in one currency (all methods) that are
/// settled, or that are not ([`SETTLED_STATUS_NAMES`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayAggregate {
    /// Day of creation (UTC).
    pub day: NaiveDate,
    /// Whether these are the settled ones.
    pub settled: bool,
    /// How many.
    pub payments: i64,
    /// Sum of amounts paid (after discounts).
    pub amount: Money,
    /// Sum of refunded amounts.
    pub refunded: Money,
}

/// What the statistics of a date range are made of: the payments created
/// in it, summed two ways (per status and method over the whole range, for
/// the groups and totals; per day, settled or not, for the daily series),
/// and the disputes opened in it. Storage answers all of it in one read of
/// its kept aggregates, so what crosses the port is at most two rows per
/// day and currency, not one per day, status and method.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RangeAggregates {
    /// Per status, method and currency.
    pub by_status: Vec<StatusAggregate>,
    /// Per day, currency and whether settled.
    pub by_day: Vec<DayAggregate>,
    /// Disputes opened in the range, per currency and outcome.
    pub disputes: Vec<DisputeAggregate>,
}

/// Disputes opened in the range, per currency and outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeAggregate {
    /// How many.
    pub disputes: i64,
    /// Their amount.
    pub amount: Money,
    /// Whether they were lost.
    pub lost: bool,
}

/// Counts and sums of one (status, method, currency).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusGroup {
    /// Status.
    pub status: PaymentStatus,
    /// Method.
    pub method: PaymentMethod,
    /// How many.
    pub payments: i64,
    /// Sum paid.
    pub amount: Money,
}

/// Totals in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyTotals {
    /// Payments created.
    pub payments: i64,
    /// Of which paid (completed, refunded in part or whole, disputed).
    pub settled: i64,
    /// Sum paid by settled payments.
    pub gross: Money,
    /// Sum of their discounts.
    pub discounts: Money,
    /// Sum of their platform fees (the platform's share when paid).
    pub platform_fees: Money,
    /// Platform fees given back by refunds.
    pub platform_fees_refunded: Money,
    /// Sum of their gateway fees as now recorded, whoever bore them.
    pub gateway_fees: Money,
    /// Of which the platform bore (the rest came out of instructors'
    /// earnings).
    pub gateway_fees_platform: Money,
    /// Sum refunded.
    pub refunds: Money,
    /// Disputes opened.
    pub disputes: i64,
    /// Their amount.
    pub disputed: Money,
    /// Amount of the disputes lost.
    pub disputes_lost: Money,
    /// What the platform keeps: its fees, less those given back by
    /// refunds and the gateway fees it bore.
    pub net: Money,
    /// Gross less refunds and lost disputes.
    pub net_volume: Money,
    /// Refunded share of gross (0 to 1, four decimals).
    pub refund_rate: Decimal,
    /// Disputes per settled payment (four decimals).
    pub dispute_rate: Decimal,
}

/// One day of the series, one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyPoint {
    /// The day.
    pub day: NaiveDate,
    /// Payments created.
    pub payments: i64,
    /// Of which settled.
    pub settled: i64,
    /// Gross of the settled ones.
    pub gross: Money,
    /// Refunded of them.
    pub refunds: Money,
}

/// Platform statistics over a date range, of one mode's money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformStats {
    /// Live or test money.
    pub mode: GatewayMode,
    /// Per currency: groups by status and method, totals, daily series.
    pub currencies: BTreeMap<Currency, CurrencyStats>,
}

/// Statistics in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CurrencyStats {
    /// Counts and sums by status and method.
    pub groups: Vec<StatusGroup>,
    /// Totals.
    pub totals: Option<CurrencyTotals>,
    /// One point per day that had payments.
    pub daily: Vec<DailyPoint>,
}

fn rate(part: Money, whole: Money) -> Decimal {
    if whole.is_zero() {
        return Decimal::ZERO;
    }
    (Decimal::from(part.minor()) / Decimal::from(whole.minor())).round_dp(4)
}

fn count_rate(part: i64, whole: i64) -> Decimal {
    if whole == 0 {
        return Decimal::ZERO;
    }
    (Decimal::from(part) / Decimal::from(whole)).round_dp(4)
}

/// Folds the aggregates of the payments created in a range and of the
/// disputes opened in it into statistics.
pub fn platform_stats(mode: GatewayMode, range: &RangeAggregates) -> Result<PlatformStats, MoneyError> {
    let mut currencies: BTreeMap<Currency, CurrencyStats> = BTreeMap::new();
    let mut groups: BTreeMap<(Currency, &str, &str), StatusGroup> = BTreeMap::new();
    let mut totals: BTreeMap<Currency, CurrencyTotals> = BTreeMap::new();
    for s in &range.by_status {
        let currency = s.amount.currency();
        // A status row may hold only fees given back by refunds of
        // payments that have since moved on: no group of its own.
        if s.payments != 0 || !s.amount.is_zero() {
            let group = groups.entry((currency, s.status.as_str(), s.method.as_str())).or_insert(StatusGroup {
                status: s.status,
                method: s.method,
                payments: 0,
                amount: Money::zero(currency),
            });
            group.payments += s.payments;
            group.amount = group.amount.checked_add(s.amount)?;
        }
        let total = totals.entry(currency).or_insert_with(|| empty_totals(currency));
        total.payments += s.payments;
        if is_settled(s.status) {
            total.settled += s.payments;
            total.gross = total.gross.checked_add(s.amount)?;
            total.discounts = total.discounts.checked_add(s.discount)?;
            total.platform_fees = total.platform_fees.checked_add(s.platform_fee)?;
            total.platform_fees_refunded = total.platform_fees_refunded.checked_add(s.refunded_fee)?;
            total.gateway_fees = total.gateway_fees.checked_add(s.gateway_fee)?;
            total.gateway_fees_platform = total.gateway_fees_platform.checked_add(s.platform_gateway_fee)?;
            total.refunds = total.refunds.checked_add(s.refunded)?;
        }
    }
    for (currency, point) in daily_series(&range.by_day)? {
        currencies.entry(currency).or_default().daily.push(point);
    }
    for d in &range.disputes {
        let currency = d.amount.currency();
        let total = totals.entry(currency).or_insert_with(|| empty_totals(currency));
        total.disputes += d.disputes;
        total.disputed = total.disputed.checked_add(d.amount)?;
        if d.lost {
            total.disputes_lost = total.disputes_lost.checked_add(d.amount)?;
        }
    }
    for ((currency, _, _), group) in groups {
        currencies.entry(currency).or_default().groups.push(group);
    }
    for (currency, mut total) in totals {
        total.net =
            total.platform_fees.checked_sub(total.platform_fees_refunded)?.checked_sub(total.gateway_fees_platform)?;
        total.net_volume = total.gross.checked_sub(total.refunds)?.checked_sub(total.disputes_lost)?;
        total.refund_rate = rate(total.refunds, total.gross);
        total.dispute_rate = count_rate(total.disputes, total.settled);
        currencies.entry(currency).or_default().totals = Some(total);
    }
    Ok(PlatformStats { mode, currencies })
}

/// One point per currency and day, in that order: the day's settled and
/// unsettled aggregates added up. A year is hundreds of aggregates; sorted
/// and merged in place they cost less than a map keyed by day.
fn daily_series(by_day: &[DayAggregate]) -> Result<Vec<(Currency, DailyPoint)>, MoneyError> {
    let mut days: Vec<&DayAggregate> = by_day.iter().collect();
    days.sort_unstable_by_key(|d| (d.amount.currency(), d.day));
    let mut series: Vec<(Currency, DailyPoint)> = Vec::with_capacity(days.len());
    for d in days {
        let currency = d.amount.currency();
        if !series.last().is_some_and(|(c, point)| *c == currency && point.day == d.day) {
            let zero = Money::zero(currency);
            series.push((currency, DailyPoint { day: d.day, payments: 0, settled: 0, gross: zero, refunds: zero }));
        }
        let Some((_, point)) = series.last_mut() else { continue };
        point.payments += d.payments;
        if d.settled {
            point.settled += d.payments;
            point.gross = point.gross.checked_add(d.amount)?;
            point.refunds = point.refunds.checked_add(d.refunded)?;
        }
    }
    Ok(series)
}

fn empty_totals(currency: Currency) -> CurrencyTotals {
    let zero = Money::zero(currency);
    CurrencyTotals {
        payments: 0,
        settled: 0,
        gross: zero,
        discounts: zero,
        platform_fees: zero,
        platform_fees_refunded: zero,
        gateway_fees: zero,
        gateway_fees_platform: zero,
        refunds: zero,
        disputes: 0,
        disputed: zero,
        disputes_lost: zero,
        net: zero,
        net_volume: zero,
        refund_rate: Decimal::ZERO,
        dispute_rate: Decimal::ZERO,
    }
}

/// An instructor's settled sales of one item in one month (of completion),
/// with the refunds processed on them since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyEarnings {
    /// First day of the month.
    pub month: NaiveDate,
    /// The course or event.
    pub item: ItemRef,
    /// Sales.
    pub sales: i64,
    /// Sum paid.
    pub gross: Money,
    /// Platform fees.
    pub fees: Money,
    /// Instructor earnings before refunds.
    pub earnings: Money,
    /// Refunds processed.
    pub refunds: i64,
    /// Amount refunded.
    pub refunded: Money,
    /// The fee part of the refunded amount (given back by the platform).
    pub refunded_fees: Money,
    /// Gateway fees the instructor bore on these sales (as now recorded).
    pub gateway_fees: Money,
}

/// Earnings figures: gross sales, the platform's fee, the gateway fees the
/// instructor bore, refunds and what is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarningsFigures {
    /// Sales.
    pub sales: i64,
    /// Sum paid.
    pub gross: Money,
    /// Platform fees kept (net of refunds).
    pub fees: Money,
    /// Gateway fees charged to the instructor (only those they bore).
    pub gateway_fees: Money,
    /// Amount refunded.
    pub refunds: Money,
    /// What the instructor earned, net of refunds and of the gateway fees
    /// they bore.
    pub net: Money,
}

impl EarningsFigures {
    fn zero(currency: Currency) -> Self {
        let zero = Money::zero(currency);
        EarningsFigures { sales: 0, gross: zero, fees: zero, gateway_fees: zero, refunds: zero, net: zero }
    }

    fn add(&mut self, m: &MonthlyEarnings) -> Result<(), MoneyError> {
        self.sales += m.sales;
        self.gross = self.gross.checked_add(m.gross)?;
        self.fees = self.fees.checked_add(m.fees)?.checked_sub(m.refunded_fees)?;
        self.gateway_fees = self.gateway_fees.checked_add(m.gateway_fees)?;
        self.refunds = self.refunds.checked_add(m.refunded)?;
        let refunded_earnings = m.refunded.checked_sub(m.refunded_fees)?;
        self.net = self.net.checked_add(m.earnings)?.checked_sub(refunded_earnings)?.checked_sub(m.gateway_fees)?;
        Ok(())
    }
}

/// An instructor's earnings in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyEarnings {
    /// Over the whole range.
    pub totals: EarningsFigures,
    /// Per course or event.
    pub by_item: Vec<(ItemRef, EarningsFigures)>,
    /// Per month.
    pub by_month: Vec<(NaiveDate, EarningsFigures)>,
}

/// Totals, per item and per month, while folding.
type Breakdown = (EarningsFigures, BTreeMap<ItemRef, EarningsFigures>, BTreeMap<NaiveDate, EarningsFigures>);

/// Folds monthly rows into totals, per item and per month, per currency.
pub fn instructor_earnings(rows: &[MonthlyEarnings]) -> Result<BTreeMap<Currency, CurrencyEarnings>, MoneyError> {
    let mut out: BTreeMap<Currency, Breakdown> = BTreeMap::new();
    for row in rows {
        let currency = row.gross.currency();
        let (totals, items, months) =
            out.entry(currency).or_insert_with(|| (EarningsFigures::zero(currency), BTreeMap::new(), BTreeMap::new()));
        totals.add(row)?;
        items.entry(row.item).or_insert_with(|| EarningsFigures::zero(currency)).add(row)?;
        months.entry(row.month).or_insert_with(|| EarningsFigures::zero(currency)).add(row)?;
    }
    Ok(out
        .into_iter()
        .map(|(currency, (totals, items, months))| {
            (
                currency,
                CurrencyEarnings {
                    totals,
                    by_item: items.into_iter().collect(),
                    by_month: months.into_iter().collect(),
                },
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::SettledStatus;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::USD)
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    /// What storage answers for `rows` of (day, status, payments, amount,
    /// refunded), all Stripe: summed per status and per day, settled or not;
    /// no disputes.
    fn created(rows: &[(u32, PaymentStatus, i64, i64, i64)]) -> RangeAggregates {
        let mut by_status: Vec<StatusAggregate> = Vec::new();
        let mut by_day: Vec<DayAggregate> = Vec::new();
        for &(d, status, payments, amount, refunded) in rows {
            match by_status.iter_mut().find(|s| s.status == status) {
                Some(s) => {
                    s.payments += payments;
                    s.amount = s.amount.checked_add(usd(amount)).unwrap();
                    s.platform_fee = s.platform_fee.checked_add(usd(amount / 5)).unwrap();
                    s.refunded = s.refunded.checked_add(usd(refunded)).unwrap();
                    s.refunded_fee = s.refunded_fee.checked_add(usd(refunded / 5)).unwrap();
                }
                None => by_status.push(StatusAggregate {
                    status,
                    method: PaymentMethod::Stripe,
                    payments,
                    amount: usd(amount),
                    discount: usd(0),
                    platform_fee: usd(amount / 5),
                    refunded: usd(refunded),
                    refunded_fee: usd(refunded / 5),
                    gateway_fee: usd(0),
                    platform_gateway_fee: usd(0),
                }),
            }
            let settled = is_settled(status);
            match by_day.iter_mut().find(|a| a.day == day(d) && a.settled == settled) {
                Some(a) => {
                    a.payments += payments;
                    a.amount = a.amount.checked_add(usd(amount)).unwrap();
                    a.refunded = a.refunded.checked_add(usd(refunded)).unwrap();
                }
                None => by_day.push(DayAggregate {
                    day: day(d),
                    settled,
                    payments,
                    amount: usd(amount),
                    refunded: usd(refunded),
                }),
            }
        }
        RangeAggregates { by_status, by_day, disputes: Vec::new() }
    }

    #[test]
    fn only_paid_payments_count_towards_gross_and_rates_are_exact_decimals() {
        let mut created = created(&[
            (1, PaymentStatus::Completed, 3, 30_000, 0),
            (1, PaymentStatus::Failed, 2, 20_000, 0),
            (2, PaymentStatus::PartiallyRefunded, 1, 10_000, 2_500),
            (2, PaymentStatus::Disputed(SettledStatus::Completed), 1, 10_000, 0),
            (3, PaymentStatus::Completed, 1, 5_000, 0),
        ]);
        created.disputes = vec![DisputeAggregate { disputes: 1, amount: usd(10_000), lost: true }];
        let stats = platform_stats(GatewayMode::Live, &created).unwrap();
        let usd_stats = &stats.currencies[&Currency::USD];
        let totals = usd_stats.totals.clone().unwrap();
        assert_eq!((totals.payments, totals.settled), (8, 6));
        assert_eq!(totals.gross, usd(55_000));
        assert_eq!(totals.platform_fees, usd(11_000));
        assert_eq!(totals.refunds, usd(2_500));
        assert_eq!(totals.platform_fees_refunded, usd(500));
        assert_eq!(totals.net, usd(10_500), "the platform's fees less the 5.00 refunds gave back");
        assert_eq!(totals.net_volume, usd(42_500));
        assert_eq!(stats.mode, GatewayMode::Live);
        assert_eq!(totals.refund_rate, Decimal::new(455, 4));
        assert_eq!(totals.dispute_rate, Decimal::new(1667, 4));
        assert_eq!(usd_stats.groups.len(), 4);
        let completed = usd_stats.groups.iter().find(|g| g.status == PaymentStatus::Completed).unwrap();
        assert_eq!((completed.payments, completed.amount), (4, usd(35_000)));
        assert_eq!(usd_stats.daily.len(), 3);
        assert_eq!((usd_stats.daily[0].payments, usd_stats.daily[0].settled), (5, 3));
        assert_eq!(usd_stats.daily[0].gross, usd(30_000));
        assert_eq!(usd_stats.daily[1].refunds, usd(2_500));
        assert_eq!(usd_stats.daily[2].day, day(3));
    }

    /// Storage answers the aggregates in no order (PostgreSQL hashes them):
    /// the series comes out by day whatever order they arrive in.
    #[test]
    fn the_daily_series_is_in_day_order_whatever_the_order_of_the_aggregates() {
        let rows = [
            (3, PaymentStatus::Completed, 1, 5_000, 0),
            (1, PaymentStatus::Failed, 2, 20_000, 0),
            (2, PaymentStatus::PartiallyRefunded, 1, 10_000, 2_500),
            (1, PaymentStatus::Completed, 3, 30_000, 0),
            (2, PaymentStatus::Expired, 4, 400, 0),
        ];
        let mut created = created(&rows);
        let in_order = platform_stats(GatewayMode::Live, &created).unwrap();
        let daily = &in_order.currencies[&Currency::USD].daily;
        let days: Vec<_> = daily.iter().map(|p| (p.day, p.payments, p.settled, p.gross, p.refunds)).collect();
        assert_eq!(
            days,
            vec![
                (day(1), 5, 3, usd(30_000), usd(0)),
                (day(2), 5, 1, usd(10_000), usd(2_500)),
                (day(3), 1, 1, usd(5_000), usd(0)),
            ]
        );
        for _ in 0..created.by_day.len() {
            created.by_day.rotate_left(1);
            assert_eq!(platform_stats(GatewayMode::Live, &created).unwrap(), in_order);
            created.by_day.reverse();
            assert_eq!(platform_stats(GatewayMode::Live, &created).unwrap(), in_order);
        }
    }

    #[test]
    fn the_settled_names_are_those_of_the_settled_statuses() {
        for name in PaymentStatus::NAMES {
            let status = PaymentStatus::from_parts(name, Some("refunded")).unwrap();
            assert_eq!(SETTLED_STATUS_NAMES.contains(&name), is_settled(status), "{name}");
        }
    }

    #[test]
    fn currencies_are_kept_apart() {
        let eur = |minor| Money::from_minor(minor, Currency::EUR);
        let mut created = created(&[(1, PaymentStatus::Completed, 2, 20_000, 0)]);
        created.by_status.push(StatusAggregate {
            status: PaymentStatus::Completed,
            method: PaymentMethod::Paypal,
            payments: 1,
            amount: eur(7_000),
            discount: eur(0),
            platform_fee: eur(1_400),
            refunded: eur(0),
            refunded_fee: eur(0),
            gateway_fee: eur(0),
            platform_gateway_fee: eur(0),
        });
        created.by_day.push(DayAggregate {
            day: day(1),
            settled: true,
            payments: 1,
            amount: eur(7_000),
            refunded: eur(0),
        });
        let stats = platform_stats(GatewayMode::Live, &created).unwrap();
        assert_eq!(stats.currencies.len(), 2);
        let eur_stats = &stats.currencies[&Currency::EUR];
        assert_eq!(eur_stats.totals.clone().unwrap().gross, eur(7_000));
        assert_eq!(eur_stats.daily[0].gross, eur(7_000));
        assert_eq!(stats.currencies[&Currency::USD].daily[0].gross, usd(20_000));
    }

    #[test]
    fn earnings_are_net_of_the_earnings_part_of_refunds() {
        let row = |month: u32, item: ItemRef, refunded: i64, refunded_fees: i64| MonthlyEarnings {
            month: NaiveDate::from_ymd_opt(2026, month, 1).unwrap(),
            item,
            sales: 2,
            gross: usd(20_000),
            fees: usd(4_000),
            earnings: usd(16_000),
            refunds: i64::from(refunded > 0),
            refunded: usd(refunded),
            refunded_fees: usd(refunded_fees),
            gateway_fees: usd(0),
        };
        let rows = [
            row(10, ItemRef::course(1), 10_000, 2_000),
            row(11, ItemRef::course(1), 0, 0),
            row(11, ItemRef::event(3), 0, 0),
        ];
        let earnings = instructor_earnings(&rows).unwrap();
        let e = &earnings[&Currency::USD];
        assert_eq!(e.totals.sales, 6);
        assert_eq!(e.totals.gross, usd(60_000));
        assert_eq!(e.totals.fees, usd(10_000));
        assert_eq!(e.totals.refunds, usd(10_000));
        assert_eq!(e.totals.net, usd(40_000));
        assert_eq!(e.by_item.len(), 2);
        assert_eq!(e.by_item[0].1.net, usd(24_000));
        assert_eq!(e.by_month.len(), 2);
        assert_eq!(e.by_month[1].1.net, usd(32_000));
    }

    /// Gateway fees are shown whoever bore them; only those the platform
    /// bore come off what it keeps, and a row holding only fees given back
    /// by refunds (its payments moved on to another status) counts in the
    /// totals without a group of its own.
    #[test]
    fn the_platform_keeps_its_fees_less_refunds_and_the_gateway_fees_it_bore() {
        let completed = |payments, amount: i64, gateway_fee, platform_gateway_fee, refunded_fee| StatusAggregate {
            status: PaymentStatus::Completed,
            method: PaymentMethod::Stripe,
            payments,
            amount: usd(amount),
            discount: usd(0),
            platform_fee: usd(amount / 5),
            refunded: usd(0),
            refunded_fee: usd(refunded_fee),
            gateway_fee: usd(gateway_fee),
            platform_gateway_fee: usd(platform_gateway_fee),
        };
        let refunded = StatusAggregate {
            status: PaymentStatus::PartiallyRefunded,
            refunded: usd(5_000),
            ..completed(1, 10_000, 320, 0, 0)
        };
        let range = RangeAggregates {
            // 3 sales; gateway fees 3.20 (platform) and 1.75 (instructor) on
            // two, 3.20 (instructor) on the refunded one, whose 10.00 fee
            // given back sits in a row of no payments.
            by_status: vec![
                completed(2, 20_000, 495, 320, 0),
                StatusAggregate { method: PaymentMethod::Paypal, ..completed(0, 0, 0, 0, 1_000) },
                refunded,
            ],
            ..RangeAggregates::default()
        };
        let stats = platform_stats(GatewayMode::Test, &range).unwrap();
        let usd_stats = &stats.currencies[&Currency::USD];
        let totals = usd_stats.totals.clone().unwrap();
        assert_eq!(totals.gross, usd(30_000));
        assert_eq!(totals.platform_fees, usd(6_000));
        assert_eq!(totals.platform_fees_refunded, usd(1_000));
        assert_eq!(totals.gateway_fees, usd(815));
        assert_eq!(totals.gateway_fees_platform, usd(320));
        assert_eq!(totals.net, usd(6_000 - 1_000 - 320));
        assert_eq!(totals.net_volume, usd(25_000));
        assert_eq!(usd_stats.groups.len(), 2, "no group for the row of no payments");
        assert_eq!(stats.mode, GatewayMode::Test);
    }

    #[test]
    fn an_instructors_net_earnings_lose_the_gateway_fees_they_bore() {
        let row = MonthlyEarnings {
            month: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            item: ItemRef::course(1),
            sales: 2,
            gross: usd(20_000),
            fees: usd(4_000),
            earnings: usd(16_000),
            refunds: 1,
            refunded: usd(5_000),
            refunded_fees: usd(1_000),
            gateway_fees: usd(650),
        };
        let earnings = instructor_earnings(&[row]).unwrap();
        let totals = earnings[&Currency::USD].totals;
        assert_eq!(totals.gateway_fees, usd(650));
        assert_eq!(totals.fees, usd(3_000));
        assert_eq!(totals.net, usd(16_000 - 4_000 - 650));
    }
}
