//! Statistics (admins) and instructor earnings (instructors their own,
//! admins anyone's) over a date range.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};

use crate::ids::UserId;
use crate::money::{Currency, MoneyError};
use crate::payout::InstructorBalance;
use crate::ports::{PayoutRepository, StatsQueries, StoreError};
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
}

fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), StatsError> {
    let days = (to - from).num_days();
    if (0..MAX_RANGE_DAYS).contains(&days) { Ok(()) } else { Err(StatsError::InvalidRange) }
}

impl StatsService {
    /// A service over the kept aggregates and the payout balances.
    pub fn new(stats: Arc<dyn StatsQueries>, payouts: Arc<dyn PayoutRepository>) -> Self {
        Self { stats, payouts }
    }

    /// Platform statistics for payments created from `from` to `to`
    /// (inclusive, UTC), admins only.
    pub async fn platform(&self, actor: Actor, from: NaiveDate, to: NaiveDate) -> Result<PlatformStats, StatsError> {
        actor.require_admin()?;
        check_range(from, to)?;
        Ok(platform_stats(&self.stats.range(from, to).await?)?)
    }

    /// Background upkeep: folds the write shards of days before yesterday
    /// and of months before this one (`today` in UTC). Recent days keep
    /// their shards, where concurrent purchases still write.
    pub async fn fold_past_shards(&self, today: NaiveDate) -> Result<u64, StoreError> {
        let before_day = today.pred_opt().unwrap_or(today);
        let before_month = today.with_day(1).unwrap_or(today);
        self.stats.fold_shards(before_day, before_month).await
    }

    /// Earnings of sales completed in the months `from` to `to` touch, and
    /// balances now: instructors their own, admins anyone's.
    pub async fn instructor(
        &self,
        actor: Actor,
        instructor: Option<UserId>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<InstructorEarnings, StatsError> {
        let whose = actor.instructor_scope(instructor)?;
        check_range(from, to)?;
        let first_month = from.with_day(1).unwrap_or(from);
        let rows = self.stats.instructor_months(whose, first_month, to).await?;
        Ok(InstructorEarnings {
            instructor: whose,
            currencies: instructor_earnings(&rows)?,
            balances: self.payouts.balances(whose).await?,
        })
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
        StatsService::new(Arc::new(stats), Arc::new(MockPayoutRepository::new()))
    }

    fn actor(role: Role) -> Actor {
        Actor::new(UserId::new(1), role)
    }

    #[test]
    fn the_platform_statistics_are_one_read_of_the_range() {
        let mut stats = MockStatsQueries::new();
        stats.expect_range().withf(|from, to| (*from, *to) == (day(1), day(31))).times(1).returning(|_, _| {
            Ok(RangeAggregates {
                disputes: vec![DisputeAggregate {
                    disputes: 2,
                    amount: Money::from_minor(5_000, Currency::USD),
                    lost: false,
                }],
                ..RangeAggregates::default()
            })
        });
        let platform = block_on(service(stats).platform(actor(Role::Admin), day(1), day(31))).unwrap();
        let totals = platform.currencies[&Currency::USD].totals.clone().unwrap();
        assert_eq!((totals.disputes, totals.disputed), (2, Money::from_minor(5_000, Currency::USD)));
    }

    #[test]
    fn no_read_for_a_non_admin_or_a_range_that_runs_backwards() {
        // The mock expects no call: any read would panic.
        let stats = service(MockStatsQueries::new());
        let student = block_on(stats.platform(actor(Role::Student), day(1), day(2)));
        assert!(matches!(student, Err(StatsError::Forbidden(_))), "{student:?}");
        let backwards = block_on(stats.platform(actor(Role::Admin), day(2), day(1)));
        assert!(matches!(backwards, Err(StatsError::InvalidRange)), "{backwards:?}");
    }
}
