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
        // Two independent reads: asked together, the answer waits for the
        // longer of them, not for both one after the other.
        let (created, disputes) =
            futures::future::try_join(self.stats.created(from, to), self.stats.disputes(from, to)).await?;
        Ok(platform_stats(&created, &disputes)?)
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
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Poll, Waker};

    use async_trait::async_trait;

    use super::*;
    use crate::ports::MockPayoutRepository;
    use crate::stats::{CreatedAggregates, DisputeAggregate, MonthlyEarnings};
    use crate::usecases::Role;

    /// Answers the created aggregates only once the disputes were asked for
    /// too: one read after the other never finishes.
    #[derive(Default)]
    struct AnswersWhenBothAsked {
        disputes_asked: AtomicBool,
        created_waiting: Mutex<Option<Waker>>,
    }

    #[async_trait]
    impl StatsQueries for AnswersWhenBothAsked {
        async fn created(&self, _: NaiveDate, _: NaiveDate) -> Result<CreatedAggregates, StoreError> {
            std::future::poll_fn(|cx| {
                if self.disputes_asked.load(Ordering::SeqCst) {
                    return Poll::Ready(());
                }
                *self.created_waiting.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            })
            .await;
            Ok(CreatedAggregates::default())
        }

        async fn disputes(&self, _: NaiveDate, _: NaiveDate) -> Result<Vec<DisputeAggregate>, StoreError> {
            self.disputes_asked.store(true, Ordering::SeqCst);
            if let Some(waker) = self.created_waiting.lock().unwrap().take() {
                waker.wake();
            }
            Ok(Vec::new())
        }

        async fn instructor_months(
            &self,
            _: UserId,
            _: NaiveDate,
            _: NaiveDate,
        ) -> Result<Vec<MonthlyEarnings>, StoreError> {
            Ok(Vec::new())
        }

        async fn fold_shards(&self, _: NaiveDate, _: NaiveDate) -> Result<u64, StoreError> {
            Ok(0)
        }
    }

    #[test]
    fn the_platform_statistics_ask_for_their_two_reads_together() {
        let service =
            StatsService::new(Arc::new(AnswersWhenBothAsked::default()), Arc::new(MockPayoutRepository::new()));
        let admin = Actor { user_id: UserId::new(1), role: Role::Admin };
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let mut answer = pin!(service.platform(admin, day, day));
        let mut cx = Context::from_waker(Waker::noop());
        let polled = (0..3).find_map(|_| match answer.as_mut().poll(&mut cx) {
            Poll::Ready(stats) => Some(stats),
            Poll::Pending => None,
        });
        let stats = polled.expect("the created aggregates were asked for alone, before the disputes");
        assert!(stats.unwrap().currencies.is_empty());
    }
}
