//! Statistics (admins) and instructor earnings (instructors their own,
//! admins anyone's) over a date range, of one mode's money: live or test.
//! A reader that names no mode sees live money while a live gateway is
//! served, test money otherwise (development, demos and the test suites
//! serve only test-mode gateways, and their figures are all test money).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};

use crate::gateway_config::GatewayMode;
use crate::ids::UserId;
use crate::money::{Currency, MoneyError};
use crate::payout::InstructorBalance;
use crate::ports::{Gateways, PayoutRepository, StatsQueries, StoreError};
use crate::stats::{CurrencyEarnings, PlatformStats, instructor_earnings, platform_stats};
use crate::usecases::{Actor, Forbidden};

/// Longest accepted range, in days (two years and a day).
pub const MAX_RANGE_DAYS: i64 = 731;

/// Why a statistics use case failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// Not allowed for this role.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// `from` after `to`, or a range over [`MAX_RANGE_DAYS`].
    #[error("the range must run forwards and span at most 731 days")]
    InvalidRange,
    /// Sums overflowed.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An instructor's earnings and balances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstructorEarnings {
    /// Whose.
    pub instructor: UserId,
    /// Of which money: live or test.
    pub mode: GatewayMode,
    /// Per currency: totals, by item, by month.
    pub currencies: BTreeMap<Currency, CurrencyEarnings>,
    /// Pending vs available now, per currency.
    pub balances: Vec<InstructorBalance>,
}

/// Statistics use cases.
#[derive(Clone)]
pub struct StatsService {
    stats: Arc<dyn StatsQueries>,
    payouts: Arc<dyn PayoutRepository>,
    gateways: Gateways,
}

fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), StatsError> {
    let days = (to - from).num_days();
    if (0..MAX_RANGE_DAYS).contains(&days) { Ok(()) } else { Err(StatsError::InvalidRange) }
}

impl StatsService {
    /// A service over the kept aggregates and the payout balances;
    /// `gateways` (the served set) decides the mode shown by default.
    pub fn new(stats: Arc<dyn StatsQueries>, payouts: Arc<dyn PayoutRepository>, gateways: Gateways) -> Self {
        Self { stats, payouts, gateways }
    }

    /// The mode a reader sees when it names none: live while a live
    /// gateway is served, test otherwise.
    pub fn default_mode(&self) -> GatewayMode {
        GatewayMode::of(self.gateways.serves_live())
    }

    /// Platform statistics of `mode`'s payments (none named: the
    /// [default](Self::default_mode)) created from `from` to `to`
    /// (inclusive, UTC), admins only.
    pub async fn platform(
        &self,
        actor: Actor,
        mode: Option<GatewayMode>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<PlatformStats, StatsError> {
        actor.require_admin()?;
        check_range(from, to)?;
        let mode = mode.unwrap_or_else(|| self.default_mode());
        Ok(platform_stats(mode, &self.stats.range(mode, from, to).await?)?)
    }

    /// Background upkeep: folds the write shards of days before yesterday
    /// and of months before this one (`today` in UTC). Recent days keep
    /// their shards, where concurrent purchases still write.
    pub async fn fold_past_shards(&self, today: NaiveDate) -> Result<u64, StoreError> {
        let before_day = today.pred_opt().unwrap_or(today);
        let before_month = today.with_day(1).unwrap_or(today);
        self.stats.fold_shards(before_day, before_month).await
    }

    /// Earnings of `mode`'s sales (none named: the
    /// [default](Self::default_mode)) completed in the months `from` to
    /// `to` touch, and that mode's balances now: instructors their own,
    /// admins anyone's.
    pub async fn instructor(
        &self,
        actor: Actor,
        instructor: Option<UserId>,
        mode: Option<GatewayMode>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<InstructorEarnings, StatsError> {
        let whose = actor.instructor_scope(instructor)?;
        check_range(from, to)?;
        let mode = mode.unwrap_or_else(|| self.default_mode());
        let first_month = from.with_day(1).unwrap_or(from);
        let rows = self.stats.instructor_months(whose, mode, first_month, to).await?;
        let mut balances = self.payouts.balances(whose).await?;
        balances.retain(|balance| balance.livemode == mode.is_live());
        Ok(InstructorEarnings { instructor: whose, mode, currencies: instructor_earnings(&rows)?, balances })
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::money::Money;
    use crate::ports::{MockPayoutRepository, MockStatsQueries};
    use crate::stats::{DisputeAggregate, RangeAggregates};
    use crate::usecases::Role;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, d).unwrap()
    }

    fn service(stats: MockStatsQueries) -> StatsService {
        StatsService::new(Arc::new(stats), Arc::new(MockPayoutRepository::new()), Gateways::new())
    }

    fn actor(role: Role) -> Actor {
        Actor::new(UserId::new(1), role)
    }

    #[test]
    fn the_platform_statistics_are_one_read_of_the_range() {
        let mut stats = MockStatsQueries::new();
        stats
            .expect_range()
            .withf(|mode, from, to| (*mode, *from, *to) == (GatewayMode::Live, day(1), day(31)))
            .times(1)
            .returning(|_, _, _| {
                Ok(RangeAggregates {
                    disputes: vec![DisputeAggregate {
                        disputes: 2,
                        amount: Money::from_minor(5_000, Currency::USD),
                        lost: false,
                    }],
                    ..RangeAggregates::default()
                })
            });
        let platform =
            block_on(service(stats).platform(actor(Role::Admin), Some(GatewayMode::Live), day(1), day(31))).unwrap();
        assert_eq!(platform.mode, GatewayMode::Live);
        let totals = platform.currencies[&Currency::USD].totals.clone().unwrap();
        assert_eq!((totals.disputes, totals.disputed), (2, Money::from_minor(5_000, Currency::USD)));
    }

    #[test]
    fn no_read_for_a_non_admin_or_a_range_that_runs_backwards() {
        // The mock expects no call: any read would panic.
        let stats = service(MockStatsQueries::new());
        let student = block_on(stats.platform(actor(Role::Student), None, day(1), day(2)));
        assert!(matches!(student, Err(StatsError::Forbidden(_))), "{student:?}");
        let backwards = block_on(stats.platform(actor(Role::Admin), None, day(2), day(1)));
        assert!(matches!(backwards, Err(StatsError::InvalidRange)), "{backwards:?}");
    }

    /// Development and the test suites serve only test-mode gateways:
    /// their readers see their test money without naming a mode.
    #[test]
    fn with_no_live_gateway_served_a_reader_naming_no_mode_sees_test_money() {
        let mut stats = MockStatsQueries::new();
        stats
            .expect_range()
            .withf(|mode, _, _| *mode == GatewayMode::Test)
            .times(1)
            .returning(|_, _, _| Ok(RangeAggregates::default()));
        let service = service(stats);
        assert_eq!(service.default_mode(), GatewayMode::Test);
        let platform = block_on(service.platform(actor(Role::Admin), None, day(1), day(2))).unwrap();
        assert_eq!(platform.mode, GatewayMode::Test);
    }

    /// Next to a live gateway the default is live money; test money is
    /// read by naming it.
    #[test]
    fn with_a_live_gateway_served_a_reader_naming_no_mode_sees_live_money() {
        let mut live = crate::ports::MockPaymentGateway::new();
        live.expect_method().return_const(crate::payment::PaymentMethod::Stripe);
        let gateways =
            Gateways::new().register(crate::ports::GatewayDescriptor::new(GatewayMode::Live, Arc::new(live)));
        let mut stats = MockStatsQueries::new();
        for mode in [GatewayMode::Live, GatewayMode::Test] {
            stats
                .expect_range()
                .withf(move |asked, _, _| *asked == mode)
                .times(1)
                .returning(|_, _, _| Ok(RangeAggregates::default()));
        }
        let service = StatsService::new(Arc::new(stats), Arc::new(MockPayoutRepository::new()), gateways);
        assert_eq!(service.default_mode(), GatewayMode::Live);
        let by_default = block_on(service.platform(actor(Role::Admin), None, day(1), day(2))).unwrap();
        assert_eq!(by_default.mode, GatewayMode::Live);
        let test = block_on(service.platform(actor(Role::Admin), Some(GatewayMode::Test), day(1), day(2))).unwrap();
        assert_eq!(test.mode, GatewayMode::Test);
    }
}
